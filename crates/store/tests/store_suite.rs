//! One store test suite, run against SQLite (a temporary file) and PostgreSQL (a fresh
//! database on the local server per test).

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::{new_message, phone, related};
use dialout_model::pace::Pace;
use dialout_model::{
    JsonMap, Message, MessageId, NewMessage, NewTemplate, Priority, State, Tag, TemplateChange,
};
use dialout_store::prelude::*;
use dialout_store::{
    Change, Claimable, Cursor, InsertMode, Inserted, MessageFilter, Order, Seen, StoreError,
};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

const QUEUED: InsertMode<'static> = InsertMode::QUEUED;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn due(limit: usize, backend: Option<&str>) -> Claimable<'_> {
    Claimable::Due {
        limit,
        backend,
        pace: Pace::NONE,
    }
}

/// One message's `begin_attempts`.
fn begin(
    s: &dyn Store,
    id: MessageId,
    owner: &str,
    now: Timestamp,
) -> Result<Option<Message>, StoreError> {
    Ok(s.begin_attempts(owner, &[id], now)?.pop())
}

/// One message's `finish`.
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

/// One message's `apply`.
fn apply(
    s: &dyn Store,
    id: MessageId,
    change: &Change,
    now: Timestamp,
) -> Result<Option<Message>, StoreError> {
    Ok(s.apply(&[(id, change.clone())], None, now)?.pop().flatten())
}

fn unique(s: &dyn Store, new: &NewMessage, now: Timestamp) -> Result<Inserted, StoreError> {
    Ok(s.insert(
        std::slice::from_ref(new),
        QUEUED.unique_per_template(true),
        now,
    )?
    .remove(0))
}

fn accepted(state: State, reason: &str) -> Change {
    Change::Accepted {
        state,
        is_final: state.is_final_by_default(),
        sender_data: JsonMap::new(),
        reason: reason.into(),
    }
}

fn status(state: State, reason: &str) -> Change {
    Change::Status {
        state,
        is_final: state.is_final_by_default(),
        error: None,
        sender_data: JsonMap::new(),
        reason: reason.into(),
        reply: Default::default(),
    }
}

fn cancelled(reason: &str) -> Change {
    Change::Cancelled {
        reason: reason.into(),
    }
}

fn count(store: &dyn Store) -> usize {
    store.messages(&MessageFilter::default()).unwrap().len()
}

fn insert_and_read_back(s: &Arc<dyn Store>) {
    let mut n = new_message("Your order has shipped");
    n.tag = Some(Tag::new("orders").unwrap());
    n.related = vec![related("order:42"), related("customer:abc")];
    n.extra_data = json!({"lang": "cs", "n": 3}).as_object().unwrap().clone();
    n.priority = Priority::HIGHEST;
    n.predictive = true;
    n.not_before = Some(t(100));
    n.template_slug = Some("shipped".into());
    // Nanoseconds are dropped: both databases keep microseconds.
    let now = t(0) + SignedDuration::from_nanos(1_234_567);
    let ins = s.insert(std::slice::from_ref(&n), QUEUED, now).unwrap();
    assert_eq!(ins.len(), 1);
    assert!(!ins[0].existing);
    let m = &ins[0].message;
    assert_eq!(m.state, State::Waiting);
    assert_eq!(m.created_at.as_microsecond(), now.as_microsecond());
    assert_eq!(
        m.related,
        vec![related("customer:abc"), related("order:42")],
        "sorted"
    );
    let back = s.message(n.id).unwrap().expect("stored");
    assert_eq!(&back, m);
    assert_eq!(back.extra_data["lang"], "cs");
    let h = s.history(n.id).unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!((h[0].from, h[0].to), (None, State::Waiting));
    assert!(s.message(MessageId::new()).unwrap().is_none());
}

fn idempotency_key(s: &Arc<dyn Store>) {
    let mut a = new_message("hello");
    a.idempotency_key = Some("k1".into());
    let first = s
        .insert(std::slice::from_ref(&a), QUEUED, t(0))
        .unwrap()
        .remove(0);
    let mut again = new_message("hello");
    again.idempotency_key = Some("k1".into());
    let second = s.insert(&[again], QUEUED, t(1)).unwrap().remove(0);
    assert!(second.existing);
    assert_eq!(second.message.id, first.message.id);
    let mut other = new_message("something else");
    other.idempotency_key = Some("k1".into());
    let err = s
        .insert(&[new_message("ok"), other], QUEUED, t(2))
        .unwrap_err();
    assert!(
        matches!(err, StoreError::IdempotencyConflict { existing, .. } if existing == first.message.id),
        "{err}"
    );
    assert_eq!(count(s.as_ref()), 1, "a failed batch stores nothing");
}

/// Concurrent sends with one idempotency key store one message; the others get it back.
fn idempotency_key_under_concurrency(s: &Arc<dyn Store>) {
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || {
                let mut n = new_message("same");
                n.idempotency_key = Some("race".into());
                s.insert(&[n], QUEUED, t(0)).unwrap().remove(0)
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| !r.existing).count(), 1);
    let ids: HashSet<_> = results.iter().map(|r| r.message.id).collect();
    assert_eq!(ids.len(), 1, "all got the same message");
    assert_eq!(count(s.as_ref()), 1);
}

fn bulk_insert_in_one_call(s: &Arc<dyn Store>) {
    let batch: Vec<_> = (0..250).map(|i| new_message(&format!("m{i}"))).collect();
    let ins = s.insert(&batch, QUEUED, t(0)).unwrap();
    assert_eq!(ins.len(), 250);
    assert_eq!(count(s.as_ref()), 250);
}

fn list_filters(s: &Arc<dyn Store>) {
    let mut a = new_message("a");
    a.tag = Some(Tag::new("x").unwrap());
    a.related = vec![related("order:7")];
    let mut b = new_message("b");
    b.related = vec![related("order:007")];
    let mut c = new_message("c");
    c.related = vec![related("invoice:A-1")];
    s.insert(std::slice::from_ref(&a), QUEUED, t(0)).unwrap();
    s.insert(std::slice::from_ref(&b), QUEUED, t(10)).unwrap();
    s.insert(std::slice::from_ref(&c), QUEUED, t(20)).unwrap();
    let ids = |f: MessageFilter| {
        s.messages(&f)
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(MessageFilter::default()),
        vec![c.id, b.id, a.id],
        "newest first"
    );
    assert_eq!(
        ids(MessageFilter {
            tag: Some(Tag::new("x").unwrap()),
            ..Default::default()
        }),
        vec![a.id]
    );
    assert_eq!(
        ids(MessageFilter {
            related: Some(related("order:7")),
            ..Default::default()
        }),
        vec![a.id]
    );
    assert_eq!(
        ids(MessageFilter {
            related: Some(related("order:007")),
            ..Default::default()
        }),
        vec![b.id]
    );
    assert_eq!(
        ids(MessageFilter {
            related: Some(related("invoice:A-1")),
            ..Default::default()
        }),
        vec![c.id]
    );
    assert_eq!(
        ids(MessageFilter {
            created_since: Some(t(10)),
            ..Default::default()
        }),
        vec![c.id, b.id]
    );
    assert_eq!(
        ids(MessageFilter {
            limit: Some(1),
            ..Default::default()
        }),
        vec![c.id]
    );
    assert_eq!(
        ids(MessageFilter {
            state: Some(State::Debug),
            ..Default::default()
        }),
        vec![]
    );
    assert_eq!(
        ids(MessageFilter {
            state: Some(State::Waiting),
            ..Default::default()
        })
        .len(),
        3
    );
}

