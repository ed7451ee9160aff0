-- Why a campaign is in its status when the runtime, not an operator, put it there
-- (e.g. paused because Exotel rejected our credentials).
ALTER TABLE campaigns ADD COLUMN status_reason TEXT;
