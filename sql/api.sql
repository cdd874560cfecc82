-- sql/api.sql - how the API presents its resources: one hl_<resource>() JSON
-- function each.  `hostlinkctl migrate` replaces them all on every run (after
-- the migrations, before sql/reporting.sql), so renaming an API field is an
-- edit here, never a migration.  Keep each function's signature: a changed
-- argument list adds an overload instead of replacing it.

-- Timestamps as the API writes them: RFC 3339, UTC, milliseconds.
CREATE OR REPLACE FUNCTION hl_time(t timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;

-- companies
-- The API's view of a company.  'redirect' is a placeholder hostlinkd fills
-- (company_json(): the link key is derived from a secret in C); it stays
-- here to keep the member order.  hl_connection() is defined below, hence
-- the body is checked when first called, not now.
SET check_function_bodies = off;
CREATE OR REPLACE FUNCTION hl_company(c companies) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT json_build_object(
        'id', c.id,
        'name', c.name,
        'description', c.description,
        'linked_account_id', c.linked_account_id,
        'platform', '',
        'redirect', NULL,
        'dataConnections', coalesce((SELECT json_agg(hl_connection(x) ORDER BY x.created_at, x.id)
            FROM connections x WHERE x.company_id = c.id), '[]'),
        'created', hl_time(c.created_at),
        'tags', c.tags) $$;
RESET check_function_bodies;

-- The API's view of a linked account.
CREATE OR REPLACE FUNCTION hl_linked_account(c companies) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT json_build_object(
        'linked_account_id', c.linked_account_id,
        'name', c.name,
        'udf', c.udf,
        'company_id', c.id,
        'environment', c.environment,
        'created_at', hl_time(c.created_at),
        'updated_at', hl_time(c.updated_at)) $$;

-- connections
-- The errors of connection id, oldest first (the 20 newest), in Codat's
-- dataConnectionErrors shape; resolvedOnUtc only once resolved.
CREATE OR REPLACE FUNCTION hl_connection_errors(connection uuid) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(json_agg(json_strip_nulls(json_build_object(
        'statusCode', e.status_code,
        'statusText', e.status_text,
        'errorMessage', e.error_message,
        'erroredOnUtc', hl_time(e.errored_at),
        'status', CASE WHEN e.resolved_at IS NULL THEN 'Active' ELSE 'Resolved' END,
        'resolvedOnUtc', hl_time(e.resolved_at))) ORDER BY e.errored_at, e.id), '[]')
        FROM (SELECT * FROM connection_errors x WHERE x.connection_id = $1
              ORDER BY x.errored_at DESC, x.id DESC LIMIT 20) e $$;

-- The API's view of a connection.  linkUrl is built from the session's
-- hostlink.app_url setting (hostlinkd sets it on connect) and ends in
-- "/start?v=<start_version>": the start key is derived in C, so every
-- response passes this JSON through connection_add_link_urls(), which turns
-- it into "/start?key=<key>" (a URL still ending in ?v= answers 404).
CREATE OR REPLACE FUNCTION hl_connection(c connections) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT json_build_object(
        'id', c.id,
        'integrationKey', c.integration_key,
        'platformName', c.platform_name,
        'authType', c.auth_type,
        'linkUrl', current_setting('hostlink.app_url', true)
                   || '/api/v2/public/connections/' || c.id || '/start?v='
                   || c.start_version,
        'status', c.status,
        'created', hl_time(c.created_at),
        'lastSync', NULL,
        'linkedAt', hl_time(c.linked_at),
        'unlinkedAt', hl_time(c.unlinked_at),
        'updatedAt', hl_time(c.updated_at),
        'lastError', c.last_error,
        'dataConnectionErrors', hl_connection_errors(c.id),
        'connectionInfo', c.connection_info) $$;

-- webhooks
-- The body of any event: its envelope around the payload.
CREATE OR REPLACE FUNCTION hl_event(event_id uuid, event_type text, generated timestamptz,
        environment text, payload json) RETURNS json
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT json_build_object(
        'id', event_id,
        'eventType', event_type,
        'generatedDate', hl_time(generated),
        'environment', environment,
        'payload', payload) $$;

-- The body of an event about a company (and maybe one of its connections).
CREATE OR REPLACE FUNCTION hl_event_body(event_id uuid, event_type text, generated timestamptz,
        environment text, company json, connection json, old_status text,
        new_status text) RETURNS json
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT hl_event(event_id, event_type, generated, environment,
        (jsonb_build_object('company', company)
            || CASE WHEN connection IS NULL THEN '{}'::jsonb
                    ELSE jsonb_build_object('connection', connection) END
            || CASE WHEN old_status IS NULL THEN '{}'::jsonb
                    ELSE jsonb_build_object('oldStatus', old_status) END
            || CASE WHEN new_status IS NULL THEN '{}'::jsonb
                    ELSE jsonb_build_object('newStatus', new_status) END)::json) $$;

CREATE OR REPLACE FUNCTION hl_webhook(w webhook_endpoints) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT json_build_object(
        'id', w.id,
        'url', w.url,
        'description', w.description,
        'events', to_json(w.events),
        'enabled', w.enabled,
        'disabled_reason', w.disabled_reason,
        'created', hl_time(w.created_at)) $$;

CREATE OR REPLACE FUNCTION hl_delivery(d webhook_deliveries, event_type text) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT json_build_object(
        'id', d.id,
        'event_id', d.event_id,
        'event_type', event_type,
        'status', d.status,
        'attempts', d.attempts,
        'last_status_code', d.last_status_code,
        'last_error', d.last_error,
        'next_attempt_at', CASE WHEN d.status = 'pending' THEN hl_time(d.next_attempt_at) END,
        'created', hl_time(d.created_at),
        'delivered_at', hl_time(d.delivered_at)) $$;
