-- Codat's companyTags on a webhook consumer: "tagKey:tagValue" strings; an
-- endpoint with some receives only the events of companies carrying one of
-- them (empty: every company).
ALTER TABLE webhook_endpoints
    ADD COLUMN company_tags text[] NOT NULL DEFAULT '{}'
        CHECK (cardinality(company_tags) <= 10);
