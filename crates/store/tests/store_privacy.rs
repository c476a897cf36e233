//! Erasure and retention (`PrivacyStore`) on both stores: personal fields go, counts stay,
//! caps and dedupe still count an erased number, and the database's bytes hold no trace.

mod common;

use std::time::Duration;

use common::{TestDb, phone};
use dialout_model::dnc::{Cap, RecipientLimits, Screen};
use dialout_model::interactive::{AnsweredBy, Reply};
use dialout_model::{JsonMap, MessageId, NewMessage, State};
use dialout_store::prelude::*;
use dialout_store::{Change, EraseOptions, Erasure, InsertMode, MessageFilter, StoreError};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

const NUMBER: &str = "+420777123456";
const NATIONAL: &str = "777123456";
const CONTENT: &str = "Dear Jana Novakova, you owe 1234 CZK";

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

/// A message to `number` made final, with the number and content quoted everywhere a
/// backend or a reason could put them.
fn final_message(s: &dyn Store, number: &str, content: &str, at: Timestamp) -> MessageId {
    let mut new = NewMessage::new(phone(number), content, "dummy");
    new.extra_data = json!({"name": "Jana", "phone": number})
        .as_object()
        .unwrap()
        .clone();
    new.related = vec!["crm.person:4242".parse().unwrap()];
    let id = s.insert(&[new], InsertMode::QUEUED, at).unwrap()[0]
        .message
        .id;
    let mut sender = JsonMap::new();
    sender.insert("channel".into(), json!(format!("PJSIP/00{}", &number[1..])));
    sender.insert("call_file".into(), json!("dialout-x.call"));
    let ready = Change::Accepted {
        state: State::Ready,
        is_final: false,
        sender_data: sender,
        reason: format!("call to {number} spooled"),
    };
    let failed = Change::Failed {
        error: format!("{} did not answer ({content})", &number[4..]),
        ambiguous: false,
        reason: format!("gave up on {number}"),
    };
    s.apply(&[(id, ready)], None, at).unwrap();
    s.apply(&[(id, failed)], None, at + SignedDuration::from_secs(1))
        .unwrap();
    id
}

fn counts(s: &dyn Store) -> Vec<(i64, State, u64)> {
    let mut c: Vec<_> = s
        .state_counts(t(-86_400), SignedDuration::from_hours(24))
        .unwrap()
        .into_iter()
        .map(|c| (c.bucket, c.state, c.count))
        .collect();
    c.sort_by_key(|c| (c.0, c.1.code()));
    c
}

/// Every place the database keeps bytes: the SQLite file and its log after a checkpoint;
/// on PostgreSQL every row of every table as text.
fn traces(db: &TestDb, needles: &[&str]) -> Vec<String> {
    db.store.settle().unwrap();
    let mut found = Vec::new();
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        for suffix in ["", "-wal", "-journal"] {
            let Ok(bytes) = std::fs::read(format!("{path}{suffix}")) else {
                continue;
            };
            for n in needles {
                if bytes.windows(n.len()).any(|w| w == n.as_bytes()) {
                    found.push(format!("{n:?} in the file{suffix}"));
                }
            }
        }
        return found;
    }
    let mut c = ::postgres::Client::connect(&db.url, ::postgres::NoTls).unwrap();
    let tables: Vec<String> = c
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(tables.iter().any(|t| t == "messages"), "{tables:?}");
    for t in tables {
        for n in needles {
            let hits: i64 = c
                .query_one(
                    &format!("SELECT count(*) FROM {t} x WHERE strpos(x::text, $1) > 0"),
                    &[n],
                )
                .unwrap()
                .get(0);
            if hits > 0 {
                let row: String = c
                    .query_one(
                        &format!("SELECT x::text FROM {t} x WHERE strpos(x::text, $1) > 0 LIMIT 1"),
                        &[n],
                    )
                    .unwrap()
                    .get(0);
                found.push(format!("{n:?} in {hits} row(s) of {t}: {row}"));
            }
        }
    }
    found
}

