-- The node whose media socket carries an answered call's conversation. Set once, when the
-- first socket starts (a second socket for the same call is refused); after a crash the node
-- closes its own calls that were live as `interrupted`.
ALTER TABLE call_sessions ADD COLUMN media_node TEXT;
