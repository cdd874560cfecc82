-- Connection errors in Codat's shape (issue 12): one row per error a
-- connection met (a refused or failed authorization, a failing refresh, a
-- deauthorization), Active until a later success resolves it.  Shown as
-- dataConnectionErrors on every connection object.  org_id is kept on the
-- row so every tenant table carries it (issue 18).
CREATE TABLE connection_errors (
    org_id          uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    connection_id   uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    id              bigint GENERATED ALWAYS AS IDENTITY,
    status_code     text NOT NULL CHECK (length(status_code) BETWEEN 1 AND 16),
    status_text     text NOT NULL CHECK (length(status_text) BETWEEN 1 AND 200),
    error_message   text NOT NULL CHECK (length(error_message) BETWEEN 1 AND 1000),
    errored_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz,
    PRIMARY KEY (org_id, connection_id, id)
);
CREATE INDEX connection_errors_connection ON connection_errors (connection_id, errored_at);