fn erase_leaves_counts_and_no_trace(db: &TestDb) {
    let s = &*db.store;
    let ids: Vec<MessageId> = (0..3)
        .map(|i| final_message(s, NUMBER, CONTENT, t(i * 60)))
        .collect();
    let other = final_message(s, "+420602111222", "Hello Petr, all is paid", t(30));
    let before = counts(s);
    assert!(
        !traces(db, &[NUMBER, NATIONAL, CONTENT]).is_empty(),
        "the test finds traces"
    );

    let hash = s.recipient_hash(&phone(NUMBER));
    assert!(hash.is_erased());
    assert_eq!(s.recipient_hash(&phone("777 123 456")), hash, "any format");
    let erased = s.erase(&ids, EraseOptions { related: true }).unwrap();
    assert_eq!(erased, 3);
    assert_eq!(s.erase(&ids, EraseOptions::default()).unwrap(), 0, "once");

    assert_eq!(counts(s), before, "counts by state and day unchanged");
    for id in &ids {
        let m = s.message(*id).unwrap().unwrap();
        assert_eq!(m.recipient, hash);
        assert_eq!(m.content, "");
        assert!(m.extra_data.is_empty());
        assert_eq!(m.extra_sender_data["call_file"], json!("dialout-x.call"));
        assert!(m.related.is_empty());
        assert_eq!(m.state, State::Error);
        assert_eq!(m.backend, "dummy");
        let h = s.history(*id).unwrap();
        assert_eq!(h.len(), 3, "{h:?}");
        assert!(h.iter().all(|e| !e.reason.contains(NATIONAL)), "{h:?}");
    }
    let kept = s.message(other).unwrap().unwrap();
    assert_eq!(kept.recipient.as_str(), "+420602111222");
    assert_eq!(kept.content, "Hello Petr, all is paid");
    assert_eq!(
        traces(db, &[NUMBER, NATIONAL, "420777123456", CONTENT]),
        Vec::<String>::new()
    );
    assert!(!traces(db, &["+420602111222"]).is_empty(), "others stay");
}

fn an_erased_message_is_read_by_filter_on_its_hash(db: &TestDb) {
    let s = &*db.store;
    let id = final_message(s, NUMBER, CONTENT, t(0));
    s.erase(&[id], EraseOptions::default()).unwrap();
    let f = MessageFilter {
        recipient: Some(s.recipient_hash(&phone(NUMBER)).to_string()),
        ..Default::default()
    };
    assert_eq!(s.messages(&f).unwrap().len(), 1);
    assert_eq!(
        s.message(id).unwrap().unwrap().related.len(),
        1,
        "kept by default"
    );
}

fn not_final_messages_are_not_erased(db: &TestDb) {
    let s = &*db.store;
    let new = NewMessage::new(phone(NUMBER), CONTENT, "dummy");
    let id = s.insert(&[new], InsertMode::QUEUED, t(0)).unwrap()[0]
        .message
        .id;
    assert_eq!(s.erase(&[id], EraseOptions::default()).unwrap(), 0);
    assert_eq!(s.message(id).unwrap().unwrap().content, CONTENT);
}

fn caps_and_dedupe_count_erased_messages(db: &TestDb) {
    let s = &*db.store;
    let screen = Screen {
        dnc: true,
        limits: RecipientLimits {
            cap: Some(Cap {
                count: 1,
                per: Duration::from_secs(86_400),
            }),
            dedupe_window: None,
        },
        allow_duplicate: false,
    };
    let mode = InsertMode::QUEUED.screened(screen);
    let first = NewMessage::new(phone(NUMBER), CONTENT, "dummy");
    let id = s.insert(&[first], mode, t(0)).unwrap()[0].message.id;
    s.apply(
        &[(
            id,
            Change::Failed {
                error: "x".into(),
                ambiguous: false,
                reason: "x".into(),
            },
        )],
        None,
        t(1),
    )
    .unwrap();
    assert_eq!(s.erase(&[id], EraseOptions::default()).unwrap(), 1);
    assert!(
        traces(db, &[NUMBER]).is_empty(),
        "{:?}",
        traces(db, &[NUMBER])
    );
    let again = NewMessage::new(phone("777 123 456"), "other words", "dummy");
    match s.insert(&[again], mode, t(60)) {
        Err(StoreError::Screened(_)) => {}
        other => panic!("the cap still counts the erased call: {other:?}"),
    }
    let elsewhere = NewMessage::new(phone("+420602111222"), "other words", "dummy");
    assert!(s.insert(&[elsewhere], mode, t(60)).is_ok());
}

