-- Where the other nodes reach this one (NODE_URL): the cluster-wide views of /debug/sessions,
-- /debug/actors and the console's live view ask each node for its own part.
ALTER TABLE nodes ADD COLUMN node_url TEXT;
