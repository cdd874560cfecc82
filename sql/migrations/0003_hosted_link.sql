-- Hosted Link: company links, integrations, data connections, OAuth states,
-- link settings, invites, rate limits.

-- A company's link key is derived (HMAC under a key derived from
-- encryption_key) from its id and link_version; rotating bumps the version,
-- which kills the old link.  Nothing secret is stored.
ALTER TABLE companies ADD COLUMN link_version integer NOT NULL DEFAULT 1;

CREATE TABLE integrations (
    org_id          uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    environment     text NOT NULL CHECK (environment IN ('test', 'live')),
    key             text NOT NULL CHECK (key ~ '^[a-z0-9_-]{1,64}$' AND key <> 'sandbox'),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    auth_type       text NOT NULL CHECK (auth_type IN ('oauth2', 'api_key')),
    enabled         boolean NOT NULL DEFAULT true,
    authorize_url   text,
    token_url       text,
    client_id       text,
    client_secret   bytea,                  -- AES-256-GCM
    scopes          text[] NOT NULL DEFAULT '{}',
    fields          jsonb NOT NULL DEFAULT '[]',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, environment, key),
    CHECK (auth_type <> 'oauth2' OR (client_secret IS NOT NULL AND authorize_url IS NOT NULL
                                     AND token_url IS NOT NULL AND client_id IS NOT NULL))
);

CREATE TABLE connections (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    company_id       uuid NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    integration_key  text NOT NULL,
    platform_name    text NOT NULL,
    auth_type        text NOT NULL,
    status           text NOT NULL DEFAULT 'PendingAuth'
                     CHECK (status IN ('PendingAuth', 'Linked', 'Unlinked', 'Deauthorized')),
    credentials      bytea,                 -- AES-256-GCM of a JSON object
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    linked_at        timestamptz,
    unlinked_at      timestamptz,
    deauthorized_at  timestamptz
);
CREATE INDEX connections_company ON connections (company_id, created_at);

CREATE TABLE oauth_states (
    state_hash     bytea PRIMARY KEY,
    connection_id  uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    verifier       bytea NOT NULL,          -- AES-256-GCM of the PKCE verifier
    return_to      bytea NOT NULL,          -- AES-256-GCM of the page to come back to
    sandbox_code   bytea,                   -- SHA-256 of the sandbox's code once approved
    created_at     timestamptz NOT NULL DEFAULT now(),
    used_at        timestamptz,
    expires_at     timestamptz NOT NULL
);
CREATE INDEX oauth_states_expires ON oauth_states (expires_at);

CREATE TABLE link_settings (
    org_id          uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    environment     text NOT NULL CHECK (environment IN ('test', 'live')),
    redirect_url    text,
    page_title      text,
    body_text       text,
    theme           jsonb NOT NULL DEFAULT '{}',
    invite_version  integer NOT NULL DEFAULT 1,     -- invite codes are derived like link keys
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, environment)
);

CREATE TABLE rate_limits (
    bucket      text PRIMARY KEY,
    hits        integer NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX rate_limits_expires ON rate_limits (expires_at);

