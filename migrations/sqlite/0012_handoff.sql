-- Hand-off to a human (issue 14): where a campaign's willing leads are transferred, and one row
-- per transfer decided by a call. The decision is written before the bot closes its media
-- stream, keyed by Exotel's CallSid: the flow's Passthru and Connect applets ask us for it.
ALTER TABLE campaigns ADD COLUMN transfer_numbers TEXT NOT NULL DEFAULT '[]';
ALTER TABLE campaigns ADD COLUMN transfer_strategy TEXT NOT NULL DEFAULT 'in_order'
    CHECK (transfer_strategy IN ('in_order','round_robin'));
-- "HH:MM-HH:MM" in the campaign's time zone; none = the team takes transfers whenever we call.
ALTER TABLE campaigns ADD COLUMN transfer_hours TEXT;
ALTER TABLE campaigns ADD COLUMN max_concurrent_transfers INTEGER NOT NULL DEFAULT 1
    CHECK (max_concurrent_transfers >= 1);
-- Round-robin's next turn, advanced atomically by each destination chosen.
ALTER TABLE campaigns ADD COLUMN transfer_cursor INTEGER NOT NULL DEFAULT 0;

CREATE TABLE transfers (
    call_sid          TEXT PRIMARY KEY,
    campaign_id       INTEGER NOT NULL REFERENCES campaigns(id),
    lead_id           INTEGER NOT NULL REFERENCES leads(id),
    scheduled_call_id INTEGER NOT NULL REFERENCES scheduled_calls(id),
    requested_at      TEXT NOT NULL,
    -- The number Exotel's Connect was told to dial (E.164); none until it asked.
    destination       TEXT,
    destination_at    TEXT,
    result            TEXT CHECK (result IN ('answered','missed')),
    settled_at        TEXT
);
CREATE INDEX transfers_unsettled ON transfers (campaign_id, result);
