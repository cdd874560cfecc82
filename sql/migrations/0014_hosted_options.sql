-- The hosted page's options: link settings beyond the page text and theme
-- (invite text, sandbox, redirect hosts, consent, embedding, translations),
-- and issued links: a company link or invite with a use limit and/or an
-- expiry, found by the SHA-256 of its key (the key itself is never stored).

ALTER TABLE link_settings ADD COLUMN options jsonb NOT NULL DEFAULT '{}';

CREATE TABLE issued_links (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    key_hash     bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    org_id       uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    environment  text NOT NULL CHECK (environment IN ('test', 'live')),
    company_id   uuid REFERENCES companies (id) ON DELETE CASCADE,   -- NULL: an invite
    max_uses     integer CHECK (max_uses >= 1),                      -- NULL: unlimited
    uses         integer NOT NULL DEFAULT 0,
    options      jsonb NOT NULL DEFAULT '{}',  -- allowed_integrations, categories, redirect_url
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz                                         -- NULL: never
);
CREATE INDEX issued_links_expires ON issued_links (expires_at);
CREATE INDEX issued_links_company ON issued_links (company_id);
