-- Issue 9 §2: do-not-call everywhere, the law's hours as a floor, bounded call-backs.

-- The node-wide suppression list: numbers (E.164) that are never dialed, by any campaign.
-- Written by the live call's `mark_do_not_call`, the operator API and its CSV upload.
CREATE TABLE suppressions (
    phone      TEXT NOT NULL PRIMARY KEY,
    reason     TEXT NOT NULL,
    source     TEXT NOT NULL CHECK (source IN ('call','api','csv')),
    created_at TEXT NOT NULL
);
CREATE INDEX suppressions_by_created ON suppressions (created_at, phone);

-- Transactional and service campaigns are not held to REGULATORY_HOURS (TRAI's TCCCPR 2018
-- binds promotional calls only); settable while the campaign is a DRAFT.
ALTER TABLE campaigns ADD COLUMN transactional BOOLEAN NOT NULL DEFAULT 0;

-- Call-backs granted without using one of the campaign's max_attempts (at most 2 per lead).
ALTER TABLE leads ADD COLUMN free_callbacks_used INTEGER NOT NULL DEFAULT 0;
