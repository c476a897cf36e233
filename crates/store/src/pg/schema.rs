//! PostgreSQL schema, as numbered migrations applied in order on open.

pub(super) const MIGRATIONS: &[(i32, &str)] = &[
    (1, V1),
    (2, V2_CLAIM_ORDER),
    (3, V3_DNC),
    (4, V4_TIME_ZONE),
    // API tokens (the HTTP API).
    (5, super::tokens::SCHEMA),
    // Webhook endpoints, their outbox and the triggers that fill it.
    (6, super::webhooks::MIGRATION),
    // Worker heartbeats (the dashboard's overview).
    (7, crate::beats::SCHEMA_POSTGRES),
    // Token buckets of paced backends, shared by every worker.
    (8, super::pace::SCHEMA),
    // Attempt begins as HOT updates (issue 14).
    (9, V9_HOT_CLAIMS),
    // A worker's clean stop (its last heartbeat says so).
    (10, crate::beats::STOPPED_POSTGRES),
    // When a webhook delivery was given up; the triggers notify the delivery loops.
    (11, super::webhook_control::MIGRATION),
    // Erasure and retention: the hash key, the record of erasures, their indexes.
    (12, super::privacy::MIGRATION),
    // Interactive calls: what a message or template asks (gather, machine) and the reply.
    (13, V13_INTERACTIVE),
];

/// JSON objects, NULL for a plain call and before any reply; a history row carries the
/// reply when it is the entry of the final state. Few messages have a reply, so the index
/// of answers stays small.
const V13_INTERACTIVE: &str = "
ALTER TABLE messages ADD COLUMN interactive JSONB, ADD COLUMN reply JSONB;
ALTER TABLE message_history ADD COLUMN reply JSONB;
ALTER TABLE templates ADD COLUMN interactive JSONB;
CREATE INDEX messages_answer ON messages ((reply ->> 'answer')) WHERE reply IS NOT NULL;
";

/// An attempt begin changes only columns no index names, so PostgreSQL can write it as a HOT
/// update (no index entry) when the row's page has room: `fillfactor` leaves that room for
/// rows stored from now on (existing pages keep theirs). Pages are pruned as they are read,
/// so the room comes back once the previous version is dead. The claim itself is not HOT:
/// `messages_claims` (on `claim_owner`) stays, because a paced claim counts the backend's
/// claimed messages through it (`pace.rs`); without it that count reads the whole table.
const V9_HOT_CLAIMS: &str = "
ALTER TABLE messages SET (fillfactor = 50);
";

/// Calling hours: the recipient's time zone as the sender gave it (NULL: the number's).
const V4_TIME_ZONE: &str = "ALTER TABLE messages ADD COLUMN time_zone TEXT;";

const V1: &str = "
CREATE TABLE templates (
    id BIGSERIAL PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    allow_duplicates BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE messages (
    id UUID PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,
    sent_at TIMESTAMPTZ,
    recipient TEXT NOT NULL,
    content TEXT NOT NULL,
    template_slug TEXT,
    template_id BIGINT,
    state SMALLINT NOT NULL,
    backend TEXT NOT NULL,
    error TEXT,
    extra_data JSONB NOT NULL,
    extra_sender_data JSONB NOT NULL,
    tag TEXT,
    is_final_state BOOLEAN NOT NULL,
    priority SMALLINT NOT NULL,
    predictive BOOLEAN NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMPTZ,
    not_before TIMESTAMPTZ,
    idempotency_key TEXT,
    check_failures INTEGER NOT NULL,
    resent_from UUID,
    attempt_unresolved BOOLEAN NOT NULL,
    claim_owner TEXT,
    claim_until TIMESTAMPTZ
);
CREATE UNIQUE INDEX messages_idempotency ON messages(idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX messages_created ON messages(created_at);
-- Only unpublished messages are in it, so it stays small however big the table grows.
CREATE INDEX messages_due ON messages(priority, created_at) WHERE state IN (-1, 99);
CREATE INDEX messages_open ON messages(backend, sent_at) WHERE NOT is_final_state AND sent_at IS NOT NULL;
CREATE INDEX messages_claims ON messages(claim_owner) WHERE claim_owner IS NOT NULL;
CREATE INDEX messages_tag ON messages(tag) WHERE tag IS NOT NULL;
CREATE INDEX messages_template ON messages(template_slug) WHERE template_slug IS NOT NULL;
CREATE TABLE message_history (
    id BIGSERIAL PRIMARY KEY,
    message_id UUID NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    at TIMESTAMPTZ NOT NULL,
    from_state SMALLINT,
    to_state SMALLINT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX message_history_message ON message_history(message_id);
CREATE TABLE message_related (
    message_id UUID NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    object_id_int BIGINT,
    PRIMARY KEY (message_id, kind, object_id)
);
CREATE INDEX message_related_int ON message_related(kind, object_id_int) WHERE object_id_int IS NOT NULL;
CREATE INDEX message_related_text ON message_related(kind, object_id);
CREATE TABLE backend_cursors (
    backend TEXT PRIMARY KEY,
    cursor TEXT NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL
);
";

/// The claim walks this index in its own order (priority, age, id) and stops at its LIMIT:
/// no sort, however many messages are due. It replaces `messages_due`, which lacked `id`
/// and the finality test, so the planner had to sort.
const V2_CLAIM_ORDER: &str = "
CREATE INDEX messages_claim_order ON messages(priority, created_at, id) WHERE state IN (-1, 99) AND NOT is_final_state;
DROP INDEX messages_due;
";

/// The do-not-call list, and recent calls per recipient for `max_calls_per_recipient` and
/// `dedupe_window` (written only when one is configured, pruned as it is read).
const V3_DNC: &str = "
CREATE TABLE dnc (
    number TEXT PRIMARY KEY,
    reason TEXT,
    until TIMESTAMPTZ,
    added_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE recipient_calls (
    recipient TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    content_hash BIGINT NOT NULL,
    message_id UUID NOT NULL
);
CREATE INDEX recipient_calls_by_recipient ON recipient_calls(recipient, at);
";
