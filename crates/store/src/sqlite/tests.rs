//! Tests of SQLite's own machinery: schema, scan marks, inline claims, the related-object
//! tail. What both stores do is tested by the store suite (`tests/store_suite.rs`).
use crate::delivery_store::Claimable;
use crate::error::StoreError;
use crate::message_store::InsertMode;
use crate::message_store::MessageFilter;
use crate::plan::Change;
use crate::store::Store;
use dialout_model::id::MessageId;
use dialout_model::message::JsonMap;
use dialout_model::message::Message;
use dialout_model::message::NewMessage;
use dialout_model::phone::PhoneNumber;
use dialout_model::related::RelatedObject;
use dialout_model::state::State;
use jiff::Timestamp;
use std::sync::Arc;

const QUEUED: InsertMode<'static> = InsertMode::QUEUED;

struct TestDb {
    store: Arc<dyn Store>,
    url: String,
    _dir: tempfile::TempDir,
}

fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let store = crate::open::open(&url).expect("open sqlite store");
    TestDb {
        store,
        url,
        _dir: dir,
    }
}

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn new_message(content: &str) -> NewMessage {
    let phone = PhoneNumber::parse("+420777123456", Some("CZ")).expect("valid test number");
    NewMessage::new(phone, content, "dummy")
}

fn related(s: &str) -> RelatedObject {
    s.parse().expect("valid related object")
}

fn due(limit: usize, backend: Option<&str>) -> Claimable<'_> {
    Claimable::Due {
        limit,
        backend,
        pace: dialout_model::pace::Pace::NONE,
    }
}

fn finish(
    s: &dyn Store,
    id: MessageId,
    owner: &str,
    change: &Change,
    now: Timestamp,
) -> Result<Option<Message>, StoreError> {
    Ok(s.finish(owner, &[(id.into(), change.clone())], now)?
        .pop()
        .flatten())
}

fn apply(
    s: &dyn Store,
    id: MessageId,
    change: &Change,
    now: Timestamp,
) -> Result<Option<Message>, StoreError> {
    Ok(s.apply(&[(id, change.clone())], None, now)?.pop().flatten())
}

fn unique(s: &dyn Store, new: &NewMessage, now: Timestamp) -> Result<(), StoreError> {
    let mode = QUEUED.unique_per_template(true);
    s.insert(std::slice::from_ref(new), mode, now).map(drop)
}

fn accepted(state: State, reason: &str) -> Change {
    Change::Accepted {
        state,
        is_final: state.is_final_by_default(),
        sender_data: JsonMap::new(),
        reason: reason.into(),
    }
}

fn cancelled(reason: &str) -> Change {
    Change::Cancelled {
        reason: reason.into(),
    }
}

