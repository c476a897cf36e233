//! Interactive calls in both stores: what a message asks (gather, machine policy) is kept
//! through every insert path, and what came back (the reply) is merged from status updates,
//! written on the message and on the history entry of its final state, and filterable.

mod common;

use std::sync::Arc;

use common::new_message;
use dialout_model::interactive::{AnsweredBy, Gather, Interactive, MachinePolicy, Reply};
use dialout_model::{JsonMap, MessageId, NewMessage, State};
use dialout_store::prelude::*;
use dialout_store::{Change, Claimable, InsertMode, MessageFilter};
use jiff::Timestamp;
use serde_json::json;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn menu() -> Gather {
    serde_json::from_value(json!({
        "prompt": "Press 1 to confirm, 2 to cancel.",
        "keys": "12",
        "timeout": 7,
        "answers": {"1": "confirmed", "2": "cancelled"}
    }))
    .unwrap()
}

fn interactive(machine: Option<MachinePolicy>) -> Interactive {
    Interactive {
        gather: Some(menu()),
        machine,
    }
}

fn asking(content: &str) -> NewMessage {
    let mut n = new_message(content);
    n.interactive = interactive(Some(MachinePolicy::LeaveMessage));
    n
}

fn status(state: State, reply: Reply) -> Change {
    Change::Status {
        state,
        is_final: state.is_final_by_default(),
        error: None,
        sender_data: JsonMap::new(),
        reason: format!("{state}"),
        reply,
    }
}

fn apply(s: &dyn Store, id: MessageId, c: Change, at: Timestamp) {
    s.apply(&[(id, c)], None, at).unwrap();
}

/// Every way a message is stored keeps what it asks; a plain message asks nothing.
fn the_ask_is_kept_by_every_insert_path(s: &Arc<dyn Store>) {
    let one = asking("one");
    s.insert(std::slice::from_ref(&one), InsertMode::QUEUED, t(0))
        .unwrap();
    let many: Vec<NewMessage> = (0..3).map(|i| asking(&format!("many {i}"))).collect();
    s.insert(&many, InsertMode::QUEUED, t(0)).unwrap();
    let mut keyed = asking("keyed");
    keyed.idempotency_key = Some("k-1".into());
    keyed.interactive.machine = Some(MachinePolicy::Hangup);
    s.insert(std::slice::from_ref(&keyed), InsertMode::QUEUED, t(0))
        .unwrap();
    let claimed = asking("claimed");
    s.insert(
        std::slice::from_ref(&claimed),
        InsertMode::attempting("me", t(60)),
        t(0),
    )
    .unwrap();
    let plain = new_message("plain");
    s.insert(std::slice::from_ref(&plain), InsertMode::QUEUED, t(0))
        .unwrap();

    for n in [&one, &many[0], &many[2], &keyed, &claimed] {
        let m = s.message(n.id).unwrap().unwrap();
        assert_eq!(m.interactive, n.interactive, "{}", n.content);
        assert_eq!(m.interactive.gather.as_ref().unwrap().timeout_secs(), 7);
        assert!(m.reply.is_empty());
    }
    let m = s.message(plain.id).unwrap().unwrap();
    assert!(m.interactive.is_plain() && m.reply == Reply::default());
    // The listing reads the same columns.
    let listed = s.messages(&MessageFilter::default()).unwrap();
    let k = listed.iter().find(|m| m.id == keyed.id).unwrap();
    assert_eq!(k.interactive.machine, Some(MachinePolicy::Hangup));
    // A claimed message read back by its claim keeps it too.
    let c = s
        .claim("you", Claimable::Ids(&[one.id]), t(1), t(61))
        .unwrap();
    assert_eq!(c[0].interactive, one.interactive);
}

