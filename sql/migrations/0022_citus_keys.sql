-- A Citus-ready schema (issue 18 item 5; docs/scaling.md, "4. Citus"): every
-- tenant table carries org_id, holds it in its primary key and in every
-- unique key, and every foreign key between tenant tables carries it on
-- both sides, so create_distributed_table(t, 'org_id') works on each table
-- and the foreign keys stay inside one shard group.  Reference tables (orgs,
-- api_keys, operators, operator_links, operator_sessions) and rate_limits
-- (distributed by its bucket) keep their keys; see docs/scaling.md for why.
-- idempotency_keys, events and webhook_deliveries are rekeyed by migration
-- 0021 (partitioned by expiry, org_id in their keys).
--
-- Key order: a table looked up by its own id or by a capability's hash
-- keeps that column first and adds org_id second (id, org_id): one index
-- serves both "WHERE id = $1" (the background child, the OAuth callback)
-- and "WHERE id = $1 AND org_id = $2".  Tables keyed by the org already
-- keep org_id first.  The partitioned tables (0015) keep their partition
-- key last in their keys.
--
-- Rows move in place: the new org_id columns are filled from the parent
-- before they are made NOT NULL.

-- 1. org_id where a table reached it through its parent.
ALTER TABLE connections ADD COLUMN org_id uuid;
UPDATE connections x SET org_id = c.org_id FROM companies c WHERE c.id = x.company_id;
ALTER TABLE connections ALTER COLUMN org_id SET NOT NULL;

ALTER TABLE connect_configs ADD COLUMN org_id uuid;
UPDATE connect_configs x SET org_id = c.org_id FROM companies c WHERE c.id = x.company_id;
ALTER TABLE connect_configs ALTER COLUMN org_id SET NOT NULL;

ALTER TABLE oauth_states ADD COLUMN org_id uuid;
UPDATE oauth_states s SET org_id = x.org_id FROM connections x WHERE x.id = s.connection_id;
ALTER TABLE oauth_states ALTER COLUMN org_id SET NOT NULL;

ALTER TABLE hosted_properties ADD COLUMN org_id uuid;
UPDATE hosted_properties h SET org_id = t.org_id FROM session_tokens t
WHERE t.jti = h.jti AND t.expires_at = h.token_expires_at;
ALTER TABLE hosted_properties ALTER COLUMN org_id SET NOT NULL;

-- 2. The foreign keys onto keys that change go first.
ALTER TABLE connect_configs DROP CONSTRAINT connect_configs_company_id_fkey;
ALTER TABLE connections DROP CONSTRAINT connections_company_id_fkey;
ALTER TABLE issued_links DROP CONSTRAINT issued_links_company_id_fkey;
ALTER TABLE session_tokens DROP CONSTRAINT session_tokens_company_id_fkey1;
ALTER TABLE hosted_properties DROP CONSTRAINT hosted_properties_jti_token_expires_at_fkey;
ALTER TABLE oauth_states DROP CONSTRAINT oauth_states_connection_id_fkey;
ALTER TABLE connection_errors DROP CONSTRAINT connection_errors_connection_id_fkey;
ALTER TABLE sandbox_grants DROP CONSTRAINT sandbox_grants_connection_id_fkey;

-- 3. Primary and unique keys with org_id.
ALTER TABLE companies DROP CONSTRAINT companies_pkey, ADD PRIMARY KEY (id, org_id);
ALTER TABLE connections DROP CONSTRAINT connections_pkey, ADD PRIMARY KEY (id, org_id);
ALTER TABLE connect_configs DROP CONSTRAINT connect_configs_pkey,
    ADD PRIMARY KEY (org_id, company_id, config_id);
ALTER TABLE oauth_states DROP CONSTRAINT oauth_states_pkey, ADD PRIMARY KEY (state_hash, org_id);
ALTER TABLE session_tokens DROP CONSTRAINT session_tokens_pkey1,
    ADD PRIMARY KEY (jti, org_id, expires_at);
ALTER TABLE hosted_properties DROP CONSTRAINT hosted_properties_pkey1,
    ADD PRIMARY KEY (token_hash, org_id, token_expires_at);
ALTER TABLE issued_links DROP CONSTRAINT issued_links_pkey, ADD PRIMARY KEY (id, org_id),
    DROP CONSTRAINT issued_links_key_hash_key, ADD UNIQUE (key_hash, org_id);
ALTER TABLE sandbox_grants DROP CONSTRAINT sandbox_grants_refresh_hash_key,
    ADD UNIQUE (refresh_hash, org_id);

-- webhook_endpoints: its deliveries' foreign key is migration 0021's (it
-- rekeys webhook_deliveries with org_id, onto (id, org_id) made here when
-- 0021 has not made it).  The old key goes once nothing references it.
ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_id_org UNIQUE (id, org_id);
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE contype = 'f' AND confrelid = 'webhook_endpoints'::regclass
                     AND conindid = 'webhook_endpoints_pkey'::regclass) THEN
        ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_pkey;
        ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_id_org;
        ALTER TABLE webhook_endpoints ADD PRIMARY KEY (id, org_id);
    END IF;
END $$;

-- 4. The foreign keys again, each carrying org_id on both sides.
ALTER TABLE connect_configs ADD FOREIGN KEY (company_id, org_id)
    REFERENCES companies (id, org_id) ON DELETE CASCADE;
ALTER TABLE connections ADD FOREIGN KEY (company_id, org_id)
    REFERENCES companies (id, org_id) ON DELETE CASCADE;
ALTER TABLE issued_links ADD FOREIGN KEY (company_id, org_id)
    REFERENCES companies (id, org_id) ON DELETE CASCADE;
ALTER TABLE session_tokens ADD FOREIGN KEY (company_id, org_id)
    REFERENCES companies (id, org_id) ON DELETE CASCADE;
ALTER TABLE hosted_properties ADD FOREIGN KEY (jti, org_id, token_expires_at)
    REFERENCES session_tokens (jti, org_id, expires_at) ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE oauth_states ADD FOREIGN KEY (connection_id, org_id)
    REFERENCES connections (id, org_id) ON DELETE CASCADE;
ALTER TABLE connection_errors ADD FOREIGN KEY (connection_id, org_id)
    REFERENCES connections (id, org_id) ON DELETE CASCADE;
ALTER TABLE sandbox_grants ADD FOREIGN KEY (connection_id, org_id)
    REFERENCES connections (id, org_id) ON DELETE CASCADE;
