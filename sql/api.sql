-- sql/api.sql - how the API presents its resources: one hl_<resource>() JSON
-- function each.  `hostlinkctl migrate` replaces them all on every run (after
-- the migrations, before sql/reporting.sql), so renaming an API field is an
-- edit here, never a migration.  Keep each function's signature: a changed
-- argument list adds an overload instead of replacing it.

-- Timestamps as the API writes them: RFC 3339, UTC, milliseconds.
CREATE OR REPLACE FUNCTION hl_time(t timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;

-- The members of o named in keys (keep) or not named there (NOT keep), in
-- o's order.
CREATE OR REPLACE FUNCTION hl_json_pick(o json, keys text[], keep boolean) RETURNS json
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT coalesce(json_object_agg(e.key, e.value ORDER BY e.n), '{}')
        FROM json_each(o) WITH ORDINALITY AS e(key, value, n)
        WHERE (e.key = ANY (keys)) = keep $$;

-- o without the members named in keys whose value is null, in o's order:
-- where Codat types a member as a string, an absent value is omitted.
CREATE OR REPLACE FUNCTION hl_omit_nulls(o json, keys text[]) RETURNS json
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT coalesce(json_object_agg(e.key, e.value ORDER BY e.n), '{}')
        FROM json_each(o) WITH ORDINALITY AS e(key, value, n)
        WHERE NOT (e.key = ANY (keys) AND json_typeof(e.value) = 'null') $$;

-- Codat's ids of an integration: RFC 4122 version 3 (MD5, name-based) UUIDs
-- in the URL namespace of "hostlink:integration:<key>" and
-- "hostlink:source:<key>", so an integration key has the same integrationId
-- and sourceId in every org and environment.
CREATE OR REPLACE FUNCTION hl_uuid_v3(name text) RETURNS uuid
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT (substr(h, 1, 12) || '3' || substr(h, 14, 3)
        || to_hex((get_byte(decode(substr(h, 17, 2), 'hex'), 0) & 63) | 128)
        || substr(h, 19))::uuid
        FROM md5(decode('6ba7b8119dad11d180b400c04fd430c8', 'hex')
                 || convert_to(name, 'UTF8')) AS h $$;
CREATE OR REPLACE FUNCTION hl_integration_id(key text) RETURNS uuid
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT hl_uuid_v3('hostlink:integration:' || key) $$;
CREATE OR REPLACE FUNCTION hl_source_id(key text) RETURNS uuid
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT hl_uuid_v3('hostlink:source:' || key) $$;

-- Codat's sourceType of an integration category (NULL: not categorised).
-- The one place a category becomes a sourceType: connections and
-- integrations both call it.
CREATE OR REPLACE FUNCTION hl_source_type(category text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE lower(category)
        WHEN 'accounting' THEN 'Accounting' WHEN 'banking' THEN 'Banking'
        WHEN 'bankfeed' THEN 'BankFeed' WHEN 'bank_feed' THEN 'BankFeed'
        WHEN 'commerce' THEN 'Commerce' WHEN 'expense' THEN 'Expense'
        ELSE 'Other' END $$;

-- The category of integration key of the company's org and environment
-- (integrations.category, from the catalog entry or the org; NULL for the
-- sandbox and unknown keys, which hl_source_type() calls Other).
CREATE OR REPLACE FUNCTION hl_integration_category(company uuid, key text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT i.category FROM companies c JOIN integrations i
        ON i.org_id = c.org_id AND i.environment = c.environment
        WHERE c.id = $1 AND i.key = $2 $$;

-- Whether doc (a resource's queryable members) matches filter q, a query
-- parsed by query_parse() (src/query.c): {"and"|"or": [...]} or a
-- condition {"f", "op", "v"}.  = and != compare exactly, ~ is a
-- case-insensitive "contains", > < >= <= compare as text (dates are ISO
-- 8601, so as time).  A member the document lacks matches only !=.
CREATE OR REPLACE FUNCTION hl_query_match(doc jsonb, q jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE
        WHEN q ? 'and' THEN (SELECT coalesce(bool_and(hl_query_match(doc, e)), true)
            FROM jsonb_array_elements(q -> 'and') e)
        WHEN q ? 'or' THEN (SELECT coalesce(bool_or(hl_query_match(doc, e)), false)
            FROM jsonb_array_elements(q -> 'or') e)
        ELSE coalesce((SELECT CASE q ->> 'op'
            WHEN '=' THEN d = v
            WHEN '!=' THEN d IS DISTINCT FROM v
            WHEN '~' THEN strpos(lower(d), lower(v)) > 0
            WHEN '>' THEN d COLLATE "C" > v
            WHEN '<' THEN d COLLATE "C" < v
            WHEN '>=' THEN d COLLATE "C" >= v
            WHEN '<=' THEN d <= v END
            FROM (SELECT doc ->> (q ->> 'f') AS d, q ->> 'v' AS v) x), false) END $$;

-- A page of a JSON array of API objects: those matching filter (NULL:
-- all; hl_query_match()), ordered by order_by (a member, "-member"
-- descending; NULL: as given), page page of size: {"results", "total"}.
CREATE OR REPLACE FUNCTION hl_page(items json, filter jsonb, order_by text, page bigint,
        size bigint) RETURNS json
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ WITH m AS (SELECT e, n FROM json_array_elements(items) WITH ORDINALITY AS x(e, n)
            WHERE filter IS NULL OR hl_query_match(e::jsonb, filter)),
        o AS (SELECT e, row_number() OVER (ORDER BY
            CASE WHEN order_by NOT LIKE '-%' THEN e ->> order_by END COLLATE "C",
            CASE WHEN order_by LIKE '-%' THEN e ->> substr(order_by, 2) END COLLATE "C" DESC,
            n) AS r FROM m)
        SELECT json_build_object(
            'results', coalesce((SELECT json_agg(e ORDER BY r) FROM o
                WHERE r > (page - 1) * size AND r <= page * size), '[]'),
            'total', (SELECT count(*) FROM m)) $$;

-- a's members (b's value where b has one too), then b's others, in order.
CREATE OR REPLACE FUNCTION hl_json_merge(a json, b json) RETURNS json
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT coalesce(json_object_agg(k, v ORDER BY n), '{}') FROM (
        SELECT x.key AS k, coalesce(b -> x.key, x.value) AS v, x.n
            FROM json_each(a) WITH ORDINALITY AS x(key, value, n)
        UNION ALL SELECT y.key, y.value, 1000000 + y.n
            FROM json_each(b) WITH ORDINALITY AS y(key, value, n)
            WHERE a -> y.key IS NULL) m $$;

-- integrations
-- An integration of GET /integrations with Codat's members added: logoUrl
-- (GET /integrations/{key}/logo), integrationId, sourceId, sourceType.
CREATE OR REPLACE FUNCTION hl_integration_codat(i json) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT hl_json_merge(i, json_build_object(
        'logoUrl', current_setting('hostlink.app_url', true) || '/api/v2/public/integrations/'
                   || (i ->> 'key') || '/logo',
        'integrationId', hl_integration_id(i ->> 'key'),
        'sourceId', hl_source_id(i ->> 'key'),
        'sourceType', coalesce(i ->> 'sourceType', hl_source_type(i ->> 'category')))) $$;

-- companies
-- The API's view of a company.  'redirect' is a placeholder hostlinkd fills
-- (company_json(): the link key is derived from a secret in C); it stays
-- here to keep the member order.  hl_connection() is defined below, hence
-- the body is checked when first called, not now.
SET check_function_bodies = off;
CREATE OR REPLACE FUNCTION hl_company(c companies) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT hl_omit_nulls(json_build_object(
        'id', c.id,
        'name', c.name,
        'description', c.description,
        'linked_account_id', c.linked_account_id,
        'platform', '',
        'redirect', NULL,
        'dataConnections', coalesce((SELECT json_agg(hl_connection(x) ORDER BY x.created_at, x.id)
            FROM connections x WHERE x.company_id = c.id), '[]'),
        'created', hl_time(c.created_at),
        'tags', c.tags), '{description}') $$;

-- A company as Codat's company webhooks carry it (companyDetails):
-- hl_company() without its connections and platform (or a null
-- linked_account_id); 'redirect' is "<app_url>/link?v=<link_version>", which
-- the delivery turns into the company's link (company_add_redirect()).
-- Built directly, in hl_company()'s order: it runs in the statement of
-- every company change, and building hl_company() (its connections too) to
-- pick from it cost about 1.3 ms a company.
CREATE OR REPLACE FUNCTION hl_company_event(c companies) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT hl_omit_nulls(json_build_object(
        'id', c.id,
        'name', c.name,
        'description', c.description,
        'linked_account_id', c.linked_account_id,
        'redirect', current_setting('hostlink.app_url', true) || '/link?v=' || c.link_version,
        'created', hl_time(c.created_at),
        'tags', c.tags), '{description,linked_account_id}') $$;

-- Codat's companyReference of a company event object (hl_company_event()).
CREATE OR REPLACE FUNCTION hl_company_reference(company json) RETURNS json
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT hl_json_pick(company, '{id,name,description,links,tags}', true) $$;
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
        'integrationId', hl_integration_id(c.integration_key),
        'integrationKey', c.integration_key,
        'sourceId', hl_source_id(c.integration_key),
        'sourceType', hl_source_type(hl_integration_category(c.company_id, c.integration_key)),
        'platformName', c.platform_name,
        'authType', c.auth_type,
        'linkUrl', current_setting('hostlink.app_url', true)
                   || '/api/v2/public/connections/' || c.id || '/start?v='
                   || c.start_version,
        'status', c.status,
        'created', hl_time(c.created_at),
        'linkedAt', hl_time(c.linked_at),
        'unlinkedAt', hl_time(c.unlinked_at),
        'updatedAt', hl_time(c.updated_at),
        'lastError', c.last_error,
        'dataConnectionErrors', hl_connection_errors(c.id),
        'connectionInfo', c.connection_info) $$;

-- The members of Codat's Connection (additionalProperties: false there):
-- a connection in a webhook is hl_connection() cut to them, the rest go
-- beside it (hl_connection_extras()).
CREATE OR REPLACE FUNCTION hl_codat_connection_keys() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT ARRAY['id', 'integrationId', 'integrationKey', 'sourceId', 'sourceType',
        'platformName', 'linkUrl', 'status', 'lastSync', 'created', 'dataConnectionErrors',
        'connectionInfo'] $$;
CREATE OR REPLACE FUNCTION hl_codat_connection(connection json) RETURNS json
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT hl_json_pick(connection, hl_codat_connection_keys(), true) $$;
CREATE OR REPLACE FUNCTION hl_connection_extras(connection json) RETURNS json
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT hl_json_pick(connection, hl_codat_connection_keys(), false) $$;

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

-- The body of an event about a company (and maybe one of its connections),
-- in Codat's shape: a company event's payload is the company
-- (hl_company_event()); a connection event's is {referenceCompany,
-- connection: Codat's Connection}, with what hostlink adds beside them:
-- hostlinkConnection (the connection's other members), oldStatus, newStatus.
CREATE OR REPLACE FUNCTION hl_event_body(event_id uuid, event_type text, generated timestamptz,
        environment text, company json, connection json, old_status text,
        new_status text) RETURNS json
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT hl_event(event_id, event_type, generated, environment,
        CASE WHEN connection IS NULL THEN company
        ELSE hl_omit_nulls(json_build_object(
            'referenceCompany', hl_company_reference(company),
            'connection', hl_codat_connection(connection),
            'hostlinkConnection', hl_connection_extras(connection),
            'oldStatus', old_status,
            'newStatus', new_status), '{oldStatus,newStatus}') END) $$;

CREATE OR REPLACE FUNCTION hl_webhook(w webhook_endpoints) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT json_build_object(
        'id', w.id,
        'url', w.url,
        'description', w.description,
        'events', to_json(w.events),
        'enabled', w.enabled,
        'disabled_reason', w.disabled_reason,
        'created', hl_time(w.created_at),
        -- Codat's WebhookConsumer members
        'disabled', NOT w.enabled,
        'eventTypes', to_json(w.events),
        'companyTags', to_json(w.company_tags)) $$;

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
