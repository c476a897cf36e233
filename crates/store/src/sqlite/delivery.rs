//! Claims, attempts and status updates.
use super::keys;
use super::outbox::Outbox;
use super::rows::{self, COLS, us};
use crate::delivery_store::Cursor;
use crate::error::StoreError;
use crate::plan::Change;
use crate::plan::plan_change;
use crate::sql::unpublished_sql;
use dialout_model::id::MessageId;
use dialout_model::message::HistoryEntry;
use dialout_model::message::Message;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, named_params};
use std::sync::LazyLock;

pub(super) fn claim_due(
    tx: &Connection,
    owner: &str,
    now: Timestamp,
    lease_until: Timestamp,
    limit: usize,
    backend: Option<&str>,
) -> Result<Vec<Message>, StoreError> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "UPDATE messages SET claim_owner = :owner, claim_until = :until WHERE n IN (SELECT n FROM messages \
             WHERE state IN {} AND inline_claim = 0 AND is_final_state = 0 \
             AND (not_before IS NULL OR not_before <= :now) AND (next_attempt_at IS NULL OR next_attempt_at <= :now) \
             AND (claim_owner IS NULL OR claim_until <= :now) AND (:backend IS NULL OR backend = :backend) \
             ORDER BY priority, created_at, n LIMIT :limit) RETURNING {COLS}",
            unpublished_sql()
        )
    });
    let mut out = rows::query(
        tx,
        &SQL,
        named_params! {
            ":owner": owner,
            ":until": us(lease_until),
            ":now": us(now),
            ":limit": limit as i64,
            ":backend": backend,
        },
    )?;
    out.sort_by_key(|m| (m.priority, m.created_at, m.id));
    Ok(out)
}

/// Claims these messages if free, or (`held`) renews `owner`'s claims on them.
pub(super) fn claim_ids(
    tx: &Connection,
    ids: &[MessageId],
    held: bool,
    owner: &str,
    now: Timestamp,
    lease_until: Timestamp,
) -> Result<Vec<Message>, StoreError> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "UPDATE messages SET claim_owner = :owner, claim_until = :until, inline_claim = 0 \
             WHERE {} AND state IN {} AND is_final_state = 0 \
             AND CASE WHEN :held THEN claim_owner = :owner \
             ELSE claim_owner IS NULL OR claim_until <= :now END RETURNING {COLS}",
            keys::by_id(),
            unpublished_sql()
        )
    });
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.extend(rows::query(
            tx,
            &SQL,
            named_params! {
                ":id": id.to_string(),
                ":key": keys::of(*id),
                ":owner": owner,
                ":until": us(lease_until),
                ":now": us(now),
                ":held": held,
            },
        )?);
    }
    Ok(out)
}

pub(super) fn begin_attempt(
    tx: &Connection,
    id: MessageId,
    owner: &str,
    now: Timestamp,
) -> Result<Option<Message>, StoreError> {
    // Built once: the worker runs it for every message it publishes.
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "UPDATE messages SET attempts = attempts + 1, attempt_unresolved = 1, changed_at = :now \
             WHERE {} AND claim_owner = :owner RETURNING {COLS}",
            keys::by_id()
        )
    });
    let params = named_params! {
        ":id": id.to_string(),
        ":key": keys::of(id),
        ":owner": owner,
        ":now": us(crate::sql::micros(now)),
    };
    Ok(rows::query(tx, &SQL, params)?.pop())
}

/// `finish` (with the owner, which must hold the claim; the claim is released) and `apply`.
pub(super) fn update(
    tx: &Connection,
    id: MessageId,
    owner: Option<&str>,
    change: &Change,
    now: Timestamp,
    outbox: Option<&mut Outbox>,
) -> Result<(Option<Message>, Vec<HistoryEntry>), StoreError> {
    let Some((old, holder)) = rows::find_for_update(tx, id)? else {
        return Ok((None, Vec::new()));
    };
    if owner.is_some() && holder.as_deref() != owner {
        return Ok((None, Vec::new()));
    }
    let plan = plan_change(&old, change, now);
    if plan.changed || owner.is_some() || !plan.history.is_empty() {
        let history = rows::history_rows(&plan.history)?;
        let hooks = if outbox.is_some() {
            rows::Hooks::Count
        } else {
            rows::Hooks::Off
        };
        let (_, len) = rows::update(
            tx,
            &plan.message,
            history.as_deref(),
            owner.is_some(),
            None,
            hooks,
        )?;
        if let Some(outbox) = outbox {
            let became_final = plan.message.is_final_state && !old.is_final_state;
            outbox.add(&plan.message, &plan.history, len, became_final);
        }
    }
    Ok((Some(plan.message), plan.history))
}

/// Gives back `owner`'s claims on these messages; an inline claim too, after which the
/// message is back in the index of unpublished messages for any worker.
pub(super) fn release(
    tx: &Connection,
    owner: &str,
    ids: &[MessageId],
) -> Result<usize, StoreError> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "UPDATE messages SET claim_owner = NULL, claim_until = NULL, inline_claim = 0 \
             WHERE {} AND claim_owner = :owner",
            keys::by_id()
        )
    });
    let mut stmt = tx.prepare_cached(&SQL)?;
    let mut n = 0;
    for id in ids {
        n += stmt.execute(named_params! {
            ":id": id.to_string(),
            ":key": keys::of(*id),
            ":owner": owner,
        })?;
    }
    Ok(n)
}

pub(super) fn in_flight(conn: &Connection, backend: &str) -> Result<usize, StoreError> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM messages WHERE backend = :backend AND is_final_state = 0 AND sent_at IS NOT NULL",
        )?
        .query_row(named_params! { ":backend": backend }, |r| r.get(0))?;
    Ok(n as usize)
}

pub(super) fn cursor(conn: &Connection, backend: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT cursor FROM backend_cursors WHERE backend = :backend")?
        .query_row(named_params! { ":backend": backend }, |r| r.get(0))
        .optional()?)
}

pub(super) fn set_cursor(
    tx: &Connection,
    cursor: Cursor<'_>,
    now: Timestamp,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO backend_cursors (backend, cursor, changed_at) VALUES (:backend, :cursor, :now) \
         ON CONFLICT (backend) DO UPDATE SET cursor = excluded.cursor, changed_at = excluded.changed_at",
    )?
    .execute(named_params! {
        ":backend": cursor.backend,
        ":cursor": cursor.value,
        ":now": us(now),
    })?;
    Ok(())
}
