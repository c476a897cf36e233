//! SQLite schema, as numbered migrations applied in order on open.
//!
//! Times are INTEGER microseconds since the Unix epoch (UTC); ids are UUID text. History
//! and related objects point at the message's rowid (`seq`) to keep their indexes small.

pub(super) const MIGRATIONS: &[(i64, &str)] = &[(1, V1)];

const V1: &str = "
CREATE TABLE templates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    active INTEGER NOT NULL,
    allow_duplicates INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    changed_at INTEGER NOT NULL
);
CREATE TABLE messages (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
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
    claim_owner TEXT,
    claim_until INTEGER
);
CREATE UNIQUE INDEX messages_idempotency ON messages(idempotency_key) WHERE idempotency_key IS NOT NULL;
-- Only unpublished messages are in it, so it stays small however big the table grows.
CREATE INDEX messages_due ON messages(priority, created_at) WHERE state IN (-1, 99);
CREATE INDEX messages_open ON messages(backend, sent_at) WHERE is_final_state = 0 AND sent_at IS NOT NULL;
CREATE INDEX messages_claims ON messages(claim_owner) WHERE claim_owner IS NOT NULL;
CREATE INDEX messages_tag ON messages(tag) WHERE tag IS NOT NULL;
CREATE INDEX messages_template ON messages(template_slug) WHERE template_slug IS NOT NULL;
CREATE TABLE message_history (
    id INTEGER PRIMARY KEY,
    message_seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    from_state INTEGER,
    to_state INTEGER NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX message_history_message ON message_history(message_seq);
CREATE TABLE message_related (
    message_seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    object_id_int INTEGER,
    PRIMARY KEY (message_seq, kind, object_id)
) WITHOUT ROWID;
CREATE INDEX message_related_int ON message_related(kind, object_id_int) WHERE object_id_int IS NOT NULL;
CREATE INDEX message_related_text ON message_related(kind, object_id);
CREATE TABLE backend_cursors (
    backend TEXT PRIMARY KEY,
    cursor TEXT NOT NULL,
    changed_at INTEGER NOT NULL
);
";
