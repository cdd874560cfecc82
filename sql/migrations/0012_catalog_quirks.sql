-- Real platforms (issue 13): an OAuth 2.0 integration's quirks (config:
-- authorize_params, token_params, token_auth, pkce, scope_separator,
-- config_fields, callback_params, token_fields, post_connect, api_base_url),
-- the built-in catalog entry it was enabled from, and its category (Codat's
-- sourceType).  A connection keeps the non-secret values its authorization
-- produced (the end user's config_fields answers, captured callback
-- parameters, kept token fields, the post_connect lookup, the API base URL)
-- as connection_info: shown as connectionInfo on every connection object.
ALTER TABLE integrations
    ADD COLUMN config    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(config) = 'object'),
    ADD COLUMN catalog   text CHECK (catalog ~ '^[a-z0-9_-]{1,64}$'),
    ADD COLUMN category  text NOT NULL DEFAULT 'Other'
        CHECK (category IN ('Accounting', 'Banking', 'BankFeed', 'Commerce', 'Expense',
                            'Other', 'Unknown'));

ALTER TABLE connections
    ADD COLUMN connection_info jsonb NOT NULL DEFAULT '{}'
        CHECK (jsonb_typeof(connection_info) = 'object');
