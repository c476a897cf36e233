//! Reading and writing message rows.
use super::keys;
use crate::error::StoreError;
use dialout_model::id::MessageId;
use dialout_model::interactive::{Interactive, Reply};
use dialout_model::message::HistoryEntry;
use dialout_model::message::JsonMap;
use dialout_model::message::Message;
use dialout_model::message::Priority;
use dialout_model::message::Tag;
use dialout_model::phone::PhoneNumber;
use dialout_model::related::RelatedObject;
use dialout_model::state::State;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, named_params};
use std::sync::LazyLock;

pub(super) const COLS: &str = "id, created_at, changed_at, sent_at, recipient, content, template_slug, \
    template_id, state, backend, error, extra_data, extra_sender_data, tag, is_final_state, priority, \
    predictive, attempts, next_attempt_at, not_before, idempotency_key, check_failures, resent_from, \
    attempt_unresolved, related, time_zone, interactive, reply";

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt(what, e)
}

pub(super) fn ts(us: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(us).map_err(|e| corrupt("time", e))
}

fn opt_ts(us: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    us.map(ts).transpose()
}

pub(super) fn us(t: Timestamp) -> i64 {
    t.as_microsecond()
}

pub(super) fn state(code: i64) -> Result<State, StoreError> {
    State::from_code(code).ok_or_else(|| corrupt("state", code))
}

fn json(text: &str) -> Result<JsonMap, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt("JSON data", e))
}

pub(super) fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| corrupt("JSON data", e))
}

/// The `related` column: a JSON array of `TYPE:ID`, NULL when there are none.
pub(super) fn related_column(related: &[RelatedObject]) -> Result<Option<String>, StoreError> {
    if related.is_empty() {
        return Ok(None);
    }
    to_json(&related.iter().map(|r| r.to_string()).collect::<Vec<_>>()).map(Some)
}

fn read_related(text: Option<String>) -> Result<Vec<RelatedObject>, StoreError> {
    match text {
        Some(text) => read_related_column(&text),
        None => Ok(Vec::new()),
    }
}

/// The objects of a `related` column.
fn read_related_column(text: &str) -> Result<Vec<RelatedObject>, StoreError> {
    let items: Vec<String> = serde_json::from_str(text).map_err(|e| corrupt("related", e))?;
    items
        .iter()
        .map(|r| r.parse().map_err(|e| corrupt("related", e)))
        .collect()
}

/// A row selected with [`COLS`] first.
pub(super) fn read(row: &Row<'_>) -> Result<Message, StoreError> {
    let id: String = row.get(0)?;
    let recipient: String = row.get(4)?;
    let tag: Option<String> = row.get(13)?;
    let resent_from: Option<String> = row.get(22)?;
    Ok(Message {
        id: id.parse().map_err(|e| corrupt("id", e))?,
        created_at: ts(row.get(1)?)?,
        changed_at: ts(row.get(2)?)?,
        sent_at: opt_ts(row.get(3)?)?,
        recipient: PhoneNumber::from_stored(&recipient).map_err(|e| corrupt("recipient", e))?,
        content: row.get(5)?,
        template_slug: row.get(6)?,
        template_id: row.get(7)?,
        state: state(row.get(8)?)?,
        backend: row.get(9)?,
        error: row.get(10)?,
        extra_data: json(&row.get::<_, String>(11)?)?,
        extra_sender_data: json(&row.get::<_, String>(12)?)?,
        tag: tag
            .map(|t| Tag::new(&t))
            .transpose()
            .map_err(|e| corrupt("tag", e))?,
        is_final_state: row.get(14)?,
        priority: Priority::new(row.get(15)?).map_err(|e| corrupt("priority", e))?,
        predictive: row.get(16)?,
        attempts: row.get(17)?,
        next_attempt_at: opt_ts(row.get(18)?)?,
        not_before: opt_ts(row.get(19)?)?,
        idempotency_key: row.get(20)?,
        check_failures: row.get(21)?,
        resent_from: resent_from
            .map(|r| r.parse())
            .transpose()
            .map_err(|e| corrupt("resent_from", e))?,
        attempt_unresolved: row.get(23)?,
        related: read_related(row.get(24)?)?,
        time_zone: row.get(25)?,
        interactive: json_or_default(row.get(26)?, "interactive")?,
        reply: json_or_default(row.get(27)?, "reply")?,
    })
}

/// A JSON column that is NULL for its type's default.
fn json_or_default<T: serde::de::DeserializeOwned + Default>(
    text: Option<String>,
    what: &str,
) -> Result<T, StoreError> {
    match text {
        Some(t) => serde_json::from_str(&t).map_err(|e| corrupt(what, e)),
        None => Ok(T::default()),
    }
}

