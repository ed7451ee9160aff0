-- A missed transfer's call-back, booked durably (issue 14): the result endpoint records when
-- it is due; any node's heartbeat books it once the call's own save has ended the lead, so a
-- restart between the two loses nothing, and the conditional mark books it once.
ALTER TABLE transfers ADD COLUMN callback_at TEXT;
ALTER TABLE transfers ADD COLUMN callback_booked_at TEXT;
