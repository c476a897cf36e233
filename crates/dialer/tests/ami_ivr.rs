//! Interactive calls on the AMI backend against the fake AMI: every callee of
//! `ivr_support` ends in its state with its keys, answer and verdict; what was originated;
//! a reconnect reads the results back from AstDB; the keys are removed at the end.

mod ami_support;
mod ivr_support;

use std::time::Duration;

use ami_support::*;
use dialout_backends::ami::audio::prompt_key;
use dialout_backends::backend::Backend;
use dialout_testkit::fake_ami::{Callee, FakeAmi};

async fn fake() -> FakeAmi {
    let f = FakeAmi::start(USER, SECRET).await.unwrap();
    // 2 s of message and 2 s of prompt, 100 times faster.
    f.ivr_scale(0.01);
    f.playback(Duration::from_millis(20));
    f.prompt_length(2.0);
    for c in ivr_support::cases() {
        let callee = match c.hangup_after {
            Some(h) => Callee::talks_then_hangs_up(c.party.clone(), h),
            None => Callee::talks(c.party.clone()),
        };
        f.callee(&c.number[1..], callee);
    }
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_callee_ends_with_its_keys_answer_and_verdict() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let b = backend(&fake, dir.path(), "");
    let cases = ivr_support::cases();
    let mut ms: Vec<_> = cases
        .iter()
        .map(|c| ivr_support::message(c, "pbx"))
        .collect();
    for m in ms.iter_mut() {
        assert_eq!(b.check_interactive(&m.interactive), Ok(()));
        publish(&b, m).await;
    }
    until_final(&b, &mut ms, Duration::from_secs(10)).await;
    for (c, m) in cases.iter().zip(&ms) {
        ivr_support::check(c, m);
        assert_eq!(fake.times_called(&c.number[1..]), 1, "{}", c.name);
    }
    // AMD's cause is kept beside the verdict.
    assert_eq!(
        ms[0]
            .extra_sender_data
            .get("amd_cause")
            .and_then(|v| v.as_str()),
        Some("HUMAN-816-800")
    );

    // Interactive messages go to Exten ivr with the dialplan's variables; the prompt has its
    // own long audio URL.
    let o = fake.originated();
    let first = o
        .iter()
        .find(|o| o.channel.contains(&cases[0].number[1..]))
        .unwrap();
    assert_eq!(first.exten, "ivr");
    assert_eq!(first.variable("DIALOUT_MACHINE"), Some("ignore"));
    assert_eq!(first.variable("DIALOUT_GATHER"), Some("2"));
    assert_eq!(first.variable("DIALOUT_KEYS"), Some("12"));
    assert_eq!(first.variable("DIALOUT_FINISH"), Some("#"));
    let url = format!(
        "http://dialout.example:8080/audio/{}.wav",
        prompt_key(SECRET, ms[0].id)
    );
    assert_eq!(first.variable("DIALOUT_PROMPT"), Some(url.as_str()));
    assert!(
        b.audio(
            &{
                let mut live = ms[0].clone();
                live.is_final_state = false;
                live
            },
            &prompt_key(SECRET, ms[0].id)
        )
        .is_some(),
        "the prompt is served while in flight"
    );

    // Once no message is in flight, both AstDB keys go.
    b.intake().unwrap().collect(&[]).await.unwrap();
    for m in &ms {
        let id = m.id.to_string();
        assert_eq!(fake.db("dialout", &id), None);
        assert_eq!(fake.db("dialout-ivr", &id), None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_process_reads_the_keys_back_from_astdb() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let cases = ivr_support::cases();
    let c = &cases[3]; // a wrong key, the prompt again, then 1
    let mut m = ivr_support::message(c, "pbx");
    {
        let b = backend(&fake, dir.path(), "");
        publish(&b, &mut m).await;
        // The backend (a worker) goes away during the first prompt.
        tokio::time::sleep(Duration::from_millis(45)).await;
    }
    // The call goes on without anyone listening.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(fake.db("dialout-ivr", &m.id.to_string()).is_some());
    let b = backend(&fake, dir.path(), "");
    let mut ms = vec![m];
    until_final(&b, &mut ms, Duration::from_secs(10)).await;
    ivr_support::check(c, &ms[0]);
    assert_eq!(
        fake.times_called(&c.number[1..]),
        1,
        "nobody is called twice"
    );
}