/// Newest first, page by page: each page starts before the last message of the previous.
fn pages_with_before(s: &Arc<dyn Store>) {
    let one_by_one: Vec<_> = (0..3)
        .map(|i| new_message(&format!("single {i}")))
        .collect();
    for (i, m) in one_by_one.iter().enumerate() {
        s.insert(std::slice::from_ref(m), QUEUED, t(i as i64))
            .unwrap();
    }
    // Stored at the same instant: the order of their ids decides.
    let batch: Vec<_> = (0..4).map(|i| new_message(&format!("batch {i}"))).collect();
    s.insert(&batch, QUEUED, t(10)).unwrap();
    let mut newest_first: Vec<MessageId> = one_by_one.iter().chain(&batch).map(|m| m.id).collect();
    newest_first.reverse();

    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let page: Vec<_> = s
            .messages(&MessageFilter {
                before,
                limit: Some(3),
                ..Default::default()
            })
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect();
        let Some(last) = page.last() else { break };
        before = Some(*last);
        pages.push(page);
    }
    assert_eq!(pages.len(), 3);
    assert_eq!(pages.concat(), newest_first);
    // With other filters too.
    let older = MessageFilter {
        before: Some(batch[0].id),
        created_since: Some(t(1)),
        ..Default::default()
    };
    let ids: Vec<_> = s.messages(&older).unwrap().iter().map(|m| m.id).collect();
    assert_eq!(ids, vec![one_by_one[2].id, one_by_one[1].id]);
    let first = MessageFilter {
        before: Some(one_by_one[0].id),
        ..Default::default()
    };
    assert!(s.messages(&first).unwrap().is_empty(), "nothing older");
}

fn templates(s: &Arc<dyn Store>) {
    let nt = NewTemplate {
        slug: "shipped".into(),
        body: "Hello {{ name }}".into(),
        active: true,
        allow_duplicates: true,
    };
    let tpl = s.add_template(&nt, t(0)).unwrap();
    assert!(matches!(
        s.add_template(&nt, t(1)),
        Err(StoreError::TemplateExists(_))
    ));
    assert_eq!(s.template("shipped").unwrap().unwrap(), tpl);
    let changed = s
        .update_template(
            "shipped",
            &TemplateChange {
                active: Some(false),
                ..Default::default()
            },
            t(5),
        )
        .unwrap();
    assert!(!changed.active);
    assert_eq!(changed.body, tpl.body);
    assert_eq!(changed.changed_at, t(5));
    assert!(matches!(
        s.update_template("nope", &TemplateChange::default(), t(5)),
        Err(StoreError::NoTemplate(_))
    ));
    assert_eq!(s.templates().unwrap().len(), 1);

    let mut m = new_message("Hello Jo");
    m.template_slug = Some("shipped".into());
    m.template_id = Some(tpl.id);
    s.insert(std::slice::from_ref(&m), QUEUED, t(6)).unwrap();
    assert!(s.remove_template("shipped").unwrap());
    assert!(!s.remove_template("shipped").unwrap());
    let back = s.message(m.id).unwrap().unwrap();
    assert_eq!(
        (back.template_slug.as_deref(), back.template_id),
        (Some("shipped"), None)
    );
}

fn template_duplicates(s: &Arc<dyn Store>) {
    let mut m = new_message("x");
    m.template_slug = Some("remind".into());
    m.related = vec![related("order:1"), related("customer:9")];
    s.insert(&[m], QUEUED, t(0)).unwrap();
    let make = |slug: &str, rel: &[&str]| {
        let mut m = new_message("x");
        m.template_slug = Some(slug.into());
        m.related = rel.iter().map(|r| related(r)).collect();
        m
    };
    let same = make("remind", &["customer:9", "order:1"]);
    assert!(matches!(
        unique(&**s, &same, t(1)),
        Err(StoreError::Duplicate { slug }) if slug == "remind"
    ));
    assert!(
        unique(&**s, &make("other", &["order:1", "customer:9"]), t(2)).is_ok(),
        "another template"
    );
    assert!(
        unique(&**s, &make("remind", &[]), t(3)).is_ok(),
        "no objects"
    );
    assert!(
        unique(&**s, &make("remind", &["order:1"]), t(4)).is_ok(),
        "a different set"
    );
    // The rule holds within one insert too: nothing of it is stored.
    let before = count(s.as_ref());
    let twins = [make("remind", &["order:7"]), make("remind", &["order:7"])];
    assert!(matches!(
        s.insert(&twins, QUEUED.unique_per_template(true), t(5)),
        Err(StoreError::Duplicate { .. })
    ));
    assert_eq!(count(s.as_ref()), before);
    // Without the rule, duplicates are stored.
    s.insert(&[same], QUEUED, t(6)).unwrap();
}

fn unique_insert_refuses_duplicates_atomically(s: &Arc<dyn Store>) {
    let make = |rel: &[&str], key: Option<&str>| {
        let mut m = new_message("x");
        m.template_slug = Some("remind".into());
        m.related = rel.iter().map(|r| related(r)).collect();
        m.idempotency_key = key.map(str::to_string);
        m
    };
    let first = unique(&**s, &make(&["order:1"], Some("k")), t(0)).unwrap();
    assert!(!first.existing);
    assert!(
        matches!(
            unique(&**s, &make(&["order:1"], None), t(1)),
            Err(StoreError::Duplicate { .. })
        ),
        "duplicate"
    );
    let retry = unique(&**s, &make(&["order:1"], Some("k")), t(2)).unwrap();
    assert!(
        retry.existing,
        "a retried request gets its message back, not a refusal"
    );
    let mode = InsertMode::claimed("me", t(63)).unique_per_template(true);
    let claimed = s
        .insert(&[make(&["order:2"], None)], mode, t(3))
        .unwrap()
        .remove(0);
    assert!(
        s.claim("other", Claimable::Ids(&[claimed.message.id]), t(4), t(64))
            .unwrap()
            .is_empty(),
        "claimed by me"
    );
    assert_eq!(count(s.as_ref()), 2);

    let threads: Vec<_> = (0..6)
        .map(|_| {
            let s = s.clone();
            let m = make(&["order:3", "customer:9"], None);
            std::thread::spawn(move || match unique(&*s, &m, t(5)) {
                Ok(i) => Some(i),
                Err(StoreError::Duplicate { .. }) => None,
                Err(e) => panic!("{e}"),
            })
        })
        .collect();
    let stored = threads
        .into_iter()
        .filter_map(|h| h.join().unwrap())
        .count();
    assert_eq!(
        stored, 1,
        "concurrent sends of a no-duplicates template store one message"
    );
    assert_eq!(count(s.as_ref()), 3);
}

