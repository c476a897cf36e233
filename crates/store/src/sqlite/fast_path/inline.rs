//! Inline claims: messages stored with their first attempt begun are claimed outside the
//! index of unpublished messages; a scan finds those whose sender died.

use super::super::rows::us;
use crate::error::StoreError;
use jiff::Timestamp;
use rusqlite::Connection;

/// Finds messages whose sender died holding an inline claim: they are not in the index of
/// unpublished messages, so the worker would never see them. Messages are looked at in key
/// (creation) order from the stored mark; an expired inline claim becomes an ordinary,
/// expired claim that any worker takes over (asking the backend first: the attempt is
/// unresolved). The scan stops at the first live inline claim, whose sender may still
/// finish it, and the mark moves up to there. A message stored with a key at or below the
/// mark gets an ordinary claim instead (decided atomically with the insert), so nothing
/// committed late is passed over. Returns how many claims were recovered.
pub(in crate::sqlite) fn recover(
    tx: &Connection,
    now: Timestamp,
    limit: usize,
) -> Result<usize, StoreError> {
    let mut recovered = 0;
    super::marks::scan(
        tx,
        "inline_scan",
        "inline_claim, claim_until",
        limit,
        |r| Ok((r.get::<_, bool>(2)?, r.get::<_, Option<i64>>(3)?)),
        |n, id, (inline, until)| {
            if !inline {
                return Ok(true);
            }
            if until.is_some_and(|u| u > us(now)) {
                return Ok(false);
            }
            recovered += tx
                .prepare_cached("UPDATE messages SET inline_claim = 0 WHERE n = :n")?
                .execute(rusqlite::named_params! { ":n": n })?;
            tracing::warn!(message_id = %id, "the sender stopped while publishing this message and its claim expired: a worker takes it over");
            Ok(true)
        },
    )?;
    Ok(recovered)
}