fn retention_finds_expired_messages_by_index(db: &TestDb) {
    let s = &*db.store;
    let old: Vec<_> = (0..5)
        .map(|i| final_message(s, NUMBER, CONTENT, t(i)))
        .collect();
    let young = final_message(s, NUMBER, CONTENT, t(10_000));
    let waiting = NewMessage::new(phone(NUMBER), CONTENT, "dummy");
    s.insert(&[waiting], InsertMode::QUEUED, t(0)).unwrap();
    let cutoff = t(5_000);
    assert_eq!(s.count_expired(cutoff).unwrap(), 5);
    let first = s.expired(cutoff, 2).unwrap();
    assert_eq!(first, old[..2].to_vec(), "oldest first");
    assert_eq!(s.erase(&first, EraseOptions::default()).unwrap(), 2);
    assert_eq!(
        s.count_expired(cutoff).unwrap(),
        3,
        "erased ones leave the index"
    );
    let rest = s.expired(cutoff, 100).unwrap();
    assert_eq!(rest, old[2..].to_vec());
    assert!(!rest.contains(&young));
}

fn erasures_are_recorded_without_the_number(db: &TestDb) {
    let s = &*db.store;
    let e = Erasure {
        at: t(0),
        by: "token ops".into(),
        recipient_hash: s.recipient_hash(&phone(NUMBER)).to_string(),
        messages: 3,
    };
    s.record_erasure(&e).unwrap();
    assert_eq!(s.erasures().unwrap(), vec![e]);
    assert!(traces(db, &[NUMBER, NATIONAL]).is_empty());
}

fn the_hash_key_is_kept_in_the_database(db: &TestDb) {
    let again = dialout_store::open::open(&db.url).unwrap();
    assert_eq!(
        again.recipient_hash(&phone(NUMBER)),
        db.store.recipient_hash(&phone(NUMBER)),
        "every process hashes alike"
    );
    let other = common::sqlite();
    assert_ne!(
        other.store.recipient_hash(&phone(NUMBER)),
        db.store.recipient_hash(&phone(NUMBER)),
        "a key per database"
    );
}

/// An interactive call keeps what the callee pressed (a PIN, an account number) and a
/// prompt written for them: erasure takes both from the message and its history, and keeps
/// the answer label and who answered, which the counts use.
fn erase_takes_the_keys_pressed_and_the_prompt(db: &TestDb) {
    const PIN: &str = "918273";
    const PROMPT: &str = "Jana, enter the six digits of your card";
    let s = &*db.store;
    let mut new = NewMessage::new(phone(NUMBER), CONTENT, "dummy");
    new.interactive.gather = Some(
        serde_json::from_value(json!({"prompt": PROMPT, "digits": 6, "answers": {PIN: "known"}}))
            .unwrap(),
    );
    let id = s.insert(&[new], InsertMode::QUEUED, t(0)).unwrap()[0]
        .message
        .id;
    let reply = Reply {
        digits: Some(PIN.into()),
        answer: Some("known".into()),
        answered_by: Some(AnsweredBy::Human),
        answered_at: Some(t(5)),
    };
    let done = Change::Status {
        state: State::AnsweredComplete,
        is_final: true,
        error: None,
        sender_data: JsonMap::new(),
        reason: "heard, keys read".into(),
        reply,
    };
    s.apply(&[(id, done)], None, t(6)).unwrap();
    assert!(
        !traces(db, &[PROMPT]).is_empty(),
        "the test finds the prompt"
    );

    assert_eq!(s.erase(&[id], EraseOptions::default()).unwrap(), 1);
    let m = s.message(id).unwrap().unwrap();
    assert_eq!(m.reply.digits, None);
    assert_eq!(m.reply.answer.as_deref(), Some("known"));
    assert_eq!(m.reply.answered_by, Some(AnsweredBy::Human));
    assert_eq!(m.interactive.gather.as_ref().and_then(|g| g.prompt()), None);
    let last = s.history(id).unwrap().pop().unwrap();
    assert_eq!(last.reply.digits, None, "{last:?}");
    assert_eq!(last.reply.answer.as_deref(), Some("known"));
    // The answers map still names the PIN as a key the sender chose; only pressed keys and
    // the prompt are the callee's.
    let left = traces(
        db,
        &[
            PROMPT,
            &format!("\"digits\":\"{PIN}\""),
            &format!("\"digits\": \"{PIN}\""),
        ],
    );
    assert!(left.is_empty(), "{left:?}");
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { let db = crate::common::sqlite(); super::$name(&db); } )*
        }
        mod postgres {
            $( #[test] fn $name() { let db = crate::common::postgres(); super::$name(&db); } )*
        }
    };
}