fn claim_order_and_due_times(s: &Arc<dyn Store>) {
    let mut low_old = new_message("low old");
    low_old.priority = Priority::new(3).unwrap();
    let mut high_new = new_message("high new");
    high_new.priority = Priority::HIGHEST;
    let mut later = new_message("not before");
    later.not_before = Some(t(1000));
    let mut other_backend = new_message("other");
    other_backend.backend = "asterisk".into();
    s.insert(std::slice::from_ref(&low_old), QUEUED, t(0))
        .unwrap();
    s.insert(
        &[high_new.clone(), later.clone(), other_backend.clone()],
        QUEUED,
        t(10),
    )
    .unwrap();

    let got = s.claim("w1", due(10, Some("dummy")), t(20), t(80)).unwrap();
    assert_eq!(
        got.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![high_new.id, low_old.id]
    );
    assert!(
        s.claim("w2", due(10, Some("dummy")), t(30), t(90))
            .unwrap()
            .is_empty(),
        "held by w1"
    );
    // The lease expired: another worker gets them.
    assert_eq!(
        s.claim("w2", due(10, Some("dummy")), t(80), t(140))
            .unwrap()
            .len(),
        2
    );
    // At its not-before time it is due too (w2's lease has expired by then as well).
    let mut ids: Vec<_> = s
        .claim("w3", due(10, Some("dummy")), t(1000), t(1060))
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, vec![high_new.id, low_old.id, later.id]);
    assert_eq!(
        s.claim("w3", due(10, None), t(1000), t(1060)).unwrap()[0].id,
        other_backend.id
    );
    ids.push(other_backend.id);
    assert_eq!(s.release("w3", &ids).unwrap(), 4);

    // A retry is due only after its next attempt time.
    let m = &s
        .claim("w4", due(1, Some("dummy")), t(2000), t(2060))
        .unwrap()[0];
    begin(&**s, m.id, "w4", t(2000)).unwrap().unwrap();
    let retry = Change::Retry {
        error: "timeout".into(),
        next: t(2100),
        ambiguous: false,
        reason: "timeout".into(),
    };
    finish(&**s, m.id, "w4", &retry, t(2001)).unwrap().unwrap();
    let ids: Vec<_> = s
        .claim("w5", due(10, None), t(2050), t(2060))
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert!(!ids.contains(&m.id));
    s.release("w5", &ids).unwrap();
    let ids: Vec<_> = s
        .claim("w5", due(10, None), t(2100), t(2160))
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert!(ids.contains(&m.id));
}

fn attempt_and_finish(s: &Arc<dyn Store>) {
    let n = new_message("hi");
    s.insert(std::slice::from_ref(&n), QUEUED, t(0)).unwrap();
    let claimed = s
        .claim("me", Claimable::Ids(&[n.id, MessageId::new()]), t(1), t(61))
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(
        s.claim("you", Claimable::Ids(&[n.id]), t(2), t(62))
            .unwrap()
            .is_empty(),
        "already claimed"
    );
    assert!(begin(&**s, n.id, "you", t(2)).unwrap().is_none());
    let m = begin(&**s, n.id, "me", t(2)).unwrap().unwrap();
    assert_eq!((m.attempts, m.attempt_unresolved), (1, true));
    let ok = Change::Accepted {
        state: State::Ready,
        is_final: false,
        sender_data: json!({"record": "r1"}).as_object().unwrap().clone(),
        reason: "accepted".into(),
    };
    assert!(
        finish(&**s, n.id, "you", &ok, t(3)).unwrap().is_none(),
        "not the owner"
    );
    let m = finish(&**s, n.id, "me", &ok, t(3)).unwrap().unwrap();
    assert_eq!(
        (m.state, m.sent_at, m.attempt_unresolved),
        (State::Ready, Some(t(3)), false)
    );
    assert_eq!(m.extra_sender_data["record"], "r1");
    assert_eq!(s.message(n.id).unwrap().unwrap(), m);
    assert!(
        finish(&**s, n.id, "me", &ok, t(4)).unwrap().is_none(),
        "the claim was released"
    );
    let h = s.history(n.id).unwrap();
    assert_eq!(
        h.iter().map(|h| h.to).collect::<Vec<_>>(),
        vec![State::Waiting, State::Ready]
    );
    assert_eq!(h[1].reason, "accepted");
    assert!(
        s.claim("me", Claimable::Ids(&[n.id]), t(5), t(65))
            .unwrap()
            .is_empty(),
        "READY is not unpublished"
    );
}

/// Outcomes of a batch given as their owner last saw them (what the worker records): a row
/// still as seen is written as planned from that copy; one changed since is planned from
/// what is stored; one whose claim was lost is left alone. Answers in the order given.
fn finish_as_last_seen(s: &Arc<dyn Store>) {
    let new: Vec<NewMessage> = (0..4).map(|i| new_message(&format!("m{i}"))).collect();
    s.insert(&new, QUEUED, t(0)).unwrap();
    let ids: Vec<MessageId> = new.iter().map(|m| m.id).collect();
    let claimed = s.claim("me", Claimable::Ids(&ids), t(1), t(61)).unwrap();
    assert_eq!(claimed.len(), 4);
    let begun = s.begin_attempts("me", &ids, t(2)).unwrap();
    assert_eq!(begun.iter().map(|m| m.id).collect::<Vec<_>>(), ids);
    // m3's claim is lost to another worker.
    assert_eq!(s.release("me", &[ids[3]]).unwrap(), 1);
    assert_eq!(
        s.claim("you", Claimable::Ids(&[ids[3]]), t(2), t(62))
            .unwrap()
            .len(),
        1
    );
    let failed = Change::Failed {
        error: "invalid number".into(),
        ambiguous: false,
        reason: "failed for good".into(),
    };
    let mut ok = accepted(State::Ready, "accepted");
    if let Change::Accepted { sender_data, .. } = &mut ok {
        sender_data.insert("record".into(), json!("r0"));
    }
    let changes = vec![
        (Seen::Message(begun[1].clone()), failed),
        (Seen::Message(begun[0].clone()), ok.clone()),
        // Seen before its attempt was begun: the stored row differs.
        (Seen::Message(claimed[2].clone()), ok.clone()),
        (Seen::Message(begun[3].clone()), ok),
    ];
    let out = s.finish("me", &changes, t(3)).unwrap();
    assert_eq!(out.len(), 4);
    let m1 = out[0].clone().expect("m1 recorded");
    assert_eq!(
        (m1.id, m1.state, m1.attempts, m1.attempt_unresolved),
        (ids[1], State::Error, 1, false)
    );
    let m0 = out[1].clone().expect("m0 recorded");
    assert_eq!(
        (m0.id, m0.state, m0.sent_at, m0.attempts),
        (ids[0], State::Ready, Some(t(3)), 1)
    );
    assert_eq!(m0.extra_sender_data["record"], "r0");
    let m2 = out[2].clone().expect("m2 recorded");
    assert_eq!(
        (m2.id, m2.state, m2.attempts, m2.attempt_unresolved),
        (ids[2], State::Ready, 1, false),
        "planned from the stored row, not the stale copy"
    );
    assert!(out[3].is_none(), "m3's claim was lost");
    for m in [&m0, &m1, &m2] {
        assert_eq!(&s.message(m.id).unwrap().unwrap(), m);
        let h = s.history(m.id).unwrap();
        assert_eq!(h.len(), 2, "{h:?}");
        assert_eq!(h[1].to, m.state);
    }
    assert_eq!(s.release("me", &ids).unwrap(), 0, "all released");
    let m3 = s.message(ids[3]).unwrap().unwrap();
    assert_eq!((m3.state, m3.attempts), (State::Waiting, 1));
    assert_eq!(s.history(ids[3]).unwrap().len(), 1);
    assert_eq!(
        s.release("you", &[ids[3]]).unwrap(),
        1,
        "still the new owner's"
    );
}