/// Reports add up (who answered first, the keys later); the entry of the final state, and
/// only it, carries the reply; repeating a report changes nothing.
fn replies_merge_into_the_message_and_its_final_entry(s: &Arc<dyn Store>) {
    let n = asking("remind");
    s.insert(std::slice::from_ref(&n), InsertMode::QUEUED, t(0))
        .unwrap();
    let human = Reply {
        answered_by: Some(AnsweredBy::Human),
        answered_at: Some(t(5)),
        ..Reply::default()
    };
    apply(
        &**s,
        n.id,
        status(State::CallInProgress, human.clone()),
        t(5),
    );
    let m = s.message(n.id).unwrap().unwrap();
    assert_eq!(m.reply, human);
    let before = s.history(n.id).unwrap();
    assert!(before.iter().all(|h| h.reply == Reply::default()));

    // The same report again: nothing to write, no new history line.
    s.apply(
        &[(n.id, status(State::CallInProgress, human.clone()))],
        None,
        t(6),
    )
    .unwrap();
    assert_eq!(s.history(n.id).unwrap().len(), before.len());

    let pressed = Reply::pressed(&menu(), "1", t(9));
    apply(
        &**s,
        n.id,
        status(State::AnsweredComplete, pressed.clone()),
        t(10),
    );
    let m = s.message(n.id).unwrap().unwrap();
    assert!(m.is_final_state);
    let want = Reply {
        digits: Some("1".into()),
        answer: Some("confirmed".into()),
        answered_by: Some(AnsweredBy::Human),
        answered_at: Some(t(9)),
    };
    assert_eq!(m.reply, want);
    let h = s.history(n.id).unwrap();
    let last = h.last().unwrap();
    assert_eq!(last.to, State::AnsweredComplete);
    assert_eq!(last.reply, want);
    assert!(h[..h.len() - 1].iter().all(|h| h.reply == Reply::default()));
    // The history entry's JSON shows the reply's fields only when set.
    let first = serde_json::to_value(&h[0]).unwrap();
    assert!(first.get("digits").is_none() && first.get("answered_by").is_none());
    let final_json = serde_json::to_value(last).unwrap();
    assert_eq!(final_json["digits"], "1");
    assert_eq!(final_json["answer"], "confirmed");
    assert_eq!(final_json["answered_by"], "human");
}

/// A machine that got the message after its greeting; a callee who pressed nothing.
fn a_machine_and_a_silent_callee(s: &Arc<dyn Store>) {
    let (machine, silent) = (asking("machine"), asking("silent"));
    s.insert(&[machine.clone(), silent.clone()], InsertMode::QUEUED, t(0))
        .unwrap();
    let by_machine = Reply {
        answered_by: Some(AnsweredBy::Machine),
        answered_at: Some(t(3)),
        ..Reply::default()
    };
    apply(
        &**s,
        machine.id,
        status(State::AnsweredComplete, by_machine.clone()),
        t(20),
    );
    apply(
        &**s,
        silent.id,
        status(State::AnsweredComplete, Reply::default()),
        t(20),
    );
    let m = s.message(machine.id).unwrap().unwrap();
    assert_eq!(
        (m.state, m.reply.clone()),
        (State::AnsweredComplete, by_machine)
    );
    assert_eq!(m.reply.digits, None);
    let q = s.message(silent.id).unwrap().unwrap();
    assert_eq!(
        (q.state, q.reply.clone()),
        (State::AnsweredComplete, Reply::default())
    );
    assert_eq!(
        s.history(silent.id).unwrap().last().unwrap().reply,
        Reply::default()
    );
}

/// `answer` selects messages by the label of their reply.
fn filter_by_answer(s: &Arc<dyn Store>) {
    let new: Vec<NewMessage> = (0..4).map(|i| asking(&format!("m{i}"))).collect();
    s.insert(&new, InsertMode::QUEUED, t(0)).unwrap();
    for (n, digits) in new.iter().zip(["1", "2", "1"]) {
        let r = Reply::pressed(&menu(), digits, t(8));
        apply(&**s, n.id, status(State::AnsweredComplete, r), t(9));
    }
    let by = |a: &str| {
        let mut ids: Vec<MessageId> = s
            .messages(&MessageFilter {
                answer: Some(a.into()),
                ..MessageFilter::default()
            })
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect();
        ids.sort();
        ids
    };
    let mut confirmed = vec![new[0].id, new[2].id];
    confirmed.sort();
    assert_eq!(by("confirmed"), confirmed);
    assert_eq!(by("cancelled"), vec![new[1].id]);
    assert!(by("maybe").is_empty());
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
    the_ask_is_kept_by_every_insert_path,
    replies_merge_into_the_message_and_its_final_entry,
    a_machine_and_a_silent_callee,
    filter_by_answer,
);