/// The `interactive` column: NULL for a plain call.
pub(super) fn interactive_column(i: &Interactive) -> Result<Option<String>, StoreError> {
    if i.is_plain() {
        return Ok(None);
    }
    to_json(i).map(Some)
}

/// The `reply` column: NULL before anything came back.
pub(super) fn reply_column(r: &Reply) -> Result<Option<String>, StoreError> {
    if *r == Reply::default() {
        return Ok(None);
    }
    to_json(r).map(Some)
}

/// Runs a query selecting [`COLS`].
pub(super) fn query(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Message>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(read(row)?);
    }
    Ok(out)
}

pub(super) fn find(conn: &Connection, id: MessageId) -> Result<Option<Message>, StoreError> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| format!("SELECT {COLS} FROM messages WHERE {}", keys::by_id()));
    Ok(query(
        conn,
        &SQL,
        named_params! { ":id": id.to_string(), ":key": keys::of(id) },
    )?
    .pop())
}

/// A message with its claim holder, for an update.
pub(super) fn find_for_update(
    conn: &Connection,
    id: MessageId,
) -> Result<Option<(Message, Option<String>)>, StoreError> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {COLS}, claim_owner FROM messages WHERE {}",
            keys::by_id()
        )
    });
    let mut stmt = conn.prepare_cached(&SQL)?;
    let mut rows = stmt.query(named_params! { ":id": id.to_string(), ":key": keys::of(id) })?;
    match rows.next()? {
        Some(row) => Ok(Some((read(row)?, row.get(28)?))),
        None => Ok(None),
    }
}

/// One entry of the `history` column (a JSON array): states as codes, time in microseconds.
#[derive(serde::Serialize, serde::Deserialize)]
struct HistoryRow {
    at: i64,
    from: Option<i64>,
    to: i64,
    reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reply: Option<Reply>,
}

/// New entries as a JSON array for [`update`] to append to the `history` column; None
/// when there are none.
pub(super) fn history_rows(entries: &[HistoryEntry]) -> Result<Option<String>, StoreError> {
    if entries.is_empty() {
        return Ok(None);
    }
    let rows: Vec<HistoryRow> = entries
        .iter()
        .map(|h| HistoryRow {
            at: us(h.at),
            from: h.from.map(|s| i64::from(s.code())),
            to: i64::from(h.to.code()),
            reason: h.reason.clone(),
            reply: (h.reply != Reply::default()).then(|| h.reply.clone()),
        })
        .collect();
    to_json(&rows).map(Some)
}

/// The entries of a `history` column.
pub(super) fn read_history(stored: &str) -> Result<Vec<HistoryEntry>, StoreError> {
    let rows: Vec<HistoryRow> = serde_json::from_str(stored).map_err(|e| corrupt("history", e))?;
    rows.into_iter()
        .map(|r| {
            Ok(HistoryEntry {
                at: ts(r.at)?,
                from: r.from.map(state).transpose()?,
                to: state(r.to)?,
                reason: r.reason,
                reply: r.reply.unwrap_or_default(),
            })
        })
        .collect()
}

/// What [`update`] does about webhooks (see `outbox.rs`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Hooks {
    /// The transaction has no active endpoint: nothing.
    Off,
    /// Write nothing if an endpoint is active (a write outside a transaction: its caller
    /// then takes the transactional path).
    Guard,
    /// Return the history's length after the update, for the outbox.
    Count,
}

