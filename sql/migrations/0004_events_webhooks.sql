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

-- The body of an event about a company (and maybe one of its connections).
CREATE FUNCTION hl_event_body(event_id uuid, event_type text, generated timestamptz,
        environment text, company json, connection json, old_status text,
        new_status text) RETURNS json
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT json_build_object(
        'id', event_id,
        'eventType', event_type,
        'generatedDate', hl_time(generated),
        'environment', environment,
        'payload', (jsonb_build_object('company', company)
            || CASE WHEN connection IS NULL THEN '{}'::jsonb
                    ELSE jsonb_build_object('connection', connection) END
            || CASE WHEN old_status IS NULL THEN '{}'::jsonb
                    ELSE jsonb_build_object('oldStatus', old_status) END
            || CASE WHEN new_status IS NULL THEN '{}'::jsonb
                    ELSE jsonb_build_object('newStatus', new_status) END)::json) $$;

-- Wakes the delivery child (LISTEN hostlink_events) when the inserting
-- transaction commits.
CREATE FUNCTION hl_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hostlink_events', '');
    RETURN NULL;
END $$;
CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION hl_events_notify();
