-- Token state of a Linked OAuth connection (issue 12): when its access token
-- expires (from expires_in), when it was last refreshed, and the failures of
-- refreshing it.  The refresh token itself stays inside the sealed
-- credentials.
ALTER TABLE connections
    ADD COLUMN access_expires_at  timestamptz,
    ADD COLUMN last_refreshed_at  timestamptz,
    ADD COLUMN refresh_failures   integer NOT NULL DEFAULT 0,
    ADD COLUMN refresh_failed_at  timestamptz,
    ADD COLUMN refresh_error      text;
