-- Outbound webhooks (issue 12): a campaign may name a URL that hears about its calls.
ALTER TABLE campaigns ADD COLUMN webhook_url TEXT;

-- The durable outbox: a row is written in the same transaction as the call it tells about,
-- then sent (signed, retried with backoff) by whichever node claims it first; a restart loses
-- none. `lease_until` is the claim; `next_attempt_at` the retry schedule.
CREATE TABLE webhook_deliveries (
    id              BIGSERIAL PRIMARY KEY,
    campaign_id     BIGINT NOT NULL REFERENCES campaigns(id),
    event           TEXT NOT NULL,
    url             TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'PENDING'
                    CHECK (status IN ('PENDING','DELIVERED','FAILED')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_until     TIMESTAMPTZ,
    last_status     BIGINT,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    delivered_at    TIMESTAMPTZ
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_campaign ON webhook_deliveries (campaign_id, id);