fn claimed_insert_holds_the_claim(s: &Arc<dyn Store>) {
    let n = new_message("now");
    let mut keyed = new_message("keyed");
    keyed.idempotency_key = Some("k".into());
    s.insert(std::slice::from_ref(&keyed), QUEUED, t(0))
        .unwrap();
    let mut again = new_message("keyed");
    again.idempotency_key = Some("k".into());
    let ins = s
        .insert(&[n.clone(), again], InsertMode::claimed("me", t(61)), t(1))
        .unwrap();
    assert_eq!(
        (ins[0].message.attempts, ins[0].message.attempt_unresolved),
        (0, false)
    );
    assert_eq!(s.message(n.id).unwrap().unwrap(), ins[0].message);
    assert!(
        ins[1].existing,
        "an idempotent repeat is returned, not claimed"
    );
    assert_eq!(ins[1].message.attempts, 0);
    let claimed: Vec<_> = s
        .claim("other", due(10, None), t(2), t(62))
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(claimed, vec![keyed.id], "the claimed one is held");
    assert_eq!(begin(&**s, n.id, "me", t(2)).unwrap().unwrap().attempts, 1);
    let done = s
        .finish(
            "me",
            &[(n.id.into(), accepted(State::Debug, "dummy"))],
            t(3),
        )
        .unwrap()
        .pop()
        .unwrap()
        .unwrap();
    assert_eq!(
        (done.state, done.attempts, done.attempt_unresolved),
        (State::Debug, 1, false)
    );
    assert_eq!(s.history(n.id).unwrap().len(), 2);
    // The lease expires: a worker would take it over (and ask the backend first).
    let m = new_message("crashed");
    s.insert(
        std::slice::from_ref(&m),
        InsertMode::claimed("dead", t(20)),
        t(10),
    )
    .unwrap();
    let taken = s.claim("w", due(10, None), t(21), t(80)).unwrap();
    assert!(taken.iter().any(|x| x.id == m.id));
}

fn apply_rules(s: &Arc<dyn Store>) {
    let n = new_message("hi");
    s.insert(std::slice::from_ref(&n), QUEUED, t(0)).unwrap();
    s.claim("me", Claimable::Ids(&[n.id]), t(0), t(60)).unwrap();
    let ok = accepted(State::Ready, "accepted");
    let ready = finish(&**s, n.id, "me", &ok, t(1)).unwrap().unwrap();

    // Nothing changes: nothing written.
    let same = apply(&**s, n.id, &status(State::Ready, "again"), t(2))
        .unwrap()
        .unwrap();
    assert_eq!(same.changed_at, ready.changed_at);
    assert_eq!(s.history(n.id).unwrap().len(), 2);

    // A failed check keeps the state and says so in the history.
    let failed = Change::CheckFailed {
        error: "HTTP 500".into(),
        made_final: false,
        reason: "status check failed: 500".into(),
    };
    let m = apply(&**s, n.id, &failed, t(3)).unwrap().unwrap();
    assert_eq!((m.state, m.check_failures), (State::Ready, 1));
    assert_eq!(s.message(n.id).unwrap().unwrap(), m);
    let h = s.history(n.id).unwrap();
    assert_eq!(
        (h[2].from, h[2].to),
        (Some(State::Ready), State::ErrorUpdate)
    );
    assert_eq!(h.len(), 3);

    let done = apply(&**s, n.id, &status(State::AnsweredComplete, "heard"), t(4))
        .unwrap()
        .unwrap();
    assert!(done.is_final_state);
    // Final is final.
    let after = apply(&**s, n.id, &status(State::Unreachable, "late"), t(5))
        .unwrap()
        .unwrap();
    assert_eq!(after, done);
    assert_eq!(
        s.message(n.id).unwrap().unwrap().state,
        State::AnsweredComplete
    );
    assert_eq!(s.history(n.id).unwrap().len(), 4);
    assert!(apply(&**s, MessageId::new(), &ok, t(6)).unwrap().is_none());
}

fn release_renew(s: &Arc<dyn Store>) {
    let batch: Vec<_> = (0..3).map(|i| new_message(&i.to_string())).collect();
    s.insert(&batch, QUEUED, t(0)).unwrap();
    let ids: Vec<_> = batch.iter().map(|m| m.id).collect();
    assert_eq!(s.claim("a", due(10, None), t(1), t(10)).unwrap().len(), 3);
    let renewed = s.claim("a", Claimable::Held(&ids), t(5), t(100)).unwrap();
    assert_eq!(renewed.len(), 3);
    assert!(
        s.claim("a", Claimable::Ids(&ids), t(5), t(100))
            .unwrap()
            .is_empty(),
        "not free"
    );
    assert!(
        s.claim("b", due(10, None), t(50), t(60))
            .unwrap()
            .is_empty(),
        "renewed lease holds"
    );
    assert!(
        s.claim("b", Claimable::Ids(&ids), t(50), t(60))
            .unwrap()
            .is_empty(),
        "held by a"
    );
    assert_eq!(s.release("b", &ids).unwrap(), 0, "only the holder releases");
    assert_eq!(s.release("a", &ids[..2]).unwrap(), 2);
    assert_eq!(
        s.claim("a", Claimable::Held(&ids), t(50), t(100))
            .unwrap()
            .len(),
        1,
        "a renewal takes nothing free"
    );
    assert_eq!(s.claim("b", due(10, None), t(50), t(60)).unwrap().len(), 2);
    assert_eq!(s.release("a", &ids).unwrap(), 1);
    assert_eq!(s.claim("b", due(10, None), t(50), t(60)).unwrap().len(), 1);
    // A claimed message made final (cancelled, say) loses its claim with it.
    apply(&**s, batch[0].id, &cancelled("cancelled"), t(51)).unwrap();
    assert_eq!(s.release("b", &ids).unwrap(), 2);
}

/// Messages `send` stores with their first attempt begun: the sender renews or releases
/// them like any claim; if it dies, a worker takes them over once the claim has expired.
fn attempting_claims_outlive_their_sender(s: &Arc<dyn Store>) {
    let a = new_message("renewed");
    s.insert(
        std::slice::from_ref(&a),
        InsertMode::attempting("sender", t(60)),
        t(0),
    )
    .unwrap();
    assert!(
        s.claim("w", due(10, None), t(10), t(70))
            .unwrap()
            .is_empty(),
        "a live claim"
    );
    let renewed = s.claim("sender", Claimable::Held(&[a.id]), t(10), t(200));
    assert_eq!(renewed.unwrap().len(), 1);
    assert_eq!(s.catch_up(t(100), 1000).unwrap(), 0);
    assert!(
        s.claim("w", due(10, None), t(100), t(160))
            .unwrap()
            .is_empty(),
        "renewed: still the sender's"
    );
    assert_eq!(s.release("sender", &[a.id]).unwrap(), 1);
    let taken = s.claim("w", due(10, None), t(101), t(160)).unwrap();
    assert_eq!(taken.iter().map(|m| m.id).collect::<Vec<_>>(), vec![a.id]);
    assert!(taken[0].attempt_unresolved);
    s.release("w", &[a.id]).unwrap();
    apply(&**s, a.id, &cancelled("done with it"), t(102)).unwrap();

    // Released at once, without renewing, it is free for a worker too.
    let c = new_message("released");
    s.insert(
        std::slice::from_ref(&c),
        InsertMode::attempting("sender", t(160)),
        t(100),
    )
    .unwrap();
    assert_eq!(s.release("sender", &[c.id]).unwrap(), 1);
    let taken = s.claim("w", due(10, None), t(103), t(160)).unwrap();
    assert_eq!(taken.iter().map(|m| m.id).collect::<Vec<_>>(), vec![c.id]);
    apply(&**s, c.id, &cancelled("done with it"), t(104)).unwrap();

    // The sender dies: after the lease a worker finds the message, attempt unresolved.
    let b = new_message("orphaned");
    s.insert(
        std::slice::from_ref(&b),
        InsertMode::attempting("dead", t(260)),
        t(200),
    )
    .unwrap();
    s.catch_up(t(230), 1000).unwrap();
    assert!(
        s.claim("w", due(10, None), t(230), t(290))
            .unwrap()
            .is_empty()
    );
    s.catch_up(t(261), 1000).unwrap();
    let taken = s.claim("w", due(10, None), t(261), t(320)).unwrap();
    assert_eq!(taken.iter().map(|m| m.id).collect::<Vec<_>>(), vec![b.id]);
    assert_eq!((taken[0].attempts, taken[0].attempt_unresolved), (1, true));
    // Its outcome, recorded by the new owner, is kept like any other.
    let done = finish(&**s, b.id, "w", &accepted(State::Debug, "dummy"), t(262))
        .unwrap()
        .unwrap();
    assert_eq!(done.state, State::Debug);
    assert_eq!(s.history(b.id).unwrap().len(), 2);
}

