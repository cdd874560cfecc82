-- The profile name is per environment: a test key's PUT /profile sets
-- test_name, seen only by test keys (NULL: they see the org's name); orgs.name
-- stays the org's (live) name.

ALTER TABLE orgs ADD COLUMN test_name text CHECK (length(test_name) BETWEEN 1 AND 200);