#[test]
fn sqlite_reopen_keeps_data_and_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("x.db").display());
    let n = new_message("persist");
    crate::open::open(&url)
        .unwrap()
        .insert(std::slice::from_ref(&n), QUEUED, t(0))
        .unwrap();
    let again = crate::open::open(&url).unwrap();
    assert_eq!(again.message(n.id).unwrap().unwrap().content, "persist");
    let conn = rusqlite::Connection::open(dir.path().join("x.db")).unwrap();
    let v: i64 = conn
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert!(v >= 1);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    use std::os::unix::fs::PermissionsExt;
    let perms = std::fs::metadata(dir.path().join("x.db"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(perms & 0o077, 0, "database readable by its owner only");
}

/// SQLite keeps claims taken with `Start::Attempting` out of its index of unpublished
/// messages and finds those of a dead sender by scanning messages in id order from a mark.
#[test]
fn sqlite_inline_claim_scan_stops_at_a_live_claim_and_misses_no_late_insert() {
    let db = sqlite();
    let s = &db.store;
    let live = new_message("live");
    let dead = new_message("dead");
    s.insert(
        std::slice::from_ref(&live),
        InsertMode::attempting("alive", t(60)),
        t(0),
    )
    .unwrap();
    s.insert(
        std::slice::from_ref(&dead),
        InsertMode::attempting("dead", t(5)),
        t(0),
    )
    .unwrap();
    // The dead one comes after a live claim: not looked at yet.
    assert_eq!(s.catch_up(t(10), 1000).unwrap(), 0);
    assert!(
        s.claim("w", due(10, None), t(10), t(70))
            .unwrap()
            .is_empty()
    );
    finish(
        &**s,
        live.id,
        "alive",
        &accepted(State::Debug, "dummy"),
        t(11),
    )
    .unwrap()
    .unwrap();
    assert_eq!(s.catch_up(t(12), 1000).unwrap(), 1);
    let taken = s.claim("w", due(10, None), t(12), t(70)).unwrap();
    assert_eq!(
        taken.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![dead.id]
    );
    s.release("w", &[dead.id]).unwrap();

    // An id made before the scan passed a newer message, stored after it: the insert sees
    // the mark and takes an ordinary claim, which a worker finds without any scan.
    let early = new_message("validated early, stored late");
    let newer = new_message("newer");
    s.insert(std::slice::from_ref(&newer), QUEUED, t(20))
        .unwrap();
    s.catch_up(t(21), 1000).unwrap();
    assert_eq!(mark(&db.url, "inline_scan"), row_key(&db.url, newer.id));
    s.insert(
        std::slice::from_ref(&early),
        InsertMode::attempting("dead too", t(25)),
        t(22),
    )
    .unwrap();
    let taken: Vec<_> = s
        .claim("w", due(10, None), t(30), t(90))
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert!(taken.contains(&early.id), "{taken:?}");
}

fn mark(url: &str, name: &str) -> i64 {
    let path = url.strip_prefix("sqlite://").unwrap();
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row("SELECT n FROM store_marks WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .unwrap()
}

/// The SQLite row key (`messages.n`) of a message.
fn row_key(url: &str, id: MessageId) -> i64 {
    let path = url.strip_prefix("sqlite://").unwrap();
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row(
            "SELECT n FROM messages WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .unwrap()
}

fn related_rows(url: &str) -> i64 {
    let path = url.strip_prefix("sqlite://").unwrap();
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM message_related", [], |r| r.get(0))
        .unwrap()
}

/// SQLite indexes the related objects of messages stored one by one a few dozen messages
/// later; until then they are found in the messages themselves, so a lookup never misses.
#[test]
fn sqlite_related_objects_of_single_messages_are_found_before_and_after_indexing() {
    let db = sqlite();
    let s = &db.store;
    let find = |r: &str| {
        let f = MessageFilter {
            related: Some(related(r)),
            ..Default::default()
        };
        s.messages(&f)
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect::<Vec<_>>()
    };
    // About one message in 64 (by the random low bits of its id) moves the tail into the
    // index; here message 99 does, and no other.
    let moves = |m: &NewMessage| m.id.as_uuid().as_u128().is_multiple_of(64);
    let mut ids = Vec::new();
    for i in 0..150 {
        let mut m = new_message("x");
        while moves(&m) != (i == 99) {
            m.id = MessageId::new();
        }
        m.related = vec![related(&format!("order:{i}")), related("batch:b")];
        m.template_slug = Some("t".into());
        s.insert(std::slice::from_ref(&m), QUEUED, t(i)).unwrap();
        ids.push(m.id);
        if i == 9 {
            assert_eq!(related_rows(&db.url), 0, "not indexed yet");
            assert_eq!(find("order:3"), vec![ids[3]]);
        }
    }
    assert_eq!(related_rows(&db.url), 200, "100 indexed, a tail of 50 left");
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(find(&format!("order:{i}")), vec![*id], "order:{i}");
    }
    assert_eq!(find("batch:b").len(), 150, "each once, indexed or not");
    for i in [149, 0] {
        let mut again = new_message("x");
        again.related = vec![related(&format!("order:{i}")), related("batch:b")];
        again.template_slug = Some("t".into());
        assert!(
            matches!(
                unique(&**s, &again, t(160)),
                Err(StoreError::Duplicate { .. })
            ),
            "order:{i}"
        );
    }
    s.catch_up(t(200), 1000).unwrap();
    assert_eq!(
        related_rows(&db.url),
        300,
        "the worker's pass indexes the tail"
    );
    assert_eq!(find("batch:b").len(), 150);

    // An id made before the indexer passed a newer message, stored after it: indexed at
    // once, since the lookup reads only the messages above the mark.
    let mut early = new_message("validated early, stored late");
    early.related = vec![related("order:late")];
    s.insert(&[new_message("newer")], QUEUED, t(300)).unwrap();
    s.catch_up(t(301), 1000).unwrap();
    s.insert(std::slice::from_ref(&early), QUEUED, t(302))
        .unwrap();
    assert_eq!(related_rows(&db.url), 301);
    assert_eq!(find("order:late"), vec![early.id]);
    s.catch_up(t(303), 1000).unwrap();
    assert_eq!(related_rows(&db.url), 301);
    assert_eq!(find("order:late"), vec![early.id]);
    assert_eq!(find("batch:b").len(), 150);

    // The indexer reads ids as the insert does: `007` is the number 7 with its own text,
    // and an id may hold `:`.
    let mut odd = new_message("odd ids");
    odd.related = vec![
        related("order:007"),
        related("url:http://x"),
        related("n:-12"),
    ];
    s.insert(std::slice::from_ref(&odd), QUEUED, t(400))
        .unwrap();
    let before = related_rows(&db.url);
    s.catch_up(t(401), 1000).unwrap();
    assert_eq!(related_rows(&db.url), before + 3);
    for r in ["order:007", "url:http://x", "n:-12"] {
        assert_eq!(find(r), vec![odd.id], "{r}");
    }
    assert_eq!(find("order:7"), vec![ids[7]], "not order:007");
    assert!(find("n:-012").is_empty());
    let key: i64 = rusqlite::Connection::open(db.url.strip_prefix("sqlite://").unwrap())
        .unwrap()
        .query_row(
            "SELECT object_key FROM message_related WHERE kind = 'order' AND object_id = '007'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(key, 7, "a numeric id is keyed by its number");
}

/// A version 1 database (history in its own table, related objects in two b-trees) keeps
/// everything through the migration to version 2.
#[test]
fn sqlite_version_1_database_migrates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(include_str!("../../tests/data/sqlite_schema_v1.sql"))
        .unwrap();
    let id = MessageId::new().to_string();
    conn.execute(
        "INSERT INTO messages (id, created_at, changed_at, recipient, content, state, backend, extra_data, \
         extra_sender_data, is_final_state, priority, predictive, attempts, check_failures, attempt_unresolved, \
         related, history_len) VALUES (?1, 1800000000000000, 1800000001000000, '+420777123456', 'old', 77, \
         'dummy', '{}', '{}', 1, 3, 0, 1, 0, 0, '[\"order:042\",\"ticket:ab-1\"]', 1)",
        [&id],
    )
    .unwrap();
    conn.execute_batch(&format!(
        "INSERT INTO message_history VALUES ('{id}', 1, 1800000001000000, -1, 77, 'dummy backend');
         INSERT INTO message_related VALUES ('order', '042', '{id}', 42);
         INSERT INTO message_related VALUES ('ticket', 'ab-1', '{id}', NULL);"
    ))
    .unwrap();
    // Ids made in one millisecond before schema 6 shared their leading bits.
    let shared = MessageId::new().as_uuid().as_u64_pair().0;
    let twins: Vec<MessageId> = (1..=3u64)
        .map(|low| MessageId::from_uuid(uuid::Uuid::from_u64_pair(shared, 1 << 63 | low)))
        .collect();
    for (i, twin) in twins.iter().enumerate() {
        conn.execute(
            "INSERT INTO messages (id, created_at, changed_at, recipient, content, state, backend, extra_data, \
             extra_sender_data, is_final_state, priority, predictive, attempts, check_failures, attempt_unresolved, \
             related, history_len) VALUES (?1, 1800000002000000, 1800000002000000, '+420777123456', ?2, -1, \
             'dummy', '{}', '{}', 0, 3, 0, 0, 0, 0, '[\"batch:7\"]', 0)",
            (twin.to_string(), format!("twin {i}")),
        )
        .unwrap();
        conn.execute(
            "INSERT INTO message_related VALUES ('batch', '7', ?1, 7)",
            [twin.to_string()],
        )
        .unwrap();
    }
    drop(conn);
    let s = crate::open::open(&format!("sqlite://{}", path.display())).unwrap();
    let id: MessageId = id.parse().unwrap();
    for (i, twin) in twins.iter().enumerate() {
        assert_eq!(
            s.message(*twin).unwrap().unwrap().content,
            format!("twin {i}")
        );
    }
    let batch = MessageFilter {
        related: Some(related("batch:7")),
        ..Default::default()
    };
    let listed: Vec<_> = s.messages(&batch).unwrap().iter().map(|m| m.id).collect();
    assert_eq!(
        listed,
        twins.iter().rev().copied().collect::<Vec<_>>(),
        "newest first"
    );
    let claimed = s
        .claim("w", Claimable::Ids(&twins[1..2]), t(0), t(60))
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, twins[1]);
    let displaced: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM message_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        displaced, 2,
        "the second and third twin keyed after the first"
    );
    // New messages after the migration are stored and found as before.
    let fresh = new_message("after the migration");
    s.insert(std::slice::from_ref(&fresh), QUEUED, t(1))
        .unwrap();
    assert_eq!(
        s.message(fresh.id).unwrap().unwrap().content,
        "after the migration"
    );
    let h = s.history(id).unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(
        (h[1].from, h[1].to, h[1].reason.as_str()),
        (Some(State::Waiting), State::Debug, "dummy backend")
    );
    assert_eq!(h[1].at, Timestamp::from_second(1_800_000_001).unwrap());
    for (r, found) in [("order:042", 1), ("order:42", 0), ("ticket:ab-1", 1)] {
        let f = MessageFilter {
            related: Some(related(r)),
            ..Default::default()
        };
        assert_eq!(s.messages(&f).unwrap().len(), found, "{r}");
    }
    // It can be changed after the migration: history appended to what was there.
    apply(&*s, id, &cancelled("note"), t(5)).unwrap();
    assert_eq!(
        s.history(id).unwrap().len(),
        2,
        "a final message is not changed"
    );
}
