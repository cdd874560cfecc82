-- reporting.sql - views for SQL-driven reporting.  `hostlinkctl migrate`
-- (re)creates them after the migrations, so they always match the schema.
-- Every view has org_id and environment: filter on both.

-- Daily funnel per org and environment: sessions issued -> connect URLs
-- created -> hosted pages opened -> connections created -> linked / failed.
-- Counts of rows the sweeper has deleted live on in daily_stats.
CREATE OR REPLACE VIEW report_daily_funnel AS
WITH facts AS (
    SELECT org_id, environment, (issued_at AT TIME ZONE 'UTC')::date AS day,
           'sessions_issued' AS metric, count(*) AS n
      FROM session_tokens GROUP BY 1, 2, 3
    UNION ALL
    SELECT t.org_id, t.environment, (h.created_at AT TIME ZONE 'UTC')::date,
           'connect_urls_created', count(*)
      FROM hosted_properties h JOIN session_tokens t ON t.org_id = h.org_id AND t.jti = h.jti
     GROUP BY 1, 2, 3
    UNION ALL
    SELECT org_id, environment, (opened_at AT TIME ZONE 'UTC')::date,
           'hosted_pages_opened', count(*)
      FROM session_tokens WHERE opened_at IS NOT NULL GROUP BY 1, 2, 3
    UNION ALL
    SELECT org_id, environment, (created_at AT TIME ZONE 'UTC')::date,
           CASE event_type WHEN 'connection.created' THEN 'connections_created'
                           WHEN 'connection.connected' THEN 'connections_linked'
                           ELSE 'connections_failed' END,
           count(*)
      FROM events
     WHERE event_type IN ('connection.created', 'connection.connected', 'connection.failed')
     GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT org_id, environment, day, metric, n FROM daily_stats
)
SELECT org_id, environment, day,
       coalesce(sum(n) FILTER (WHERE metric = 'sessions_issued'), 0)      AS sessions_issued,
       coalesce(sum(n) FILTER (WHERE metric = 'connect_urls_created'), 0) AS connect_urls_created,
       coalesce(sum(n) FILTER (WHERE metric = 'hosted_pages_opened'), 0)  AS hosted_pages_opened,
       coalesce(sum(n) FILTER (WHERE metric = 'connections_created'), 0)  AS connections_created,
       coalesce(sum(n) FILTER (WHERE metric = 'connections_linked'), 0)   AS connections_linked,
       coalesce(sum(n) FILTER (WHERE metric = 'connections_failed'), 0)   AS connections_failed
  FROM facts
 GROUP BY org_id, environment, day;

-- Connections by platform and status, now.
CREATE OR REPLACE VIEW report_connections AS
SELECT c.org_id, c.environment, x.integration_key AS platform, x.status,
       count(*) AS connections,
       max(x.updated_at) AS last_change
  FROM connections x JOIN companies c ON c.id = x.company_id AND c.org_id = x.org_id
 GROUP BY 1, 2, 3, 4;

-- Webhook delivery health per endpoint.
CREATE OR REPLACE VIEW report_webhook_health AS
SELECT w.org_id, w.environment, w.id AS webhook_id, w.url, w.enabled,
       count(d.id)                                        AS deliveries,
       count(d.id) FILTER (WHERE d.status = 'succeeded')  AS succeeded,
       count(d.id) FILTER (WHERE d.status = 'pending')    AS pending,
       count(d.id) FILTER (WHERE d.status = 'dead')       AS dead,
       round(100.0 * count(d.id) FILTER (WHERE d.status = 'succeeded')
             / nullif(count(d.id) FILTER (WHERE d.status <> 'pending'), 0), 1) AS success_rate_pct,
       round(avg(d.attempts) FILTER (WHERE d.status <> 'pending'), 2)         AS avg_attempts,
       max(d.delivered_at)                                AS last_success
  FROM webhook_endpoints w LEFT JOIN webhook_deliveries d ON d.org_id = w.org_id AND d.endpoint_id = w.id
 GROUP BY w.org_id, w.environment, w.id, w.url, w.enabled;

-- Token refresh health per platform per day (UTC): refreshes that
-- succeeded, failures (5xx, 429, timeouts, refusals) and deauthorizations
-- (a refused refresh token, or refresh_give_up reached), by refresh on read,
-- the background child and `hostlinkctl refresh --once` alike.
CREATE OR REPLACE VIEW report_refresh_health AS
SELECT org_id, environment, platform, day, refreshes, failures, deauthorizations,
       round(100.0 * refreshes / nullif(refreshes + failures, 0), 1) AS success_rate_pct
  FROM refresh_stats;

-- hostlink_reporting: a read-only role for SQL clients and BI tools.  It may
-- read the report_* views above and nothing else (no base table, so no
-- secret, token hash or stash).  NOLOGIN: grant it to a login role, e.g.
--     CREATE ROLE metabase LOGIN PASSWORD '...' IN ROLE hostlink_reporting;
-- Created here when the migrating user may create roles; otherwise migrate
-- warns: a superuser runs CREATE ROLE hostlink_reporting NOLOGIN; then
-- migrate again grants it the views.
DO $reporting_role$
DECLARE
    v name;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hostlink_reporting') THEN
        IF NOT (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) THEN
            RAISE WARNING 'role hostlink_reporting not created: % may not create roles '
                '(as a superuser: CREATE ROLE hostlink_reporting NOLOGIN; then migrate again)',
                current_user;
            RETURN;
        END IF;
        CREATE ROLE hostlink_reporting NOLOGIN;
    END IF;
    IF NOT has_schema_privilege('hostlink_reporting', current_schema(), 'USAGE') THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO hostlink_reporting', current_schema());
    END IF;
    FOR v IN SELECT viewname FROM pg_views
              WHERE schemaname = current_schema() AND viewname LIKE 'report\_%'
    LOOP
        EXECUTE format('GRANT SELECT ON %I TO hostlink_reporting', v);
    END LOOP;
END
$reporting_role$;
