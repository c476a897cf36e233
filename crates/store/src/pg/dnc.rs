//! The do-not-call list and the record of recent calls per recipient (caps, dedupe).

use super::Db;
use crate::error::StoreError;
use crate::sql::micros;
use dialout_model::dnc::{DncEntry, Screen, Screened, judge};
use dialout_model::id::MessageId;
use dialout_model::message::NewMessage;
use dialout_model::phone::PhoneNumber;
use jiff::Timestamp;
use postgres::{GenericClient, Row, Transaction};

type Tx<'a, 'b> = Db<'a, Transaction<'b>>;

pub(super) fn add(db: &mut Tx<'_, '_>, entries: &[DncEntry]) -> Result<usize, StoreError> {
    let mut new = 0;
    for e in entries {
        // xmax = 0: the row was inserted, not updated.
        let row = db.query_opt(
            "INSERT INTO dnc (number, reason, until, added_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (number) DO UPDATE SET reason = EXCLUDED.reason, until = EXCLUDED.until, \
             added_at = EXCLUDED.added_at RETURNING (xmax = 0)",
            &[
                &e.number.as_str(),
                &e.reason,
                &e.until.map(micros),
                &micros(e.added_at),
            ],
        )?;
        if row.is_some_and(|r| r.get::<_, bool>(0)) {
            new += 1;
        }
    }
    Ok(new)
}

pub(super) fn remove(db: &mut Tx<'_, '_>, number: &PhoneNumber) -> Result<bool, StoreError> {
    Ok(db.execute("DELETE FROM dnc WHERE number = $1", &[&number.as_str()])? > 0)
}

fn typed(r: &Row) -> Result<DncEntry, StoreError> {
    let number: String = r.get(0);
    Ok(DncEntry {
        number: PhoneNumber::from_e164(&number)
            .map_err(|e| StoreError::corrupt(format!("do-not-call number {number:?}"), e))?,
        reason: r.get(1),
        until: r.get(2),
        added_at: r.get(3),
    })
}

pub(super) fn list<C: GenericClient>(db: &mut Db<'_, C>) -> Result<Vec<DncEntry>, StoreError> {
    let rows = db.query(
        "SELECT number, reason, until, added_at FROM dnc ORDER BY number",
        &[],
    )?;
    rows.iter().map(typed).collect()
}

pub(super) fn find<C: GenericClient>(
    db: &mut Db<'_, C>,
    numbers: &[PhoneNumber],
    now: Timestamp,
) -> Result<Vec<DncEntry>, StoreError> {
    let numbers: Vec<&str> = numbers.iter().map(|n| n.as_str()).collect();
    let rows = db.query(
        "SELECT number, reason, until, added_at FROM dnc \
         WHERE number = ANY($1) AND (until IS NULL OR until > $2)",
        &[&numbers, &now],
    )?;
    rows.iter().map(typed).collect()
}

/// Before screening: a transaction-scoped lock per recipient, taken in one order (sorted)
/// so that two batches never wait on each other; concurrent sends to one number then take
/// turns until commit, and each sees the calls the one before recorded.
pub(super) fn lock_recipients(
    db: &mut Tx<'_, '_>,
    new: &[NewMessage],
    screen: &Screen,
) -> Result<(), StoreError> {
    if !screen.records() {
        return Ok(());
    }
    let mut numbers: Vec<&str> = new.iter().map(|n| n.recipient.as_str()).collect();
    numbers.sort_unstable();
    numbers.dedup();
    for n in numbers {
        db.execute("SELECT pg_advisory_xact_lock(7283003, hashtext($1))", &[&n])?;
    }
    Ok(())
}

/// Refuses the batch ([`StoreError::Screened`]) when one of its recipients is listed: the
/// do-not-call part of [`screen`] for many messages in one query.
pub(super) fn refuse_listed(
    db: &mut Tx<'_, '_>,
    new: &[NewMessage],
    now: Timestamp,
) -> Result<(), StoreError> {
    let numbers: Vec<PhoneNumber> = new.iter().map(|n| n.recipient.clone()).collect();
    match find(db, &numbers, now)?.pop() {
        Some(e) => Err(StoreError::Screened(Screened::DoNotCall {
            number: e.number,
            reason: e.reason,
            until: e.until,
        })),
        None => Ok(()),
    }
}

/// Refuses `new` ([`StoreError::Screened`]) or records the call, inside the insert's
/// transaction, under the recipient's lock ([`lock_recipients`]).
pub(super) fn screen(
    db: &mut Tx<'_, '_>,
    new: &NewMessage,
    now: Timestamp,
    screen: &Screen,
    key: &crate::privacy::HashKey,
) -> Result<(), StoreError> {
    if screen.dnc
        && let Some(e) = find(db, std::slice::from_ref(&new.recipient), now)?.pop()
    {
        return Err(StoreError::Screened(Screened::DoNotCall {
            number: e.number,
            reason: e.reason,
            until: e.until,
        }));
    }
    if !screen.records() {
        return Ok(());
    }
    let number = new.recipient.as_str();
    // Calls of erased messages are recorded under the number's keyed hash.
    let hashed = key.hash(&new.recipient);
    let both = [number, hashed.as_str()];
    let since = dialout_model::duration::before(now, screen.limits.horizon());
    db.execute(
        "DELETE FROM recipient_calls WHERE recipient = ANY($1) AND at <= $2",
        &[&&both[..], &since],
    )?;
    let rows = db.query(
        "SELECT at, content_hash, message_id FROM recipient_calls WHERE recipient = ANY($1)",
        &[&&both[..]],
    )?;
    let calls: Vec<(Timestamp, i64, MessageId)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), MessageId::from_uuid(r.get(2))))
        .collect();
    let hash = dialout_model::dnc::content_hash(&new.content);
    if let Some(refused) = judge(&new.recipient, hash, &calls, now, screen) {
        return Err(StoreError::Screened(refused));
    }
    db.execute(
        "INSERT INTO recipient_calls (recipient, at, content_hash, message_id) VALUES ($1, $2, $3, $4)",
        &[&number, &micros(now), &hash, &new.id.as_uuid()],
    )?;
    Ok(())
}
