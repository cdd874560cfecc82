-- Dead letters are counted on every background pass (/metrics
-- hostlink_webhook_dead_letters): a partial index keeps that count cheap.
CREATE INDEX webhook_deliveries_dead ON webhook_deliveries (endpoint_id) WHERE status = 'dead';