fn in_flight_and_cursor(s: &Arc<dyn Store>) {
    let batch: Vec<_> = (0..3).map(|i| new_message(&i.to_string())).collect();
    s.insert(&batch, QUEUED, t(0)).unwrap();
    for (i, m) in s
        .claim("w", due(10, None), t(1), t(60))
        .unwrap()
        .iter()
        .enumerate()
    {
        let ok = accepted(State::Ready, "ok");
        finish(&**s, m.id, "w", &ok, t(10 * i as i64))
            .unwrap()
            .unwrap();
    }
    let in_flight = |b: &str| s.backend_state(b).unwrap().in_flight;
    assert_eq!(in_flight("dummy"), 3);
    assert_eq!(in_flight("asterisk"), 0);
    let sent = |since: Option<Timestamp>, limit: usize| {
        s.messages(&MessageFilter {
            backend: Some("dummy".into()),
            in_flight: true,
            sent_since: since,
            order: Order::OldestSentFirst,
            limit: Some(limit),
            ..MessageFilter::default()
        })
        .unwrap()
        .iter()
        .map(|m| m.sent_at.unwrap())
        .collect::<Vec<_>>()
    };
    assert_eq!(sent(Some(t(10)), 100), vec![t(10), t(20)]);
    assert_eq!(sent(None, 1), vec![t(0)], "the oldest sent first");
    apply(&**s, batch[0].id, &status(State::Declined, "busy"), t(3)).unwrap();
    assert_eq!(in_flight("dummy"), 2);

    // The cursor is written with the updates it brought, or on its own.
    assert_eq!(s.backend_state("dummy").unwrap().cursor, None);
    let cursor = |value| {
        Some(Cursor {
            backend: "dummy",
            value,
        })
    };
    let done = s
        .apply(
            &[(batch[1].id, status(State::Declined, "busy"))],
            cursor("2026-01-01 10:00:00"),
            t(4),
        )
        .unwrap();
    assert_eq!(done[0].as_ref().unwrap().state, State::Declined);
    s.apply(&[], cursor("2026-01-01 11:00:00"), t(5)).unwrap();
    assert_eq!(
        s.backend_state("dummy").unwrap(),
        dialout_store::BackendState {
            in_flight: 1,
            cursor: Some("2026-01-01 11:00:00".into())
        }
    );
}

/// Several threads claim from the same queue: every message is claimed exactly once.
fn concurrent_claims(s: &Arc<dyn Store>) {
    let batch: Vec<_> = (0..400).map(|i| new_message(&i.to_string())).collect();
    s.insert(&batch, QUEUED, t(0)).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|w| {
            let s = s.clone();
            std::thread::spawn(move || {
                let owner = format!("worker-{w}");
                let mut mine = Vec::new();
                loop {
                    let got = s.claim(&owner, due(7, None), t(1), t(600)).unwrap();
                    if got.is_empty() {
                        break;
                    }
                    for m in got {
                        let ok = accepted(State::Debug, "done");
                        begin(&*s, m.id, &owner, t(2)).unwrap().expect("still mine");
                        finish(&*s, m.id, &owner, &ok, t(2))
                            .unwrap()
                            .expect("still mine");
                        mine.push(m.id);
                    }
                }
                mine
            })
        })
        .collect();
    let all: Vec<MessageId> = threads
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 400, "each claimed once");
    assert_eq!(unique.len(), 400);
    for m in s.messages(&MessageFilter::default()).unwrap() {
        assert_eq!((m.state, m.attempts), (State::Debug, 1), "{}", m.id);
    }
}

/// Publishers claiming the same ids listed in different orders: each message once, no deadlock.
fn concurrent_claim_ids(s: &Arc<dyn Store>) {
    let batch: Vec<_> = (0..200).map(|i| new_message(&i.to_string())).collect();
    s.insert(&batch, QUEUED, t(0)).unwrap();
    let ids: Vec<MessageId> = batch.iter().map(|m| m.id).collect();
    let threads: Vec<_> = (0..4)
        .map(|k| {
            let (s, mut mine) = (s.clone(), ids.clone());
            mine.rotate_left(k * 50);
            std::thread::spawn(move || {
                let owner = format!("p{k}");
                let mut got = Vec::new();
                for chunk in mine.chunks(20) {
                    got.extend(
                        s.claim(&owner, Claimable::Ids(chunk), t(1), t(600))
                            .unwrap()
                            .into_iter()
                            .map(|m| m.id),
                    );
                }
                got
            })
        })
        .collect();
    let all: Vec<MessageId> = threads
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert_eq!(all.len(), 200);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 200);
}

/// A claim for backend `dummy` under `pace`, at the wall clock (pacing runs on real time).
fn paced(limit: usize, pace: Pace) -> Claimable<'static> {
    Claimable::Due {
        limit,
        backend: Some("dummy"),
        pace,
    }
}

/// What `max_in_flight` counts: claimed and not sent under a live lease, and sent and not
/// final; not what is final, expired or another backend's.
fn paced_claim_counts_claimed_and_sent(s: &Arc<dyn Store>) {
    let batch: Vec<_> = (0..10).map(|i| new_message(&i.to_string())).collect();
    s.insert(&batch, QUEUED, t(0)).unwrap();
    let mut other = new_message("elsewhere");
    other.backend = "other".into();
    s.insert(std::slice::from_ref(&other), QUEUED, t(0))
        .unwrap();
    let three = Pace {
        max_in_flight: Some(3),
        calls_per_second: None,
    };
    let claim = |owner: &str, now: Timestamp| {
        let due = Claimable::Due {
            limit: 10,
            backend: Some("dummy"),
            pace: three,
        };
        s.claim(owner, due, now, now + SignedDuration::from_secs(60))
            .unwrap()
    };
    let a = claim("a", t(1));
    assert_eq!(a.len(), 3);
    assert!(claim("b", t(1)).is_empty(), "3 claimed: no room");
    // Another backend's claims are its own.
    assert_eq!(
        s.claim("b", due(10, Some("other")), t(1), t(61))
            .unwrap()
            .len(),
        1
    );
    // Sent and not final still counts; final does not.
    let ids: Vec<MessageId> = a.iter().map(|m| m.id).collect();
    s.begin_attempts("a", &ids, t(2)).unwrap();
    let sent: Vec<_> = ids
        .iter()
        .map(|id| ((*id).into(), accepted(State::Ready, "sent")))
        .collect();
    s.finish("a", &sent, t(2)).unwrap();
    assert!(claim("b", t(3)).is_empty(), "3 sent, not final: no room");
    apply(&**s, ids[0], &status(State::AnsweredComplete, "done"), t(4)).unwrap();
    let b = claim("b", t(5));
    assert_eq!(b.len(), 1, "one final: room for one");
    // An expired claim holds nothing.
    let c = claim("c", t(70));
    assert_eq!(c.len(), 1, "b's lease ran out at 65 s");
    assert!(claim("d", t(70)).is_empty());
    // No limit: the claim as always.
    assert_eq!(
        s.claim("d", due(10, Some("dummy")), t(70), t(130))
            .unwrap()
            .len(),
        6
    );
}

