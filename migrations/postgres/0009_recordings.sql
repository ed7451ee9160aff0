-- Call recordings (issue 12): the file the runtime itself wrote for a call (RECORDINGS_DIR),
-- by name only — a bare `{call_sid}.wav`, never a path, so what is stored cannot point outside
-- the directory. Set when the file is finalised; `recording_url` keeps what Exotel reported.
ALTER TABLE call_sessions ADD COLUMN recording_file TEXT;
