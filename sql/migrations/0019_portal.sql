-- The Portal's operators (issue 15): accounts per org with a role, their
-- one-time set-password links, their sign-in sessions (server-side rows
-- behind an HttpOnly cookie), and the audit log of every change made by an
-- operator or an API key.  Secrets are stored hashed: the password with
-- scrypt (text "scrypt$N$r$p$salt$hash"), links and session ids as SHA-256.
CREATE TABLE operators (
    org_id          uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    email           text NOT NULL CHECK (email ~ '^[^@\s]{1,64}@[^@\s]{1,190}$'),
    role            text NOT NULL CHECK (role IN ('admin', 'developer', 'onboarding')),
    password_hash   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    disabled_at     timestamptz,
    PRIMARY KEY (org_id, id),
    UNIQUE (id)
);
-- One account per address, whatever its case.
CREATE UNIQUE INDEX operators_email ON operators (lower(email));

-- A set-password link: single use, short-lived.
CREATE TABLE operator_links (
    org_id          uuid NOT NULL,
    token_hash      bytea NOT NULL,
    operator_id     uuid NOT NULL,
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (org_id, token_hash),
    UNIQUE (token_hash),
    FOREIGN KEY (org_id, operator_id) REFERENCES operators (org_id, id) ON DELETE CASCADE
);
CREATE INDEX operator_links_expires ON operator_links (expires_at);

CREATE TABLE operator_sessions (
    org_id          uuid NOT NULL,
    id_hash         bytea NOT NULL,
    operator_id     uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (org_id, id_hash),
    UNIQUE (id_hash),
    FOREIGN KEY (org_id, operator_id) REFERENCES operators (org_id, id) ON DELETE CASCADE
);
CREATE INDEX operator_sessions_expires ON operator_sessions (expires_at);

-- Who changed what: an operator (its id, email and role) or an API key
-- (its id).  object is the request's path (capabilities never appear in
-- API paths); client the caller's address.
CREATE TABLE audit_log (
    org_id          uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id              bigint GENERATED ALWAYS AS IDENTITY,
    at              timestamptz NOT NULL DEFAULT now(),
    environment     text NOT NULL,
    actor_kind      text NOT NULL CHECK (actor_kind IN ('operator', 'api_key')),
    actor_id        uuid NOT NULL,
    actor_email     text,
    role            text,
    action          text NOT NULL,
    object          text NOT NULL,
    status          integer NOT NULL,
    client          text,
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX audit_log_expires ON audit_log (expires_at);
CREATE INDEX audit_log_org_at ON audit_log (org_id, environment, at DESC);