/// Four claimers ("workers") of one backend with `max_in_flight = 5`: what they hold
/// (claimed, then sent and not final) is never more than 5 in all, and everything is
/// delivered in the end.
fn paced_claims_share_max_in_flight(s: &Arc<dyn Store>) {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    const N: usize = 80;
    let batch: Vec<_> = (0..N).map(|i| new_message(&i.to_string())).collect();
    s.insert(&batch, QUEUED, Timestamp::now()).unwrap();
    let pace = Pace {
        max_in_flight: Some(5),
        calls_per_second: None,
    };
    // Counted up after a claim commits and down before the message is made final: never
    // more than the messages the database counts as busy.
    let held = Arc::new(AtomicUsize::new(0));
    let (most, done) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let threads: Vec<_> = (0..4)
        .map(|w| {
            let (s, held, most, done) = (s.clone(), held.clone(), most.clone(), done.clone());
            std::thread::spawn(move || {
                let owner = format!("worker-{w}");
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
                while done.load(SeqCst) < N && std::time::Instant::now() < deadline {
                    let now = Timestamp::now();
                    let lease = now + SignedDuration::from_secs(60);
                    let got = s.claim(&owner, paced(3, pace), now, lease).unwrap();
                    if got.is_empty() {
                        std::thread::sleep(std::time::Duration::from_millis(2));
                        continue;
                    }
                    let n = got.len();
                    let total = held.fetch_add(n, SeqCst) + n;
                    most.fetch_max(total, SeqCst);
                    let ids: Vec<MessageId> = got.iter().map(|m| m.id).collect();
                    s.begin_attempts(&owner, &ids, now).unwrap();
                    let sent: Vec<_> = ids
                        .iter()
                        .map(|id| ((*id).into(), accepted(State::Ready, "sent")))
                        .collect();
                    s.finish(&owner, &sent, now).unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(15));
                    held.fetch_sub(n, SeqCst);
                    let answered = status(State::AnsweredComplete, "answered");
                    let finals: Vec<_> = ids.iter().map(|id| (*id, answered.clone())).collect();
                    s.apply(&finals, None, Timestamp::now()).unwrap();
                    done.fetch_add(n, SeqCst);
                }
            })
        })
        .collect();
    for h in threads {
        h.join().unwrap();
    }
    assert_eq!(done.load(SeqCst), N, "every message delivered");
    let most = most.load(SeqCst);
    assert!(
        most <= 5,
        "{most} in flight at once, above max_in_flight = 5"
    );
    assert_eq!(most, 5, "the limit was reached, not just kept");
}

