-- Several nodes on one database (issue 13).

-- Membership: each node heart-beats its row. A node whose lease ran out is LOST: the others
-- settle its claims at once instead of waiting for each call's own lease. A drained node LEFT.
CREATE TABLE nodes (
    node_id         TEXT PRIMARY KEY,
    status          TEXT NOT NULL DEFAULT 'UP' CHECK (status IN ('UP','LEFT','LOST')),
    started_at      TIMESTAMPTZ NOT NULL,
    heartbeat_at    TIMESTAMPTZ NOT NULL,
    lease_until     TIMESTAMPTZ NOT NULL,
    -- What the node reported with its last heartbeat, for the cluster views.
    live_calls      BIGINT NOT NULL DEFAULT 0,
    tokens_capacity BIGINT NOT NULL DEFAULT 0,
    tokens_in_use   BIGINT NOT NULL DEFAULT 0
);

-- When an attempt was claimed for dialing: the cluster's dials of the last minute are counted
-- from it, so EXOTEL_CALLS_PER_MINUTE holds across nodes.
ALTER TABLE scheduled_calls ADD COLUMN claimed_at TIMESTAMPTZ;
CREATE INDEX scheduled_calls_claimed_at ON scheduled_calls (claimed_at);
CREATE INDEX scheduled_calls_in_flight ON scheduled_calls (status, claimed_by);
