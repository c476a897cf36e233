//! Storing new messages: one write transaction, one INSERT per message, placed against the
//! scan marks.
//!
//! **Idempotency keys by the index.** When the transaction has nothing to screen (no
//! do-not-call entry, no limit that records calls), a message with an idempotency key is
//! INSERTed at once and the stored message is read only when the unique index
//! `messages_idempotency` refuses the key; otherwise the key is looked up first. *Invariant*:
//! the answer is the one reading first gives (the message stored under the key, or the
//! conflict): nothing happens between the look-up and the INSERT without screening, and a
//! refused INSERT changes nothing (SQLite undoes the statement, not the transaction). A bulk
//! import of new rows saves one index search per row (about a tenth of its insert time).

use super::super::SqliteStore;
use super::super::messages::template_used_for;
use super::super::rows::{self, COLS, related_column, to_json, us};
use super::{keys, related};
use crate::error::StoreError;
use crate::message_store::Inserted;
use crate::plan::log_created;
use crate::plan::new_message_row;
use crate::plan::repeat_of;
use dialout_model::dnc::Screen;
use dialout_model::message::NewMessage;
use jiff::Timestamp;
use rusqlite::Connection;

pub(in crate::sqlite) type Claim<'a> = Option<(&'a str, Timestamp, bool)>;

impl SqliteStore {
    pub(in crate::sqlite) fn insert_impl(
        &self,
        new: &[NewMessage],
        now: Timestamp,
        claim: Claim<'_>,
        screen: Screen,
    ) -> Result<Vec<Inserted>, StoreError> {
        let inserted = self.write(|tx| {
            // A message stored on its own (what `send` stores) leaves its related objects to
            // the tail; a batch indexes them at once.
            let marks = if new.len() == 1 {
                Marks::read(tx)?
            } else {
                Marks::IndexNow(None)
            };
            // Prepared once per batch, not once per message.
            let mut st = InsertStatements::new(tx, marks)?;
            st.screen = Screening::new(tx, screen, &self.key)?;
            new.iter()
                .map(|n| insert_one(tx, &mut st, n, now, claim))
                .collect::<Result<Vec<_>, _>>()
        })?;
        self.after_insert(&inserted);
        Ok(inserted)
    }

    /// Stores messages from templates that allow no duplicates, in one transaction: a
    /// message whose template was already used for exactly its related objects (by a
    /// message stored before, or earlier in `new`) is refused and nothing is stored.
    pub(in crate::sqlite) fn insert_unique_impl(
        &self,
        new: &[NewMessage],
        now: Timestamp,
        claim: Claim<'_>,
        screen: Screen,
    ) -> Result<Vec<Inserted>, StoreError> {
        let inserted = self.write(|tx| {
            let mut st = InsertStatements::new(tx, Marks::read(tx)?)?;
            st.screen = Screening::new(tx, screen, &self.key)?;
            let mut out = Vec::with_capacity(new.len());
            for n in new {
                if let Some(found) = by_key(tx, n)? {
                    out.push(found?);
                    continue;
                }
                let slug = n.template_slug.as_deref().unwrap_or_default();
                // Inside the write transaction (BEGIN IMMEDIATE): no other writer in between.
                if template_used_for(tx, slug, &n.related)? {
                    return Err(StoreError::Duplicate {
                        slug: slug.to_string(),
                    });
                }
                out.push(insert_one(tx, &mut st, n, now, claim)?);
            }
            Ok(out)
        })?;
        self.after_insert(&inserted);
        Ok(inserted)
    }
}

impl SqliteStore {
    /// About one message in [`related::TAIL`] stored on its own moves the tail of the index
    /// of related objects into it (see [`related::moves_tail`]).
    /// The message is stored whatever happens here: a failure is only logged (lookups read
    /// the tail meanwhile, and the next move or worker pass indexes it).
    /// After the commit: the related-object tail moves on for a message stored on its own,
    /// and each new message is logged.
    fn after_insert(&self, inserted: &[Inserted]) {
        if inserted.len() == 1 {
            self.after_single_insert(inserted);
        }
        for i in inserted.iter().filter(|i| !i.existing) {
            log_created(&i.message);
        }
    }