/// Four claimers of one backend with `calls_per_second = 20` for about two seconds: all
/// of them together get at most 20 per second plus the burst of 20.
fn paced_claims_share_calls_per_second(s: &Arc<dyn Store>) {
    let batch: Vec<_> = (0..300).map(|i| new_message(&i.to_string())).collect();
    s.insert(&batch, QUEUED, Timestamp::now()).unwrap();
    let pace = Pace {
        max_in_flight: None,
        calls_per_second: Some(20.0),
    };
    let threads: Vec<_> = (0..4)
        .map(|w| {
            let s = s.clone();
            std::thread::spawn(move || {
                let owner = format!("worker-{w}");
                let end = std::time::Instant::now() + std::time::Duration::from_secs(2);
                let (mut got, mut first, mut last) = (0, None, None);
                while std::time::Instant::now() < end {
                    let now = Timestamp::now();
                    let lease = now + SignedDuration::from_secs(60);
                    let claimed = s.claim(&owner, paced(10, pace), now, lease).unwrap();
                    first.get_or_insert(now);
                    last = Some(now);
                    got += claimed.len();
                    // Done at once: the rate alone limits.
                    let ok = accepted(State::Debug, "done");
                    let changes: Vec<_> =
                        claimed.iter().map(|m| (m.id.into(), ok.clone())).collect();
                    s.finish(&owner, &changes, now).unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                (got, first.unwrap(), last.unwrap())
            })
        })
        .collect();
    let runs: Vec<_> = threads.into_iter().map(|h| h.join().unwrap()).collect();
    let total: usize = runs.iter().map(|r| r.0).sum();
    let first = runs.iter().map(|r| r.1).min().unwrap();
    let last = runs.iter().map(|r| r.2).max().unwrap();
    let secs = last.duration_since(first).as_secs_f64();
    // (A thousandth for the rounding of times and tokens.)
    let most = (20.0 * secs + 20.001).floor() as usize;
    eprintln!("{total} claimed in {secs:.2} s by 4 claimers (at most {most})");
    assert!(
        total <= most,
        "{total} claimed in {secs:.2} s, above 20/s + 20"
    );
    assert!(
        total >= 40,
        "only {total} claimed in {secs:.2} s: the rate was not used"
    );
    assert!(
        runs.iter().filter(|r| r.0 > 0).count() >= 2,
        "shared: {runs:?}"
    );
}

fn phone_round_trip(s: &Arc<dyn Store>) {
    let mut n = new_message("x");
    n.recipient = phone("777 123 456");
    s.insert(std::slice::from_ref(&n), QUEUED, t(0)).unwrap();
    assert_eq!(
        s.message(n.id).unwrap().unwrap().recipient.as_str(),
        "+420777123456"
    );
}

/// Ids of other processes may share their leading bits (SQLite keys rows by them): each is
/// still its own message, found, changed and listed by its id; the same id twice is refused.
fn ids_sharing_their_leading_bits(s: &Arc<dyn Store>) {
    let base = MessageId::new().as_uuid().as_u64_pair();
    let twin = |low: u64| {
        let mut m = new_message("twin");
        m.id = MessageId::from_uuid(uuid::Uuid::from_u64_pair(base.0, low));
        m.related = vec![related(&format!("twin:{low}"))];
        m
    };
    let (a, b, c) = (twin(1 << 63 | 1), twin(1 << 63 | 2), twin(1 << 63 | 3));
    s.insert(std::slice::from_ref(&a), QUEUED, t(0)).unwrap();
    s.insert(
        std::slice::from_ref(&b),
        InsertMode::attempting("me", t(60)),
        t(1),
    )
    .unwrap();
    // In one batch too.
    let d = new_message("after");
    s.insert(&[c.clone(), d.clone()], QUEUED, t(2)).unwrap();
    for m in [&a, &b, &c, &d] {
        assert_eq!(s.message(m.id).unwrap().unwrap().id, m.id);
    }
    let done = finish(&**s, b.id, "me", &accepted(State::Debug, "dummy"), t(3))
        .unwrap()
        .unwrap();
    assert_eq!(done.state, State::Debug);
    assert_eq!(s.message(a.id).unwrap().unwrap().state, State::Waiting);
    assert_eq!(s.history(b.id).unwrap().len(), 2);
    assert_eq!(s.history(a.id).unwrap().len(), 1);
    for (m, low) in [(&a, 1u64), (&c, 3)] {
        let f = MessageFilter {
            related: Some(related(&format!("twin:{}", 1u64 << 63 | low))),
            ..Default::default()
        };
        let found: Vec<_> = s.messages(&f).unwrap().iter().map(|m| m.id).collect();
        assert_eq!(found, vec![m.id]);
    }
    assert_eq!(count(s.as_ref()), 4);
    for again in [&a, &c] {
        assert!(
            s.insert(std::slice::from_ref(again), QUEUED, t(4)).is_err(),
            "the same id twice"
        );
    }
    assert_eq!(count(s.as_ref()), 4);
}

/// Where a store can signal queued messages (PostgreSQL), a queued insert ticks the signal
/// within moments; SQLite has none (its worker polls).
fn due_signal_ticks_on_queued_inserts(s: &Arc<dyn Store>) {
    let Some(rx) = s.due_signal().unwrap() else {
        return;
    };
    assert!(!rx.has_changed().unwrap());
    s.insert(&[common::new_message("wake")], QUEUED, t(1))
        .unwrap();
    let start = std::time::Instant::now();
    while !rx.has_changed().unwrap() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(2),
            "no tick"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// Worker heartbeats: one row per worker, replaced at each beat, listed by recency.
fn worker_beats(s: &Arc<dyn Store>) {
    use dialout_store::WorkerBeat;
    let beat = |owner: &str, seen: i64, claimed: u64| WorkerBeat {
        owner: owner.into(),
        started_at: t(0),
        seen_at: t(seen),
        claimed,
        recorded: claimed / 2,
        stopped: false,
    };
    assert!(s.beats(t(0)).unwrap().is_empty());
    s.beat(&beat("a:1:00000001", 10, 4)).unwrap();
    s.beat(&beat("b:2:00000002", 20, 0)).unwrap();
    s.beat(&beat("a:1:00000001", 30, 8)).unwrap();
    let all = s.beats(t(0)).unwrap();
    assert_eq!(
        all,
        vec![beat("a:1:00000001", 30, 8), beat("b:2:00000002", 20, 0)]
    );
    assert_eq!(s.beats(t(25)).unwrap(), vec![beat("a:1:00000001", 30, 8)]);
    assert!(!all[0].silent(t(40)));
    assert!(all[0].silent(t(61)));
    assert!(!all[0].stopped && !all[1].stopped, "running workers");
    // A clean stop is kept with the last beat; a worker that just fell silent is not stopped.
    let last = WorkerBeat {
        stopped: true,
        ..beat("a:1:00000001", 40, 9)
    };
    s.beat(&last).unwrap();
    let all = s.beats(t(0)).unwrap();
    assert_eq!(all, vec![last, beat("b:2:00000002", 20, 0)]);
    assert!(all[0].stopped && !all[1].stopped);
}

/// The dashboard's counts by state and interval, the queue depth, and the filters it adds.
fn dashboard_counts(s: &Arc<dyn Store>) {
    let early = new_message("before the window");
    let a = new_message("a");
    let b = new_message("b");
    let mut c = NewMessage::new(phone("+420777000111"), "c", "dummy");
    c.tag = None;
    s.insert(std::slice::from_ref(&early), QUEUED, t(-100))
        .unwrap();
    s.insert(std::slice::from_ref(&a), QUEUED, t(0)).unwrap();
    s.insert(std::slice::from_ref(&b), QUEUED, t(10)).unwrap();
    s.insert(std::slice::from_ref(&c), QUEUED, t(3700)).unwrap();
    assert_eq!(s.queue_depth().unwrap(), 4);
    let b_now = apply(s.as_ref(), b.id, &cancelled("by test"), t(20))
        .unwrap()
        .expect("b is stored");
    assert!(!b_now.state.is_unpublished());
    assert_eq!(s.queue_depth().unwrap(), 3);

    let mut counts = s.state_counts(t(0), SignedDuration::from_hours(1)).unwrap();
    counts.sort_by_key(|c| (c.bucket, c.state.code()));
    let got: Vec<(i64, State, u64)> = counts
        .iter()
        .map(|c| (c.bucket, c.state, c.count))
        .collect();
    let mut want = vec![
        (0, State::Waiting, 1),
        (0, b_now.state, 1),
        (1, State::Waiting, 1),
    ];
    want.sort_by_key(|w| (w.0, w.1.code()));
    assert_eq!(got, want);
    assert!(
        s.state_counts(t(4000), SignedDuration::from_hours(1))
            .unwrap()
            .is_empty()
    );

    let ids = |f: MessageFilter| {
        s.messages(&f)
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(MessageFilter {
            recipient: Some("+420777000111".into()),
            ..Default::default()
        }),
        vec![c.id]
    );
    assert_eq!(
        ids(MessageFilter {
            created_since: Some(t(0)),
            created_before: Some(t(10)),
            ..Default::default()
        }),
        vec![a.id]
    );
}

// ---- webhooks ----

fn endpoint(s: &dyn Store, events: &[&str], tag: Option<&str>) -> i64 {
    use dialout_store::webhooks::{NewEndpoint, Secret};
    let new = NewEndpoint {
        url: "http://127.0.0.1:9/hook".into(),
        secret: Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
        events: events.iter().map(|e| e.to_string()).collect(),
        tag: tag.map(str::to_string),
    };
    s.webhooks().add_endpoint(&new, t(0)).unwrap().id
}

fn hook_status(state: State, is_final: bool) -> Change {
    Change::Status {
        state,
        is_final,
        error: None,
        sender_data: JsonMap::new(),
        reason: "test".into(),
        reply: Default::default(),
    }
}

/// State changes queue one delivery per subscribed endpoint, in the change's transaction,
/// with the transition's sequence; claims give each message's earliest event only, and
/// never the same delivery to two claimers.
fn webhook_outbox_and_claims(s: &Arc<dyn Store>) {
    use dialout_store::webhooks::{DeliveryFilter, DeliveryState, Outcome};
    let id = s.insert(&[new_message("a")], QUEUED, t(0)).unwrap()[0]
        .message
        .id;
    apply(&**s, id, &hook_status(State::Ready, false), t(1)).unwrap();
    let all = endpoint(&**s, &["message.state_changed", "message.final"], None);
    let finals = endpoint(&**s, &["message.final"], None);
    let tagged = endpoint(&**s, &["message.state_changed"], Some("other"));
    apply(&**s, id, &hook_status(State::CallInProgress, false), t(2)).unwrap();
    apply(&**s, id, &hook_status(State::AnsweredComplete, true), t(3)).unwrap();
    let list = |ep| {
        s.webhooks()
            .deliveries(&DeliveryFilter {
                endpoint_id: Some(ep),
                failed_only: false,
                limit: 10,
            })
            .unwrap()
    };
    let mut got = list(all);
    got.reverse();
    let seen: Vec<_> = got
        .iter()
        .map(|d| (d.event_type.as_str(), d.sequence, d.to))
        .collect();
    assert!(
        seen.contains(&(
            "message.state_changed",
            Some(2),
            Some(State::CallInProgress)
        )),
        "{seen:?}"
    );
    assert!(
        seen.contains(&(
            "message.state_changed",
            Some(3),
            Some(State::AnsweredComplete)
        )),
        "{seen:?}"
    );
    assert_eq!(
        got.len(),
        3,
        "two transitions since the endpoint was added, and the final: {seen:?}"
    );
    assert_eq!(list(finals).len(), 1);
    assert!(list(tagged).is_empty(), "another tag");

    // Only the earliest pending event of the message is claimable.
    let now = Timestamp::now();
    let later = now + SignedDuration::from_secs(60);
    let first = s
        .webhooks()
        .claim_deliveries("w1", all, now, later, 10)
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].sequence, Some(2));
    assert!(
        s.webhooks()
            .claim_deliveries("w2", all, now, later, 10)
            .unwrap()
            .is_empty()
    );
    s.webhooks()
        .record_deliveries(
            "w1",
            &[(
                first[0].id,
                Outcome::Delivered {
                    status: 200,
                    response: "ok".into(),
                },
            )],
            now,
        )
        .unwrap();
    let second = s
        .webhooks()
        .claim_deliveries("w2", all, now, later, 10)
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].sequence, Some(3));
    // A claimer that lost its claim records nothing.
    s.webhooks()
        .record_deliveries(
            "w1",
            &[(
                second[0].id,
                Outcome::Delivered {
                    status: 200,
                    response: String::new(),
                },
            )],
            now,
        )
        .unwrap();
    assert_eq!(
        s.webhooks().delivery(second[0].id).unwrap().unwrap().state,
        DeliveryState::Pending
    );
    s.webhooks()
        .record_deliveries(
            "w2",
            &[(
                second[0].id,
                Outcome::Failed {
                    status: Some(500),
                    error: "x".into(),
                    response: None,
                },
            )],
            now,
        )
        .unwrap();
    // The final event goes once the earlier one is given up.
    let third = s
        .webhooks()
        .claim_deliveries("w2", all, now, later, 10)
        .unwrap();
    assert_eq!(third.len(), 1);
    assert_eq!(third[0].event_type, "message.final");
}

