//! Interactive calls end to end through the `Dialer` and the File backend (whose consumer
//! reports the keys and who answered in its result files), on SQLite and PostgreSQL: each
//! callee outcome ends in the right state, digits, answer and answered_by, in the message,
//! its final history entry, its JSON and the webhook event of its final state. Backends that
//! cannot make the call refuse it at send, storing nothing.

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod delivery_support;
mod webhooks_support;

use std::path::Path;
use std::time::Duration;

use common::TestDb;
use dialout_dialer::{
    AnsweredBy, Config, Dialer, GatherSpec, InvalidInput, MachinePolicy, MessageFilter, MessageId,
    NewTemplate, SendError, SendRequest, State, TemplateRequest, json,
};
use serde_json::{Value, json};
use webhooks_support::{Mode, Receiver};

fn dialer(db: &TestDb, outbox: &Path) -> Dialer {
    let text = format!(
        "database_url = {:?}\ndefault_backend = \"f\"\n\
         [backends.f]\nkind = \"file\"\ndir = {:?}\n\
         [backends.dk]\nkind = \"daktela\"\nurl = \"http://127.0.0.1:9/api/v6/campaignsRecords\"\n\
         access_token = \"t0ken\"\nautodialer_record_type = \"records_1\"\n\
         [backends.dummy]\nkind = \"dummy\"\n",
        db.url,
        outbox.display().to_string()
    );
    let config = Config::from_toml(&text, "test").unwrap();
    Dialer::open(&config).expect("open the dialer")
}

fn menu() -> GatherSpec {
    serde_json::from_value(json!({
        "prompt": "Press 1 to confirm, 2 to cancel.",
        "keys": "12",
        "answers": {"1": "confirmed", "2": "cancelled"}
    }))
    .unwrap()
}

fn reminder(content: &str) -> SendRequest {
    let mut r = SendRequest::new("+420777123456", content);
    r.options.gather = Some(menu());
    r.options.machine = Some(MachinePolicy::LeaveMessage);
    r
}

fn result(dir: &Path, id: MessageId, body: Value) {
    std::fs::create_dir_all(dir.join("results")).unwrap();
    std::fs::write(
        dir.join("results").join(format!("{id}.json")),
        body.to_string(),
    )
    .unwrap();
}

/// Each callee: what the consumer reports, and what must be stored.
struct Case {
    name: &'static str,
    report: Value,
    digits: Option<&'static str>,
    answer: Option<&'static str>,
    answered_by: Option<AnsweredBy>,
}

fn cases() -> Vec<Case> {
    let done = "ANSWERED_COMPLETE";
    vec![
        Case {
            name: "pressed 1",
            report: json!({"state": done, "digits": "1", "answered_by": "human",
                           "answered_at": "2026-12-07T10:00:05Z"}),
            digits: Some("1"),
            answer: Some("confirmed"),
            answered_by: Some(AnsweredBy::Human),
        },
        Case {
            name: "pressed a wrong key",
            report: json!({"state": done, "digits": "9", "answered_by": "human"}),
            digits: Some("9"),
            answer: None,
            answered_by: Some(AnsweredBy::Human),
        },
        Case {
            name: "pressed nothing",
            report: json!({"state": done, "answered_by": "human"}),
            digits: None,
            answer: None,
            answered_by: Some(AnsweredBy::Human),
        },
        Case {
            name: "hung up during the prompt",
            report: json!({"state": done}),
            digits: None,
            answer: None,
            answered_by: None,
        },
        Case {
            name: "a machine got the message after its greeting",
            report: json!({"state": done, "answered_by": "machine"}),
            digits: None,
            answer: None,
            answered_by: Some(AnsweredBy::Machine),
        },
    ]
}

