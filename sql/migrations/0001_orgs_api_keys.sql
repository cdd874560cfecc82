-- Orgs and their API keys (one environment per key; stored as SHA-256).
CREATE TABLE orgs (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id       uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    environment  text NOT NULL CHECK (environment IN ('test', 'live')),
    prefix       text NOT NULL,            -- first characters, for people to recognise a key
    lookup       text NOT NULL,            -- hex of the hash's first 8 bytes: finds the row
    key_hash     bytea NOT NULL CHECK (length(key_hash) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);

CREATE INDEX api_keys_lookup ON api_keys (lookup) WHERE revoked_at IS NULL;
CREATE INDEX api_keys_org ON api_keys (org_id);
