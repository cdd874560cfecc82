-- The redirect signing secret is derived from the server's secret, the org,
-- the environment and this version (issue 15: rotatable from the Portal):
-- version 1 is the derivation of before, so existing orgs keep their secret.
ALTER TABLE link_settings ADD COLUMN secret_version integer NOT NULL DEFAULT 1;
