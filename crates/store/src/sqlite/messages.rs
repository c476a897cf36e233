//! Reading messages.
use super::keys;
use super::related::{keys_sql, object_key};
use super::rows::{self, COLS, related_column, us};
use crate::error::StoreError;
use crate::message_store::MessageFilter;
use crate::message_store::Order;
use crate::plan::creation_entry;
use dialout_model::id::MessageId;
use dialout_model::message::HistoryEntry;
use dialout_model::message::Message;
use dialout_model::related::RelatedObject;
use rusqlite::Connection;

pub(super) fn list(conn: &Connection, f: &MessageFilter) -> Result<Vec<Message>, StoreError> {
    let mut sql = format!("SELECT {COLS} FROM messages WHERE 1 = 1");
    let mut params: Vec<(&str, Box<dyn rusqlite::ToSql>)> = Vec::new();
    let mut and = |clause: &str, named: Vec<(&'static str, Box<dyn rusqlite::ToSql>)>| {
        sql.push_str(" AND ");
        sql.push_str(clause);
        params.extend(named);
    };
    if let Some(s) = f.state {
        and("state = :state", vec![(":state", Box::new(s.code()))]);
    }
    if let Some(t) = &f.tag {
        and(
            "tag = :tag",
            vec![(":tag", Box::new(t.as_str().to_string()))],
        );
    }
    if let Some(b) = &f.backend {
        and(
            "backend = :backend",
            vec![(":backend", Box::new(b.clone()))],
        );
    }
    if let Some(since) = f.created_since {
        and(
            "created_at >= :since",
            vec![(":since", Box::new(us(since)))],
        );
    }
    if let Some(until) = f.created_before {
        and("created_at < :until", vec![(":until", Box::new(us(until)))]);
    }
    if let Some(r) = &f.recipient {
        and(
            "recipient = :recipient",
            vec![(":recipient", Box::new(r.clone()))],
        );
    }
    if let Some(a) = &f.answer {
        and(
            "reply IS NOT NULL AND reply ->> '$.answer' = :answer",
            vec![(":answer", Box::new(a.clone()))],
        );
    }
    if f.in_flight {
        and("is_final_state = 0 AND sent_at IS NOT NULL", vec![]);
    }
    if let Some(since) = f.sent_since {
        and(
            "sent_at >= :sent_since",
            vec![(":sent_since", Box::new(us(since)))],
        );
    }
    if let Some(before) = f.before {
        // Keys grow as messages are stored (see `keys.rs`): older is a smaller key.
        let clause = format!("n < (SELECT n FROM messages WHERE {})", keys::by_id());
        and(
            &clause,
            vec![
                (":id", Box::new(before.to_string())),
                (":key", Box::new(keys::of(before))),
            ],
        );
    }
    if let Some(r) = &f.related {
        // The key finds the candidates; the text keeps `007` apart from `7`.
        and(
            &format!("n IN ({})", keys_sql()),
            vec![
                (":kind", Box::new(r.kind.clone())),
                (":object_key", Box::new(object_key(r))),
                (":object_id", Box::new(r.id.clone())),
                (":object", Box::new(r.to_string())),
            ],
        );
    }
    sql.push_str(match f.order {
        Order::NewestFirst => " ORDER BY n DESC",
        Order::OldestSentFirst => " ORDER BY sent_at, n",
    });
    if let Some(limit) = f.limit {
        sql.push_str(" LIMIT :limit");
        params.push((":limit", Box::new(limit as i64)));
    }
    let refs: Vec<(&str, &dyn rusqlite::ToSql)> =
        params.iter().map(|(n, v)| (*n, v.as_ref())).collect();
    rows::query(conn, &sql, refs.as_slice())
}

pub(super) fn history(conn: &Connection, id: MessageId) -> Result<Vec<HistoryEntry>, StoreError> {
    let Some((created_at, stored)) = rows::history_of(conn, id)? else {
        return Ok(Vec::new());
    };
    let mut out = vec![creation_entry(created_at)];
    out.extend(rows::read_history(&stored)?);
    Ok(out)
}

/// Exactly the same set of related objects; with none given the rule cannot apply.
pub(super) fn template_used_for(
    conn: &Connection,
    slug: &str,
    related: &[RelatedObject],
) -> Result<bool, StoreError> {
    let mut wanted = related.to_vec();
    wanted.sort();
    wanted.dedup();
    let Some(first) = wanted.first() else {
        return Ok(false);
    };
    let wanted_column = related_column(&wanted)?;
    // Built once: `send_template` without duplicates asks this for every message.
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT COUNT(*) FROM messages WHERE n IN ({}) AND template_slug = :slug AND related = :related",
            keys_sql()
        )
    });
    let n: i64 = conn.prepare_cached(&SQL)?.query_row(
        rusqlite::named_params! {
            ":kind": &first.kind,
            ":object_key": object_key(first),
            ":object_id": &first.id,
            ":object": first.to_string(),
            ":slug": slug,
            ":related": wanted_column,
        },
        |r| r.get(0),
    )?;
    Ok(n > 0)
}