/// Many messages, several concurrent claimers: each delivery claimed once.
fn webhook_concurrent_claims(s: &Arc<dyn Store>) {
    let ep = endpoint(&**s, &["message.state_changed"], None);
    let new: Vec<_> = (0..200).map(|i| new_message(&format!("m{i}"))).collect();
    let ids: Vec<_> = s
        .insert(&new, QUEUED, t(0))
        .unwrap()
        .into_iter()
        .map(|i| i.message.id)
        .collect();
    let changes: Vec<_> = ids
        .iter()
        .map(|&id| (id, hook_status(State::Ready, false)))
        .collect();
    s.apply(&changes, None, t(1)).unwrap();
    let now = Timestamp::now();
    let later = now + SignedDuration::from_secs(60);
    let claimed: Vec<i64> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..4)
            .map(|w| {
                sc.spawn(move || {
                    let mut mine = Vec::new();
                    loop {
                        let got = s
                            .webhooks()
                            .claim_deliveries(&format!("w{w}"), ep, now, later, 7)
                            .unwrap();
                        if got.is_empty() {
                            break mine;
                        }
                        mine.extend(got.into_iter().map(|d| d.id));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let unique: HashSet<_> = claimed.iter().collect();
    assert_eq!(claimed.len(), 200);
    assert_eq!(unique.len(), 200, "no delivery claimed twice");
}

/// A claim is a lease its holder renews (no one else takes the delivery meanwhile, and no
/// one else can renew it); a commit that queues a delivery ticks the queued signal; a
/// disabled endpoint's delivery is not replayed until the endpoint is enabled again.
fn webhook_lease_signal_and_enable(s: &Arc<dyn Store>) {
    use dialout_store::webhooks::{Replay, Replayed};
    let id = s.insert(&[new_message("a")], QUEUED, t(0)).unwrap()[0]
        .message
        .id;
    let ep = endpoint(&**s, &["message.state_changed"], None);
    let mut signal = s.webhooks().queued_signal().unwrap().expect("a signal");
    signal.borrow_and_update();
    apply(&**s, id, &hook_status(State::Ready, false), t(1)).unwrap();
    let start = std::time::Instant::now();
    while !signal.has_changed().unwrap() {
        assert!(
            start.elapsed().as_secs() < 10,
            "the commit ticked the signal"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }

    let now = Timestamp::now();
    let secs = |n| now + SignedDuration::from_secs(n);
    let held = s
        .webhooks()
        .claim_deliveries("w1", ep, now, secs(1), 10)
        .unwrap();
    assert_eq!(held.len(), 1);
    let ids = [held[0].id];
    assert_eq!(s.webhooks().renew_claims("w2", &ids, secs(60)).unwrap(), 0);
    assert_eq!(s.webhooks().renew_claims("w1", &ids, secs(60)).unwrap(), 1);
    assert!(
        s.webhooks()
            .claim_deliveries("w2", ep, secs(2), secs(3), 10)
            .unwrap()
            .is_empty(),
        "renewed past the first lease"
    );
    assert_eq!(
        s.webhooks()
            .claim_deliveries("w2", ep, secs(61), secs(62), 10)
            .unwrap()
            .len(),
        1,
        "free once the renewed lease ended"
    );

    s.webhooks().disable_endpoint(ep, "gone", now).unwrap();
    assert_eq!(
        s.webhooks().replay(Replay::Id(ids[0]), now).unwrap(),
        Replayed::Disabled(vec![ep])
    );
    assert_eq!(
        s.webhooks()
            .replay(Replay::FailedSince(now - SignedDuration::from_secs(1)), now)
            .unwrap(),
        Replayed::Disabled(vec![ep])
    );
    let on = s.webhooks().enable_endpoint(ep).unwrap().expect("stored");
    assert!(on.active && on.disabled_reason.is_none());
    assert!(s.webhooks().enable_endpoint(ep + 100).unwrap().is_none());
    assert_eq!(
        s.webhooks().replay(Replay::Id(ids[0]), now).unwrap(),
        Replayed::Queued(1)
    );
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { let db = crate::common::sqlite(); super::$name(&db.store); } )*
        }
        mod postgres {
            $( #[test] fn $name() { let db = crate::common::postgres(); super::$name(&db.store); } )*
        }
    };
}

suite!(
    insert_and_read_back,
    pages_with_before,
    idempotency_key,
    idempotency_key_under_concurrency,
    bulk_insert_in_one_call,
    list_filters,
    templates,
    template_duplicates,
    unique_insert_refuses_duplicates_atomically,
    claim_order_and_due_times,
    attempt_and_finish,
    finish_as_last_seen,
    claimed_insert_holds_the_claim,
    apply_rules,
    release_renew,
    attempting_claims_outlive_their_sender,
    in_flight_and_cursor,
    concurrent_claims,
    concurrent_claim_ids,
    paced_claim_counts_claimed_and_sent,
    paced_claims_share_max_in_flight,
    paced_claims_share_calls_per_second,
    phone_round_trip,
    ids_sharing_their_leading_bits,
    due_signal_ticks_on_queued_inserts,
    dashboard_counts,
    worker_beats,
    webhook_outbox_and_claims,
    webhook_concurrent_claims,
    webhook_lease_signal_and_enable,
);

#[test]
fn only_postgres_signals_queued_messages() {
    assert!(common::sqlite().store.due_signal().unwrap().is_none());
    assert!(common::postgres().store.due_signal().unwrap().is_some());
}

#[test]
fn unknown_url_scheme_is_refused_without_the_password() {
    let err = dialout_store::open("mysql://u:hunter2@h/db")
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("expected sqlite://"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}
