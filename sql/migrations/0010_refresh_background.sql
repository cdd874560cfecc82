-- Background token refresh (issue 12, items 3, 4 and 9).  A failing refresh
-- backs off (refresh_next_at: the background pass leaves the row alone
-- before it); a connection whose refresh keeps failing is given up
-- (Deauthorized) after refresh_give_up, counting failures at most once per
-- day (refresh_fail_days, last counted at refresh_fail_day_at) so that a
-- provider outage of a few hours does not deauthorize every connection.
ALTER TABLE connections
    ADD COLUMN refresh_next_at        timestamptz,
    ADD COLUMN refresh_failing_since  timestamptz,
    ADD COLUMN refresh_fail_days      integer NOT NULL DEFAULT 0,
    ADD COLUMN refresh_fail_day_at    timestamptz;
CREATE INDEX connections_refresh_due ON connections (access_expires_at)
    WHERE status = 'Linked' AND access_expires_at IS NOT NULL;

-- Refresh health per platform per day (report_refresh_health): counted in
-- the transaction that refreshes, so a refresh rolled back counts nothing.
CREATE TABLE refresh_stats (
    org_id            uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    environment       text NOT NULL,
    platform          text NOT NULL,
    day               date NOT NULL,
    refreshes         bigint NOT NULL DEFAULT 0,
    failures          bigint NOT NULL DEFAULT 0,
    deauthorizations  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, environment, platform, day)
);