async fn every_callee_outcome_is_stored_and_shown(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let d = dialer(db, dir.path());
    let rx = Receiver::start(Mode::Ok).await;
    d.add_webhook(&rx.url(), Some(vec!["message.final".into()]), None)
        .await
        .unwrap();
    let cases = cases();
    let mut ids = Vec::new();
    for c in &cases {
        let sent = d.send(reminder(c.name)).await.unwrap();
        assert_eq!(sent.message.state, State::Ready, "{}", c.name);
        // The consumer finds the gather and the policy in the outbox file.
        let file: Value = serde_json::from_slice(
            &std::fs::read(dir.path().join(format!("{}.json", sent.message.id))).unwrap(),
        )
        .unwrap();
        assert_eq!(file["gather"]["keys"], "12");
        assert_eq!(file["gather"]["answers"]["1"], "confirmed");
        assert_eq!(file["machine"], "leave_message");
        result(dir.path(), sent.message.id, c.report.clone());
        ids.push(sent.message.id);
    }
    let run = d.check_status().await.unwrap();
    assert!(run.ok(), "{run:?}");
    let f = run.backends.iter().find(|b| b.backend == "f").unwrap();
    assert_eq!(f.updated.len(), cases.len(), "{run:?}");

    for (c, id) in cases.iter().zip(&ids) {
        let (m, history) = d.message_with_history(*id).await.unwrap();
        let what = c.name;
        assert_eq!(
            (m.state, m.is_final_state),
            (State::AnsweredComplete, true),
            "{what}"
        );
        assert_eq!(m.reply.digits.as_deref(), c.digits, "{what}");
        assert_eq!(m.reply.answer.as_deref(), c.answer, "{what}");
        assert_eq!(m.reply.answered_by, c.answered_by, "{what}");
        assert_eq!(
            m.reply.answered_at.is_some(),
            c.digits.is_some() || c.answered_by.is_some(),
            "{what}"
        );
        let last = history.last().unwrap();
        assert_eq!(last.to, State::AnsweredComplete);
        assert_eq!(
            last.reply, m.reply,
            "{what}: the final entry carries the reply"
        );

        let j = json::message(&m);
        assert_eq!(j["digits"], json!(c.digits), "{what}");
        assert_eq!(j["answer"], json!(c.answer), "{what}");
        assert_eq!(j["answered_by"], json!(c.answered_by), "{what}");
        assert_eq!(j["machine"], "leave_message");
        assert_eq!(j["gather"]["prompt"], "Press 1 to confirm, 2 to cancel.");
        let h = json::history(last);
        assert_eq!(
            h.get("digits"),
            c.digits.map(|d| json!(d)).as_ref(),
            "{what}"
        );
        assert!(json::history(&history[0]).get("digits").is_none());
    }
    let first = d.message(ids[0]).await.unwrap().unwrap();
    assert_eq!(
        first.reply.answered_at.unwrap().to_string(),
        "2026-12-07T10:00:05Z"
    );

    // The event of each final state.
    d.webhook_deliverer().unwrap().drain().await.unwrap();
    rx.wait_for(cases.len(), Duration::from_secs(10)).await;
    for (c, id) in cases.iter().zip(&ids) {
        let event = rx
            .requests()
            .iter()
            .map(|r| r.json())
            .find(|e| e["data"]["message"]["id"] == id.to_string())
            .unwrap_or_else(|| panic!("no event for {}", c.name));
        assert_eq!(event["type"], "message.final");
        let data = &event["data"];
        assert_eq!(data["to"], "ANSWERED_COMPLETE");
        assert_eq!(data["digits"], json!(c.digits), "{}", c.name);
        assert_eq!(data["answer"], json!(c.answer), "{}", c.name);
        assert_eq!(data["answered_by"], json!(c.answered_by), "{}", c.name);
        assert_eq!(data["message"]["answer"], json!(c.answer));
    }

    // Messages by answer.
    let confirmed = d
        .messages(MessageFilter {
            answer: Some("confirmed".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        confirmed.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![ids[0]]
    );
}

async fn a_template_asks_and_a_send_overrides(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let d = dialer(db, dir.path());
    let gather = dialout_dialer::Gather::try_from(menu()).unwrap();
    d.add_template(NewTemplate {
        slug: "visit".into(),
        body: "Your visit is tomorrow at {{ time }}.".into(),
        active: true,
        allow_duplicates: true,
        interactive: dialout_dialer::Interactive {
            gather: Some(gather.clone()),
            machine: Some(MachinePolicy::Hangup),
        },
    })
    .await
    .unwrap();
    let t = d.template("visit").await.unwrap();
    assert_eq!(t.interactive.gather.as_ref(), Some(&gather));
    let request = |machine: Option<MachinePolicy>| {
        let mut r = TemplateRequest {
            recipient: "+420777123456".into(),
            slug: "visit".into(),
            context: json!({"time": "9:00"}),
            ..Default::default()
        };
        r.options.machine = machine;
        r
    };
    let m = d.send_template(request(None)).await.unwrap().message;
    assert_eq!(m.interactive.gather.as_ref(), Some(&gather));
    assert_eq!(m.interactive.machine, Some(MachinePolicy::Hangup));
    let m = d
        .send_template(request(Some(MachinePolicy::Ignore)))
        .await
        .unwrap()
        .message;
    assert_eq!(m.interactive.gather.as_ref(), Some(&gather), "kept");
    assert_eq!(
        m.interactive.machine,
        Some(MachinePolicy::Ignore),
        "replaced"
    );

    // A template change removes the gather.
    d.update_template(
        "visit",
        dialout_dialer::TemplateChange {
            gather: Some(None),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let m = d.send_template(request(None)).await.unwrap().message;
    assert_eq!(m.interactive.gather, None);
    assert_eq!(m.interactive.machine, Some(MachinePolicy::Hangup));
}

async fn refusals_store_nothing(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let d = dialer(db, dir.path());
    // Daktela's API has no way to ask for keys or a machine policy.
    let mut r = reminder("dk");
    r.options.backend = Some("dk".into());
    let e = d.send(r).await.unwrap_err();
    assert!(
        matches!(&e, SendError::Invalid(InvalidInput::Interactive { backend, field: "gather", .. }) if backend == "dk"),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(text.contains("campaign records API"), "{text}");
    let mut r = SendRequest::new("+420777123456", "machine only");
    r.options.backend = Some("dk".into());
    r.options.machine = Some(MachinePolicy::Hangup);
    assert!(matches!(
        d.send(r).await.unwrap_err(),
        SendError::Invalid(InvalidInput::Interactive {
            field: "machine",
            ..
        })
    ));
    // A gather that cannot be made.
    let mut r = reminder("bad keys");
    r.options.gather = Some(serde_json::from_value(json!({"keys": "1a"})).unwrap());
    let e = d.send(r).await.unwrap_err();
    assert!(
        matches!(e, SendError::Invalid(InvalidInput::Gather(_))),
        "{e:?}"
    );
    assert!(e.to_string().contains("gather keys"), "{e}");
    // Nothing was stored; a plain message to Daktela is still fine to store.
    assert!(
        d.messages(MessageFilter::default())
            .await
            .unwrap()
            .messages
            .is_empty()
    );
    // The Dummy backend takes interactive messages (it calls nobody).
    let mut r = reminder("dummy");
    r.options.backend = Some("dummy".into());
    let m = d.send(r).await.unwrap().message;
    assert_eq!(m.state, State::Debug);
    assert!(m.interactive.gather.is_some());
}

delivery_support::db_suite!(
    every_callee_outcome_is_stored_and_shown,
    a_template_asks_and_a_send_overrides,
    refusals_store_nothing,
);
