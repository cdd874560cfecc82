-- Companies (a linked account is a company with a linked_account_id),
-- session/link tokens by jti, the connect-url stash, idempotency keys.

CREATE TABLE companies (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id             uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    environment        text NOT NULL CHECK (environment IN ('test', 'live')),
    linked_account_id  text CHECK (length(linked_account_id) BETWEEN 1 AND 256),
    name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 256),
    description        text,
    udf                json,
    tags               jsonb NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, environment, linked_account_id)
);
CREATE INDEX companies_tenant ON companies (org_id, environment, created_at, id);

CREATE TABLE session_tokens (
    jti          uuid PRIMARY KEY,
    org_id       uuid NOT NULL,
    environment  text NOT NULL,
    company_id   uuid NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    token_use    text NOT NULL CHECK (token_use IN ('session', 'link')),
    issued_at    timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX session_tokens_company ON session_tokens (company_id);
CREATE INDEX session_tokens_expires ON session_tokens (expires_at);

-- The body of POST /connect-url, kept byte for byte (json, not jsonb).
CREATE TABLE hosted_properties (
    token_hash   bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    jti          uuid NOT NULL REFERENCES session_tokens (jti) ON DELETE CASCADE,
    config_id    text,
    body         json NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX hosted_properties_jti ON hosted_properties (jti);
CREATE INDEX hosted_properties_expires ON hosted_properties (expires_at);

CREATE TABLE connect_configs (
    company_id   uuid NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    config_id    text NOT NULL CHECK (length(config_id) BETWEEN 1 AND 256),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, config_id)
);

CREATE TABLE idempotency_keys (
    org_id        uuid NOT NULL,
    environment   text NOT NULL,
    scope         text NOT NULL,           -- 'key' (the org's API keys) or a token's jti
    key           text NOT NULL,
    fingerprint   bytea NOT NULL,
    status        integer,                 -- NULL while the first request runs
    response      bytea,                   -- AES-256-GCM: responses hold tokens and secrets
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    PRIMARY KEY (org_id, environment, scope, key)
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);