/// Writes the mutable columns of `m`, releasing its claim when `release` is set, or when
/// the message is no longer unpublished (a claim only ever holds unpublished messages).
/// Any inline claim becomes an ordinary one: the message is back in the index of
/// unpublished messages whenever it is unpublished. `new_history` (from [`history_rows`])
/// is appended to the stored array in SQL, so a long history is never read back for it.
/// With `expected` (the claim owner and the row as the caller last saw it), nothing is
/// written unless the stored row is still that one. Returns the number of rows written and,
/// with [`Hooks::Count`], the history's length after the update.
pub(super) fn update(
    conn: &Connection,
    m: &Message,
    new_history: Option<&str>,
    release: bool,
    expected: Option<(&str, &Message)>,
    hooks: Hooks,
) -> Result<(usize, i64), StoreError> {
    // Both arrays are compact serde_json output: `[a]` and `[b,c]` make `[a,b,c]`.
    static SET: LazyLock<String> = LazyLock::new(|| {
        format!(
            "UPDATE messages SET changed_at = :changed_at, sent_at = :sent_at, state = :state, \
             error = :error, extra_sender_data = :sender_data, is_final_state = :is_final, \
             attempts = :attempts, next_attempt_at = :next_attempt_at, \
             check_failures = :check_failures, attempt_unresolved = :unresolved, reply = :reply, \
             inline_claim = 0, \
             claim_owner = CASE WHEN :keep_claim THEN claim_owner END, \
             claim_until = CASE WHEN :keep_claim THEN claim_until END, \
             history = CASE WHEN :history IS NULL THEN history WHEN history = '[]' THEN :history \
             ELSE substr(history, 1, length(history) - 1) || ',' || substr(:history, 2) END \
             WHERE {}",
            keys::by_id()
        )
    });
    static GUARDED: LazyLock<String> = LazyLock::new(|| {
        format!(
            "{} AND claim_owner IS :owner AND changed_at = :old_changed_at AND state = :old_state \
             AND attempts = :old_attempts AND is_final_state = 0",
            *SET
        )
    });
    static NO_HOOKS: &str = " AND NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE active = 1)";
    static SET_GUARD: LazyLock<String> = LazyLock::new(|| format!("{}{NO_HOOKS}", *SET));
    static GUARDED_GUARD: LazyLock<String> = LazyLock::new(|| format!("{}{NO_HOOKS}", *GUARDED));
    let sql: &str = match (expected.is_some(), hooks == Hooks::Guard) {
        (false, false) => &SET,
        (true, false) => &GUARDED,
        (false, true) => &SET_GUARD,
        (true, true) => &GUARDED_GUARD,
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let (id, key, changed_at, sender_data) = (
        m.id.to_string(),
        keys::of(m.id),
        us(m.changed_at),
        to_json(&m.extra_sender_data)?,
    );
    let (sent_at, state, next) = (m.sent_at.map(us), m.state.code(), m.next_attempt_at.map(us));
    let reply = reply_column(&m.reply)?;
    let keep_claim = !release && m.state.is_unpublished() && !m.is_final_state;
    let mut params: Vec<(&str, &dyn rusqlite::ToSql)> = vec![
        (":changed_at", &changed_at),
        (":sent_at", &sent_at),
        (":state", &state),
        (":error", &m.error),
        (":sender_data", &sender_data),
        (":is_final", &m.is_final_state),
        (":attempts", &m.attempts),
        (":next_attempt_at", &next),
        (":check_failures", &m.check_failures),
        (":unresolved", &m.attempt_unresolved),
        (":reply", &reply),
        (":keep_claim", &keep_claim),
        (":history", &new_history),
        (":id", &id),
        (":key", &key),
    ];
    let old =
        expected.map(|(owner, old)| (owner, us(old.changed_at), old.state.code(), old.attempts));
    if let Some((owner, changed, state, attempts)) = &old {
        params.extend([
            (":owner", owner as &dyn rusqlite::ToSql),
            (":old_changed_at", changed),
            (":old_state", state),
            (":old_attempts", attempts),
        ]);
    }
    let written = execute_in_order(&mut stmt, &params)?;
    if hooks != Hooks::Count || written == 0 {
        return Ok((written, 0));
    }
    // A RETURNING clause here cost the worker about 15 %: SQLite runs it as a trigger.
    static LEN: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT json_array_length(history) FROM messages WHERE {}",
            keys::by_id()
        )
    });
    let len = conn
        .prepare_cached(&LEN)?
        .query_row(named_params! { ":id": &id, ":key": key }, |r| r.get(0))?;
    Ok((written, len))
}

/// Runs a statement with named parameters bound by position: `params` lists every name in
/// the order it first appears in the SQL (checked in debug builds, so by every test).
/// Binding by name looks each name up on every run, which cost the worker about 8 % on
/// the two statements every message runs (its insert and its update).
pub(super) fn execute_in_order(
    stmt: &mut rusqlite::Statement<'_>,
    params: &[(&str, &dyn rusqlite::ToSql)],
) -> Result<usize, StoreError> {
    debug_assert_eq!(stmt.parameter_count(), params.len());
    for (i, (name, value)) in params.iter().enumerate() {
        debug_assert_eq!(stmt.parameter_name(i + 1), Some(*name));
        stmt.raw_bind_parameter(i + 1, value)?;
    }
    Ok(stmt.raw_execute()?)
}

/// The creation time and stored history of a message.
pub(super) fn history_of(
    conn: &Connection,
    id: MessageId,
) -> Result<Option<(Timestamp, String)>, StoreError> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT created_at, history FROM messages WHERE {}",
            keys::by_id()
        )
    });
    let found: Option<(i64, String)> = conn
        .prepare_cached(&SQL)?
        .query_row(
            named_params! { ":id": id.to_string(), ":key": keys::of(id) },
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    found.map(|(at, h)| Ok((ts(at)?, h))).transpose()
}
