//! SQLite schema, as numbered migrations applied in order on open.
//!
//! Times are INTEGER microseconds since the Unix epoch (UTC); ids are UUID text. The schema
//! is shaped for the send path: few b-tree pages written per message (see docs/benchmarks.md).
use crate::error::StoreError;
use rusqlite::Connection;

/// One step of the schema: SQL, or code where the data must be rewritten.
pub(super) enum Migration {
    Sql(&'static str),
    Code(fn(&Connection) -> Result<(), StoreError>),
}

pub(super) const MIGRATIONS: &[(i64, Migration)] = &[
    (1, Migration::Sql(V1)),
    (2, Migration::Sql(V2)),
    (3, Migration::Sql(V3)),
    (4, Migration::Sql(V4)),
    (5, Migration::Sql(V5)),
    (6, Migration::Code(v6)),
    (7, Migration::Sql(V7_DNC)),
    (8, Migration::Sql(V8_TIME_ZONE)),
    // API tokens (the HTTP API).
    (9, Migration::Sql(super::tokens::SCHEMA)),
    // Webhook endpoints and their outbox (the triggers come with the first endpoint).
    (10, Migration::Sql(super::webhooks::MIGRATION)),
    // Worker heartbeats (the dashboard's overview).
    (11, Migration::Sql(crate::beats::SCHEMA_SQLITE)),
    // Token buckets of paced backends and the index of claims, shared by every worker.
    (12, Migration::Sql(super::pace::SCHEMA)),
    // Webhook events written by the store's write path, not by triggers.
    (13, Migration::Sql(super::outbox::MIGRATION)),
    // A worker's clean stop (its last heartbeat says so).
    (14, Migration::Sql(crate::beats::STOPPED_SQLITE)),
    // When a webhook delivery was given up (`webhook replay --since` selects by it).
    (15, Migration::Sql(super::webhook_control::FAILED_AT)),
    // Erasure and retention: the hash key, the record of erasures, their indexes.
    (16, Migration::Sql(super::privacy::MIGRATION)),
    // Interactive calls: what a message or template asks (gather, machine) and the reply.
    (17, Migration::Sql(V17_INTERACTIVE)),
];

/// JSON objects, NULL for a plain call and before any reply; the history's entries carry
/// the reply inside the `history` JSON.
const V17_INTERACTIVE: &str = "
ALTER TABLE messages ADD COLUMN interactive TEXT;
ALTER TABLE messages ADD COLUMN reply TEXT;
ALTER TABLE templates ADD COLUMN interactive TEXT;
";

/// The do-not-call list, and recent calls per recipient for `max_calls_per_recipient` and
/// `dedupe_window` (written only when one is configured, pruned as it is read).
const V7_DNC: &str = "
CREATE TABLE dnc (
    number TEXT PRIMARY KEY,
    reason TEXT,
    until INTEGER,
    added_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE recipient_calls (
    recipient TEXT NOT NULL,
    at INTEGER NOT NULL,
    content_hash INTEGER NOT NULL,
    message_id TEXT NOT NULL
);
CREATE INDEX recipient_calls_by_recipient ON recipient_calls(recipient, at);
";

/// Calling hours: the recipient's time zone as the sender gave it (NULL: the number's).
const V8_TIME_ZONE: &str = "ALTER TABLE messages ADD COLUMN time_zone TEXT;";

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
";

/// Fewer b-trees written per message (each one is a 4 KB WAL frame per commit): the history
/// moves into the message row, the related objects into one b-tree, and messages that `send`
/// stores with their first attempt begun stay out of the index of unpublished messages while
/// their own process publishes them (see `fast_path::inline::recover`).
const V2: &str = "
ALTER TABLE messages ADD COLUMN history TEXT NOT NULL DEFAULT '[]';
UPDATE messages SET history = (
    SELECT json_group_array(json_object('at', at, 'from', from_state, 'to', to_state, 'reason', reason))
    FROM (SELECT * FROM message_history h WHERE h.message_id = messages.id ORDER BY n)
) WHERE history_len > 0;
DROP TABLE message_history;
ALTER TABLE messages DROP COLUMN history_len;
-- 1 while the sender that stored the message at once holds its claim; 0 otherwise.
ALTER TABLE messages ADD COLUMN inline_claim INTEGER NOT NULL DEFAULT 0;
DROP INDEX messages_due;
CREATE INDEX messages_due ON messages(priority, created_at) WHERE state IN (-1, 99) AND inline_claim = 0;
-- object_key is the id as an INTEGER when it is numeric, else the text (no declared type:
-- SQLite converts nothing), so one b-tree serves lookups by text and by number.
CREATE TABLE message_related_v2 (
    kind TEXT NOT NULL,
    object_key NOT NULL,
    object_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    PRIMARY KEY (kind, object_key, object_id, message_id)
) WITHOUT ROWID;
INSERT INTO message_related_v2 (kind, object_key, object_id, message_id)
    SELECT kind, COALESCE(object_id_int, object_id), object_id, message_id FROM message_related;
DROP TABLE message_related;
ALTER TABLE message_related_v2 RENAME TO message_related;
-- Small values kept by the store itself; `inline_scan` is the id up to which every message
-- stored with an inline claim has been checked for a dead sender.
CREATE TABLE store_marks (name TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO store_marks (name, value) SELECT 'inline_scan', COALESCE(MAX(id), '') FROM messages;
";

/// Messages stored one at a time reach the index of related objects a few dozen messages
/// later (see `related.rs`); up to this mark, every message is in it.
const V3: &str = "
INSERT INTO store_marks (name, value) SELECT 'related_indexed', COALESCE(MAX(id), '') FROM messages;
";

/// The two marks above (`inline_scan`, `related_indexed`) let the scans pass messages once.
/// A message committed late, with an id at or below a mark that already passed it (its id
/// was made before a newer message was stored and scanned), moves the mark back below
/// itself: it is then looked at like any newer message, and nothing is passed over. Being
/// part of the INSERT, this needs no transaction around it.
const V4: &str = "
CREATE TRIGGER messages_behind_a_mark AFTER INSERT ON messages
WHEN NEW.related IS NOT NULL OR NEW.inline_claim = 1
BEGIN
    UPDATE store_marks SET value = substr(NEW.id, 1, length(NEW.id) - 1)
    WHERE value >= NEW.id
      AND ((name = 'related_indexed' AND NEW.related IS NOT NULL)
           OR (name = 'inline_scan' AND NEW.inline_claim = 1));
END;
";

/// The trigger of version 4 cost about a microsecond per message; the INSERT of a single
/// message now checks the marks itself and stores nothing when its id is at or below one
/// (a transaction that reads the marks then stores it).
const V5: &str = "
DROP TRIGGER IF EXISTS messages_behind_a_mark;
";

/// Messages keyed by an integer from their id (see `keys.rs`); the index of related objects
/// and the scan marks name messages by that key.
const V6_TABLES: &str = "
CREATE TABLE messages_v6 (
    n INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
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
    related TEXT,
    claim_owner TEXT,
    claim_until INTEGER,
    history TEXT NOT NULL,
    inline_claim INTEGER NOT NULL
);
-- Messages whose own key another message had: their key, found by id.
CREATE TABLE message_keys (id TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE message_related_v6 (
    kind TEXT NOT NULL,
    object_key NOT NULL,
    object_id TEXT NOT NULL,
    message_n INTEGER NOT NULL,
    PRIMARY KEY (kind, object_key, object_id, message_n)
) WITHOUT ROWID;
-- A mark is the key of the last message a scan has passed.
CREATE TABLE store_marks_v6 (name TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TEMP TABLE v6_keys (id TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
";

const V6_COLUMNS: &str = "id, created_at, changed_at, sent_at, recipient, content, template_slug, \
    template_id, state, backend, error, extra_data, extra_sender_data, tag, is_final_state, priority, \
    predictive, attempts, next_attempt_at, not_before, idempotency_key, check_failures, resent_from, \
    attempt_unresolved, related, claim_owner, claim_until, history, inline_claim";

const V6_SWAP: &str = "
DROP TABLE messages;
ALTER TABLE messages_v6 RENAME TO messages;
DROP TABLE message_related;
ALTER TABLE message_related_v6 RENAME TO message_related;
DROP TABLE store_marks;
ALTER TABLE store_marks_v6 RENAME TO store_marks;
DROP TABLE temp.v6_keys;
CREATE UNIQUE INDEX messages_idempotency ON messages(idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX messages_due ON messages(priority, created_at) WHERE state IN (-1, 99) AND inline_claim = 0;
CREATE INDEX messages_open ON messages(backend, sent_at) WHERE is_final_state = 0 AND sent_at IS NOT NULL;
CREATE INDEX messages_tag ON messages(tag) WHERE tag IS NOT NULL;
CREATE INDEX messages_template ON messages(template_slug) WHERE template_slug IS NOT NULL;
";

/// Gives every stored message its key, in id order: its own, or (where ids made within one
/// millisecond share their leading bits, as ids before schema 6 did) the next after the
/// previous message's.
fn v6(tx: &Connection) -> Result<(), StoreError> {
    tx.execute_batch(V6_TABLES)?;
    {
        let mut ids = tx.prepare("SELECT id FROM messages ORDER BY id")?;
        let mut key = tx.prepare("INSERT INTO temp.v6_keys (id, n) VALUES (?1, ?2)")?;
        let mut displaced = tx.prepare("INSERT INTO message_keys (id, n) VALUES (?1, ?2)")?;
        let mut rows = ids.query([])?;
        let mut last = -1;
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            let own = super::keys::of(
                id.parse()
                    .map_err(|e| StoreError::corrupt(format!("message id {id:?}"), e))?,
            );
            let n = own.max(last + 1);
            if n != own {
                displaced.execute((&id, n))?;
            }
            key.execute((&id, n))?;
            last = n;
        }
    }
    tx.execute_batch(&format!(
        "INSERT INTO messages_v6 (n, {V6_COLUMNS}) SELECT k.n, {cols} FROM messages m JOIN temp.v6_keys k ON k.id = m.id;
         INSERT INTO message_related_v6 (kind, object_key, object_id, message_n)
             SELECT r.kind, r.object_key, r.object_id, k.n FROM message_related r JOIN temp.v6_keys k ON k.id = r.message_id;
         INSERT INTO store_marks_v6 (name, n)
             SELECT s.name, coalesce((SELECT max(k.n) FROM temp.v6_keys k WHERE k.id <= s.value), -1) FROM store_marks s;",
        cols = V6_COLUMNS
            .split(',')
            .map(|c| format!("m.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    ))?;
    tx.execute_batch(V6_SWAP)?;
    Ok(())
}
