-- Connection-start keys: GET /connections/{cid}/start?key= takes a key
-- derived (HMAC, capability.c) from the connection id and start_version;
-- bumping start_version (on each link and unlink) revokes the old key.
ALTER TABLE connections ADD COLUMN start_version integer NOT NULL DEFAULT 1;
