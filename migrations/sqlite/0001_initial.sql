-- The five tables of the data model (shared/specs/data-model.md), SQLite flavour.
-- Timestamps are UTC, stored by sqlx as RFC 3339 text; JSON is stored as text.

CREATE TABLE campaigns (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    name                    TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status                  TEXT    NOT NULL DEFAULT 'DRAFT'
                            CHECK (status IN ('DRAFT','SCHEDULED','RUNNING','PAUSED','COMPLETED')),
    playbook                TEXT    NOT NULL,
    calling_hours_start     INTEGER NOT NULL CHECK (calling_hours_start BETWEEN 0 AND 23),
    calling_hours_end       INTEGER NOT NULL CHECK (calling_hours_end BETWEEN 1 AND 24),
    timezone                TEXT    NOT NULL,
    calling_days            TEXT    NOT NULL,
    max_concurrent_calls    INTEGER NOT NULL CHECK (max_concurrent_calls >= 1),
    max_attempts            INTEGER NOT NULL CHECK (max_attempts >= 1),
    retry_no_answer_minutes INTEGER NOT NULL CHECK (retry_no_answer_minutes >= 0),
    retry_busy_minutes      INTEGER NOT NULL CHECK (retry_busy_minutes >= 0),
    total_leads             INTEGER NOT NULL DEFAULT 0,
    leads_called            INTEGER NOT NULL DEFAULT 0,
    leads_completed         INTEGER NOT NULL DEFAULT 0,
    created_at              TEXT    NOT NULL,
    updated_at              TEXT    NOT NULL,
    started_at              TEXT,
    completed_at            TEXT
);
CREATE INDEX campaigns_by_status ON campaigns (status);

CREATE TABLE leads (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id        INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    name               TEXT    NOT NULL,
    phone              TEXT    NOT NULL,
    email              TEXT,
    property_type      TEXT,
    location           TEXT,
    budget             TEXT,
    attributes         TEXT    NOT NULL DEFAULT '{}',
    status             TEXT    NOT NULL DEFAULT 'NEW'
                       CHECK (status IN ('NEW','SCHEDULED','IN_PROGRESS','COMPLETED','EXHAUSTED','FAILED')),
    call_attempts      INTEGER NOT NULL DEFAULT 0,
    last_call_attempt  TEXT,
    qualified          BOOLEAN,
    created_at         TEXT    NOT NULL,
    UNIQUE (campaign_id, phone)
);
CREATE INDEX leads_by_campaign ON leads (campaign_id, id);
CREATE INDEX leads_by_campaign_status ON leads (campaign_id, status);

CREATE TABLE scheduled_calls (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id      INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    lead_id          INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    scheduled_time   TEXT    NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'PENDING'
                     CHECK (status IN ('PENDING','DIALING','IN_PROGRESS','COMPLETED','FAILED','CANCELLED')),
    attempt_number   INTEGER NOT NULL CHECK (attempt_number >= 1),
    max_attempts     INTEGER NOT NULL CHECK (max_attempts >= 1),
    current_call_sid TEXT,
    failure_reason   TEXT,
    claimed_by       TEXT,
    lease_until      TEXT,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL
);
-- The scheduler's question: which rows of this campaign are due?
CREATE INDEX scheduled_calls_due ON scheduled_calls (campaign_id, status, scheduled_time);
CREATE INDEX scheduled_calls_by_lead ON scheduled_calls (lead_id);
-- Reconciliation: which claims have expired?
CREATE INDEX scheduled_calls_by_lease ON scheduled_calls (status, lease_until);

CREATE TABLE call_sessions (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    call_sid          TEXT    NOT NULL UNIQUE,
    lead_id           INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    campaign_id       INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    scheduled_call_id INTEGER REFERENCES scheduled_calls (id) ON DELETE SET NULL,
    status            TEXT    NOT NULL DEFAULT 'INITIATED'
                      CHECK (status IN ('INITIATED','RINGING','IN_PROGRESS','COMPLETED','FAILED','BUSY','NO_ANSWER','CANCELED')),
    answered_at       TEXT,
    ended_at          TEXT,
    duration_seconds  INTEGER,
    recording_url     TEXT,
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL
);
CREATE INDEX call_sessions_by_campaign ON call_sessions (campaign_id, id);
CREATE INDEX call_sessions_by_lead ON call_sessions (lead_id);

CREATE TABLE conversations (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    call_session_id    INTEGER NOT NULL UNIQUE REFERENCES call_sessions (id) ON DELETE CASCADE,
    transcript_history TEXT    NOT NULL DEFAULT '[]',
    final_outcome      TEXT,
    lead_qualified     BOOLEAN,
    extracted_data     TEXT    NOT NULL DEFAULT '{}',
    created_at         TEXT    NOT NULL
);
