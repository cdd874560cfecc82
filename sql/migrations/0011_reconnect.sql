-- Reconnect and revocation (issue 12, items 6 to 8).
-- authorized_identity: who authorized a connection as the platform reported
-- it ("sub:<OpenID subject>", "user_id:<id>" or "realmId:<QuickBooks
-- company>"; not a secret), so a reconnect by a different account is
-- refused.  revoked_at / revoke_error: the outcome of the last best-effort
-- RFC 7009 revocation at the provider on unlink.
ALTER TABLE connections
    ADD COLUMN authorized_identity text CHECK (length(authorized_identity) BETWEEN 1 AND 300),
    ADD COLUMN revoked_at          timestamptz,
    ADD COLUMN revoke_error        text CHECK (length(revoke_error) BETWEEN 1 AND 300);

-- The integration's RFC 7009 revocation endpoint (optional).
ALTER TABLE integrations
    ADD COLUMN revoke_url text CHECK (revoke_url ~ '^https?://' AND length(revoke_url) <= 2048);

-- The built-in sandbox provider's grants: the SHA-256 of the one refresh
-- token of a sandbox connection that works now.  A refresh spends it and
-- stores its successor (rotation); "revoke access" marks it revoked, so the
-- next refresh gets invalid_grant as from a real provider.
CREATE TABLE sandbox_grants (
    org_id         uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    connection_id  uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    refresh_hash   bytea NOT NULL UNIQUE CHECK (length(refresh_hash) = 32),
    issued_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    PRIMARY KEY (org_id, connection_id)
);
CREATE INDEX sandbox_grants_connection ON sandbox_grants (connection_id);
