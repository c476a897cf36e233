-- The SQLite schema of version 1, as released: the migration test starts from it.
CREATE TABLE templates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    active INTEGER NOT NULL,
    allow_duplicates INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    changed_at INTEGER NOT NULL
);
-- Keyed by the UUID v7 text, which sorts by creation: new rows append, and no separate id
-- index has to be written with every message.
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    changed_at INTEGER NOT NULL,
    sent_at INTEGER,
    recipient TEXT NOT NULL,
    content TEXT NOT NULL,
    template_slug TEXT,
    template_id INTEGER,
    state INTEGER NOT NULL,
    backend TEXT NOT NULL,
    error TEXT,
    extra_data TEXT NOT NULL,
    extra_sender_data TEXT NOT NULL,
    tag TEXT,
    is_final_state INTEGER NOT NULL,
    priority INTEGER NOT NULL,
    predictive INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at INTEGER,
    not_before INTEGER,
    idempotency_key TEXT,
    check_failures INTEGER NOT NULL,
    resent_from TEXT,
    attempt_unresolved INTEGER NOT NULL,
    -- JSON array of TYPE:ID, read with the message; message_related is for lookups.
    related TEXT,
    claim_owner TEXT,
    claim_until INTEGER,
    -- Rows in message_history (the creation itself is not stored there: it is created_at).
    history_len INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX messages_idempotency ON messages(idempotency_key) WHERE idempotency_key IS NOT NULL;
-- Only unpublished messages are in it, so it stays small however big the table grows.
-- Claimed messages are unpublished too: releasing and renewing claims use it as well.
CREATE INDEX messages_due ON messages(priority, created_at) WHERE state IN (-1, 99);
CREATE INDEX messages_open ON messages(backend, sent_at) WHERE is_final_state = 0 AND sent_at IS NOT NULL;
CREATE INDEX messages_tag ON messages(tag) WHERE tag IS NOT NULL;
CREATE INDEX messages_template ON messages(template_slug) WHERE template_slug IS NOT NULL;
CREATE TABLE message_history (
    message_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    at INTEGER NOT NULL,
    from_state INTEGER,
    to_state INTEGER NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (message_id, n)
) WITHOUT ROWID;
CREATE TABLE message_related (
    kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    object_id_int INTEGER,
    PRIMARY KEY (kind, object_id, message_id)
) WITHOUT ROWID;
CREATE INDEX message_related_int ON message_related(kind, object_id_int) WHERE object_id_int IS NOT NULL;
CREATE TABLE backend_cursors (
    backend TEXT PRIMARY KEY,
    cursor TEXT NOT NULL,
    changed_at INTEGER NOT NULL
);
CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at INTEGER NOT NULL);
INSERT INTO schema_version VALUES (1, 0);