    fn after_single_insert(&self, inserted: &[Inserted]) {
        if inserted
            .iter()
            .any(|i| !i.existing && related::moves_tail(i.message.id))
            && let Err(e) = self.write(|tx| related::index_tail(tx, 64 * related::TAIL))
        {
            tracing::warn!("indexing the related objects of recent messages failed: {e}");
        }
    }
}

/// The message already stored under `new`'s idempotency key, as the insert's answer.
fn by_key(
    conn: &Connection,
    new: &NewMessage,
) -> Result<Option<Result<Inserted, StoreError>>, StoreError> {
    let Some(key) = &new.idempotency_key else {
        return Ok(None);
    };
    let sql = format!("SELECT {COLS} FROM messages WHERE idempotency_key = :key");
    Ok(
        rows::query(conn, &sql, rusqlite::named_params! { ":key": key })?
            .pop()
            .map(|existing| repeat_of(existing, new, key)),
    )
}

/// Where a new message stands against the two scan marks (see `related.rs` and
/// `inline::recover`).
enum Marks {
    /// Read in this write transaction: `(inline_scan, related_indexed)`.
    Read(i64, i64),
    /// A batch: related objects are indexed at once; the inline mark is read when first
    /// needed.
    IndexNow(Option<i64>),
}

impl Marks {
    fn read(tx: &Connection) -> Result<Marks, StoreError> {
        let (inline, related) = tx
            .prepare_cached(
                "SELECT (SELECT n FROM store_marks WHERE name = 'inline_scan'), \
                 (SELECT n FROM store_marks WHERE name = 'related_indexed')",
            )?
            .query_row([], |r| {
                Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?))
            })?;
        Ok(Marks::Read(inline.unwrap_or(-1), related.unwrap_or(-1)))
    }
}

const INSERT: &str = "INSERT INTO messages (n, id, created_at, changed_at, recipient, content, \
     template_slug, template_id, state, backend, extra_data, extra_sender_data, tag, is_final_state, \
     priority, predictive, attempts, not_before, idempotency_key, check_failures, resent_from, \
     attempt_unresolved, related, claim_owner, claim_until, inline_claim, history, time_zone, \
     interactive) \
     VALUES (:n, :id, :created_at, :created_at, :recipient, :content, :template_slug, :template_id, \
     :state, :backend, :extra_data, '{}', :tag, 0, :priority, :predictive, :attempts, \
     :not_before, :idempotency_key, 0, :resent_from, :unresolved, :related, :claim_owner, \
     :claim_until, :inline_claim, '[]', :time_zone, :interactive)";

/// The prepared statements of an insert.
struct InsertStatements<'t> {
    message: rusqlite::CachedStatement<'t>,
    marks: Marks,
    screen: Option<Screening>,
}

/// The checks of [`Screen`] for this transaction; None when there are none.
struct Screening {
    screen: Screen,
    /// Whether the do-not-call list has any entry (asked once per transaction).
    listed: bool,
    /// Hashes the recipient: calls of erased messages are recorded under the hash.
    key: crate::privacy::HashKey,
}

impl Screening {
    fn new(
        tx: &Connection,
        screen: Screen,
        key: &crate::privacy::HashKey,
    ) -> Result<Option<Self>, StoreError> {
        if !screen.any() {
            return Ok(None);
        }
        let listed = screen.dnc && super::super::dnc::any(tx)?;
        Ok(Some(Screening {
            screen,
            listed,
            key: key.clone(),
        }))
    }

    /// Whether screening a message would read or write anything.
    fn acts(&self) -> bool {
        (self.screen.dnc && self.listed) || self.screen.records()
    }
}

/// The unique index of idempotency keys refused the row.
fn key_taken(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, Some(text))
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            && text.contains("messages.idempotency_key"))
}

