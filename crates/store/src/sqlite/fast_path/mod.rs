//! SQLite's write path: the tricks that make `send` cost few page writes and few commits,
//! and the invariants they keep. Everything here is SQLite only; PostgreSQL does the plain
//! thing (see `crate::pg`).
//!
//! 1. **Integer keys** ([`keys`]). `messages` is keyed by `n`, the leading 63 bits of the
//!    message id, which grow with every id a process makes: a new row is one page write at
//!    the end of the table, and no index maps ids to rows. A message whose key is taken
//!    gets the next key after the largest, recorded in `message_keys`; a lookup by id reads
//!    `message_keys` first and always checks the id column. *Invariant*: keys grow in
//!    creation order, so `ORDER BY n` is the order messages were stored in.
//! 2. **Scan marks** ([`marks`]). `store_marks` says how far a scan over the messages in
//!    key order has got. *Invariant*: a message stored with a key at or below a mark (its
//!    id was made before a newer message was stored and scanned) is handled at once, in
//!    the inserting transaction (which reads the marks), so a late commit is never passed
//!    over.
//! 3. **Inline claims** ([`inline`]). A message stored with its first attempt begun
//!    (`Start::Attempting`) is claimed with `inline_claim = 1`, which keeps it out of the
//!    index of unpublished messages (`messages_due`) until it is written again.
//!    *Invariant*: a claim is looked up by id (renew, release, finish) or, once expired,
//!    found by the `inline_scan` scan ([`inline::recover`], run by `catch_up`); the scan
//!    stops at the first live inline claim and moves its mark up to there.
//! 4. **Related-object tail** ([`related`]). A message stored on its own keeps its related
//!    objects in its row's `related` column only; every message above the
//!    `related_indexed` mark (the tail, a few dozen) is found by reading its row, and about
//!    one message in [`related::TAIL`] (and every `catch_up`) moves the tail into
//!    `message_related`. *Invariant*: every message at or below the mark is indexed.
//! 5. **Outcome as last seen** ([`finish`]). The outcome of a message as its owner begun it
//!    is one UPDATE guarded by what the owner saw (claim, `changed_at`, state, attempts),
//!    without reading the row back, and without BEGIN and COMMIT around it for one
//!    message; if the row changed, the ordinary update runs.
//!
//! Measured with `send_bench` (single `send` published, medians of 15 rounds): the
//! related-object tail and the outcome as last seen buy about 8 % each. A mark-guarded
//! INSERT without BEGIN and COMMIT bought about 3 % and was dropped.

pub(in crate::sqlite) mod finish;
pub(in crate::sqlite) mod inline;
pub(in crate::sqlite) mod insert;
pub(in crate::sqlite) mod keys;
pub(in crate::sqlite) mod marks;
pub(in crate::sqlite) mod related;
