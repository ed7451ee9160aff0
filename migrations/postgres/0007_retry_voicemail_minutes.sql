-- How long to wait before calling a lead again after a machine answered (voicemail, call
-- screening, a carrier announcement: the conversation's outcome is 'voicemail'). Existing
-- campaigns take the API's default.
ALTER TABLE campaigns ADD COLUMN retry_voicemail_minutes BIGINT NOT NULL DEFAULT 120
    CHECK (retry_voicemail_minutes >= 0);