impl<'t> InsertStatements<'t> {
    fn new(tx: &'t Connection, marks: Marks) -> Result<Self, StoreError> {
        Ok(InsertStatements {
            message: tx.prepare_cached(INSERT)?,
            marks,
            screen: None,
        })
    }
}

fn insert_one(
    tx: &Connection,
    st: &mut InsertStatements<'_>,
    new: &NewMessage,
    now: Timestamp,
    claim: Claim<'_>,
) -> Result<Inserted, StoreError> {
    let screening = st.screen.as_ref().filter(|s| s.acts());
    // Without screening, the unique index finds a stored key (see the module's comment).
    let key_first = screening.is_some();
    if key_first && let Some(found) = by_key(tx, new)? {
        return found;
    }
    if let Some(s) = screening {
        super::super::dnc::screen(tx, new, now, &s.screen, s.listed, &s.key)?;
    }
    let mut m = new_message_row(new, now);
    let (id, own) = (m.id.to_string(), keys::of(m.id));
    let begun = claim.is_some_and(|c| c.2);
    if begun {
        m.attempts = 1;
        m.attempt_unresolved = true;
    }
    // Begun at once, a message gets an inline claim, kept out of the due index, unless
    // the dead-sender scan already passed its key (see `inline::recover`). A
    // message stored on its own reaches the index of related objects later, unless the
    // indexer already passed its key (see `related`).
    if let Marks::IndexNow(mark @ None) = &mut st.marks
        && begun
    {
        *mark = Some(super::marks::get(tx, "inline_scan")?);
    }
    let place = |n: i64| match &st.marks {
        Marks::Read(inline, related) => (begun && n > *inline, n <= *related),
        Marks::IndexNow(mark) => (begun && mark.is_some_and(|m| n > m), true),
    };
    let (json, resent_from) = (
        to_json(&m.extra_data)?,
        m.resent_from.map(|r| r.to_string()),
    );
    let related_text = related_column(&m.related)?;
    let interactive = rows::interactive_column(&m.interactive)?;
    let mut n = own;
    let index_related = loop {
        let (inline, index_related) = place(n);
        let (created_at, state, tag) = (
            us(m.created_at),
            m.state.code(),
            m.tag.as_ref().map(|t| t.as_str()),
        );
        let (priority, not_before) = (m.priority.get(), m.not_before.map(us));
        let (owner, until) = (claim.map(|c| c.0), claim.map(|c| us(c.1)));
        let result = rows::execute_in_order(
            &mut st.message,
            &[
                (":n", &n),
                (":id", &id),
                (":created_at", &created_at),
                (":recipient", &m.recipient.as_str()),
                (":content", &m.content),
                (":template_slug", &m.template_slug),
                (":template_id", &m.template_id),
                (":state", &state),
                (":backend", &m.backend),
                (":extra_data", &json),
                (":tag", &tag),
                (":priority", &priority),
                (":predictive", &m.predictive),
                (":attempts", &m.attempts),
                (":not_before", &not_before),
                (":idempotency_key", &m.idempotency_key),
                (":resent_from", &resent_from),
                (":unresolved", &m.attempt_unresolved),
                (":related", &related_text),
                (":claim_owner", &owner),
                (":claim_until", &until),
                (":inline_claim", &inline),
                (":time_zone", &m.time_zone),
                (":interactive", &interactive),
            ],
        );
        match result {
            Ok(_) => break index_related,
            // Another message has this key: take the next free one.
            Err(StoreError::Sqlite(e)) if keys::taken(&e) && n == own => {
                n = keys::displaced(tx, &id, own)?
            }
            Err(StoreError::Sqlite(e)) if !key_first && key_taken(&e) => {
                return match by_key(tx, new)? {
                    Some(found) => found,
                    None => Err(StoreError::Sqlite(e)),
                };
            }
            Err(e) => return Err(e),
        }
    };
    if index_related {
        related::index(tx, n, &m.related)?;
    }
    Ok(Inserted {
        message: m,
        existing: false,
    })
}
