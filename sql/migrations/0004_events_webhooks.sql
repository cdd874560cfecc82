-- Events, written in the same transaction as the change that caused them
-- (the outbox), and webhook endpoints with their deliveries.

CREATE TABLE events (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id       uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    environment  text NOT NULL CHECK (environment IN ('test', 'live')),
    event_type   text NOT NULL,
    body         json NOT NULL,             -- the webhook body, as delivered
    created_at   timestamptz NOT NULL DEFAULT now(),
    fanned_out   boolean NOT NULL DEFAULT false
);
CREATE INDEX events_pending ON events (created_at) WHERE NOT fanned_out;
CREATE INDEX events_tenant ON events (org_id, environment, created_at);

-- Wakes the delivery child (LISTEN hostlink_events) when the inserting
-- transaction commits.
CREATE FUNCTION hl_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hostlink_events', '');
    RETURN NULL;
END $$;
CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION hl_events_notify();

CREATE TABLE webhook_endpoints (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id            uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    environment       text NOT NULL CHECK (environment IN ('test', 'live')),
    url               text NOT NULL CHECK (length(url) BETWEEN 8 AND 2048),
    description       text,
    events            text[] NOT NULL DEFAULT '{}',     -- empty: every event
    secret            bytea NOT NULL,                   -- AES-256-GCM of "whsec_..."
    previous_secret   bytea,                            -- still signs until ...
    previous_until    timestamptz,
    enabled           boolean NOT NULL DEFAULT true,
    disabled_reason   text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (org_id, environment);

CREATE TABLE webhook_deliveries (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    endpoint_id       uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id          uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'succeeded', 'dead')),
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    lease_until       timestamptz,                      -- a dispatcher holds it until then
    leased_by         text,                             -- "host:pid" of that dispatcher
    last_status_code  integer,
    last_error        text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    delivered_at      timestamptz,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);

-- Funnel counts of swept rows, rolled up by the sweeper before it deletes them.
CREATE TABLE daily_stats (
    org_id       uuid NOT NULL,
    environment  text NOT NULL,
    day          date NOT NULL,
    metric       text NOT NULL,
    n            bigint NOT NULL,
    PRIMARY KEY (org_id, environment, day, metric)
);

-- First time a token opened the hosted page (GET /hosted/session).
ALTER TABLE session_tokens ADD COLUMN opened_at timestamptz;

