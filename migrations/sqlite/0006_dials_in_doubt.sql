-- A dial whose result we did not see (timeout after the request was sent, 5xx, a 200 we could
-- not read, or a process that died mid-dial) is "in doubt": the scheduled call stays DIALING,
-- this column says since when, the lead's attempt is already counted, and the row is never
-- dialed again until it is settled (status callback, Exotel's call list, or the no-answer delay).
-- `lease_until` then holds the time of the next lookup.
ALTER TABLE scheduled_calls ADD COLUMN in_doubt_since TEXT;

-- Callbacks, the media socket and settling all find attempts by Exotel's call sid.
CREATE INDEX scheduled_calls_by_call_sid ON scheduled_calls (current_call_sid);