suite!(
    erase_leaves_counts_and_no_trace,
    an_erased_message_is_read_by_filter_on_its_hash,
    not_final_messages_are_not_erased,
    caps_and_dedupe_count_erased_messages,
    retention_finds_expired_messages_by_index,
    erasures_are_recorded_without_the_number,
    the_hash_key_is_kept_in_the_database,
    erase_takes_the_keys_pressed_and_the_prompt,
);

/// The raw bytes of a PostgreSQL database's files (tables, indexes, TOAST) after an
/// erasure, read from the server's data directory (this test runs as root beside the
/// server, as CI does). `VACUUM` (what `settle` runs) frees the old row versions without
/// overwriting them; the README says to run `VACUUM FULL` where the bytes must go, and this
/// shows that after it none of the number or the content is left in the files. What plain
/// VACUUM left is printed.
#[test]
fn postgres_files_hold_no_trace_after_vacuum_full() {
    let db = common::postgres();
    let s = &*db.store;
    let ids: Vec<MessageId> = (0..3)
        .map(|i| final_message(s, NUMBER, CONTENT, t(i * 60)))
        .collect();
    let mut c = ::postgres::Client::connect(&db.url, ::postgres::NoTls).unwrap();
    let needles = [NUMBER, "420777123456", CONTENT];
    let raw = |c: &mut ::postgres::Client| -> Vec<String> {
        c.batch_execute("CHECKPOINT").unwrap();
        let dir: String = c.query_one("SHOW data_directory", &[]).unwrap().get(0);
        let files: Vec<String> = c
            .query(
                "SELECT pg_relation_filepath(oid) FROM pg_class \
                 WHERE relkind IN ('r', 'i', 't') AND pg_relation_filepath(oid) IS NOT NULL",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut found = Vec::new();
        for f in files {
            let path = std::path::Path::new(&dir).join(&f);
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => panic!(
                    "cannot read {} ({e}): this test reads the PostgreSQL server's files; run it as root on the server's machine",
                    path.display()
                ),
            };
            for n in needles {
                if bytes.windows(n.len()).any(|w| w == n.as_bytes()) {
                    found.push(format!("{n:?} in {f}"));
                }
            }
        }
        found
    };
    assert!(
        !raw(&mut c).is_empty(),
        "the search finds the data before erasure"
    );
    assert_eq!(s.erase(&ids, EraseOptions { related: true }).unwrap(), 3);
    s.settle().unwrap();
    eprintln!("after erasure and VACUUM: {:?}", raw(&mut c));
    c.batch_execute(
        "VACUUM FULL messages, message_history, message_related, recipient_calls, webhook_deliveries",
    )
    .unwrap();
    assert_eq!(raw(&mut c), Vec::<String>::new());
}
