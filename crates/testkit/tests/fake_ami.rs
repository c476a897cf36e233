//! The fake AMI server on the wire, byte for byte as the reference records real Asterisk:
//! banner, framing, login, Async Originate with its OriginateResponse and Reason per callee,
//! the dialplan's UserEvents and AstDB, DBGet lists, Shutdown on restart.

use std::time::Duration;

use dialout_testkit::fake_ami::{BANNER, Callee, FakeAmi};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Client {
    sock: TcpStream,
    buf: String,
}

impl Client {
    async fn connect(fake: &FakeAmi) -> Client {
        let sock = TcpStream::connect(("127.0.0.1", fake.port()))
            .await
            .unwrap();
        Client {
            sock,
            buf: String::new(),
        }
    }

    async fn fill(&mut self) -> bool {
        let mut b = [0u8; 4096];
        match tokio::time::timeout(Duration::from_secs(5), self.sock.read(&mut b)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => false,
            Ok(Ok(n)) => {
                self.buf.push_str(std::str::from_utf8(&b[..n]).unwrap());
                true
            }
        }
    }

    /// The raw text of the next message, its final blank line included.
    async fn next(&mut self) -> String {
        loop {
            if let Some(i) = self.buf.find("\r\n\r\n") {
                return self.buf.drain(..i + 4).collect();
            }
            assert!(self.fill().await, "connection closed; left: {:?}", self.buf);
        }
    }

    /// The next message whose text contains `needle`.
    async fn until(&mut self, needle: &str) -> String {
        loop {
            let m = self.next().await;
            if m.contains(needle) {
                return m;
            }
        }
    }

    async fn send(&mut self, text: &str) {
        self.sock.write_all(text.as_bytes()).await.unwrap();
    }

    async fn login(&mut self, secret: &str) -> String {
        self.send(&format!(
            "Action: Login\r\nActionID: l1\r\nUsername: dialout\r\nSecret: {secret}\r\n\r\n"
        ))
        .await;
        self.next().await
    }
}

async fn banner(c: &mut Client) -> String {
    while !c.buf.contains("\r\n") {
        assert!(c.fill().await);
    }
    let i = c.buf.find("\r\n").unwrap();
    c.buf.drain(..i + 2).collect()
}

#[tokio::test]
async fn banner_login_and_fully_booted_with_uptime() {
    let fake = FakeAmi::start("dialout", "pw").await.unwrap();
    let mut c = Client::connect(&fake).await;
    assert_eq!(banner(&mut c).await, BANNER);
    assert_eq!(
        c.login("pw").await,
        "Response: Success\r\nActionID: l1\r\nMessage: Authentication accepted\r\n\r\n"
    );
    let booted = c.next().await;
    assert!(
        booted.starts_with("Event: FullyBooted\r\n") && booted.contains("Status: Fully Booted\r\n"),
        "{booted}"
    );
    // An Asterisk that has been up for an hour when the test starts.
    assert!(booted.contains("Uptime: 3600\r\n"), "{booted}");
    assert!(booted.contains("LastReload: 3600\r\n"), "{booted}");
    assert_eq!(fake.logins(), (1, 0));
}

#[tokio::test]
async fn a_refused_login_is_answered_late_and_the_socket_closes_right_after() {
    let fake = FakeAmi::start("dialout", "pw").await.unwrap();
    let mut c = Client::connect(&fake).await;
    banner(&mut c).await;
    let sent = std::time::Instant::now();
    assert_eq!(
        c.login("nope").await,
        "Response: Error\r\nActionID: l1\r\nMessage: Authentication failed\r\n\r\n"
    );
    let waited = sent.elapsed();
    assert!(waited >= Duration::from_millis(950), "{waited:?}");
    assert!(!c.fill().await, "closed after the answer");
    assert!(c.buf.is_empty(), "{:?}", c.buf);
    assert_eq!(fake.logins(), (0, 1));
}

async fn originate(c: &mut Client, aid: &str, number: &str, uid: &str) {
    c.send(&format!(
        "Action: Originate\r\nActionID: {aid}\r\nChannel: Local/{number}@callee\r\nContext: dialout-ami\r\nExten: s\r\nPriority: 1\r\n\
         Async: true\r\nTimeout: 300\r\nChannelId: {uid}\r\nVariable: DIALOUT_ID=m-{aid}\r\nVariable: DIALOUT_AUDIO=http://x/a.wav\r\n\r\n"
    ))
    .await;
}

#[tokio::test]
async fn originate_reasons_events_and_astdb_per_callee() {
    let fake = FakeAmi::start("dialout", "pw").await.unwrap();
    fake.callee("103", Callee::busy());
    fake.callee("104", Callee::NoAnswer);
    fake.callee("105", Callee::congestion());
    fake.callee("106", Callee::Unreachable);
    let mut c = Client::connect(&fake).await;
    banner(&mut c).await;
    c.login("pw").await;
    for (aid, number, reason, db) in [
        ("a3", "420777000103", "5", "failed"),
        ("a4", "420777000104", "3", "failed"),
        ("a5", "420777000105", "8", "failed"),
        ("a6", "420777000106", "0", "failed"),
        ("a1", "420777000101", "4", "complete"),
    ] {
        let uid = format!("0f0f0f0f-0000-4000-8000-00000000000{}", &aid[1..]);
        originate(&mut c, aid, number, &uid).await;
        assert_eq!(
            c.until(&format!("ActionID: {aid}\r\nMessage")).await,
            format!(
                "Response: Success\r\nActionID: {aid}\r\nMessage: Originate successfully queued\r\n\r\n"
            )
        );
        let resp = c.until("Event: OriginateResponse").await;
        assert!(resp.contains(&format!("ActionID: {aid}\r\n")), "{resp}");
        assert!(resp.contains(&format!("Reason: {reason}\r\n")), "{resp}");
        assert!(resp.contains(&format!("Uniqueid: {uid}\r\n")), "{resp}");
        if reason == "4" {
            assert!(
                resp.contains("Response: Success\r\n") && resp.contains(";1\r\n"),
                "{resp}"
            );
            let answered = c.until("UserEvent: DialoutReport").await;
            assert!(answered.contains("Phase: answered\r\n"), "{answered}");
            let complete = c.until("Phase: complete").await;
            assert!(
                complete.contains("PlaybackStatus: SUCCESS\r\n"),
                "{complete}"
            );
            let hangup = c.until(&format!("Uniqueid: {uid}\r\nCause: 16")).await;
            assert!(hangup.starts_with("Event: Hangup\r\n"), "{hangup}");
        } else {
            assert!(resp.contains("Response: Failure\r\n"), "{resp}");
            assert!(
                resp.contains(&format!("Channel: Local/{number}@callee\r\n")),
                "dial string as given: {resp}"
            );
            let failed = c.until("Phase: failed").await;
            assert!(
                failed.contains(&format!("Reason: {reason}\r\n")),
                "{failed}"
            );
        }
        let v = fake.db("dialout", &format!("m-{aid}")).unwrap();
        assert!(v.starts_with(db), "{v}");
    }
    // DBGet: an event list; a missing key: an error.
    c.send("Action: DBGet\r\nActionID: g1\r\nFamily: dialout\r\nKey: m-a1\r\n\r\n")
        .await;
    assert_eq!(
        c.until("ActionID: g1\r\nEventList").await,
        "Response: Success\r\nActionID: g1\r\nEventList: start\r\nMessage: Result will follow\r\n\r\n"
    );
    let got = c.until("Event: DBGetResponse").await;
    assert!(
        got.contains("Val: complete ") && got.ends_with(" SUCCESS\r\nActionID: g1\r\n\r\n"),
        "{got}"
    );
    let done = c.until("Event: DBGetComplete").await;
    assert!(
        done.contains("EventList: Complete\r\nListItems: 1\r\n"),
        "{done}"
    );
    c.send("Action: DBDel\r\nActionID: d1\r\nFamily: dialout\r\nKey: m-a1\r\n\r\n")
        .await;
    assert!(
        c.until("ActionID: d1")
            .await
            .starts_with("Response: Success")
    );
    c.send("Action: DBGet\r\nActionID: g2\r\nFamily: dialout\r\nKey: m-a1\r\n\r\n")
        .await;
    assert_eq!(
        c.until("ActionID: g2").await,
        "Response: Error\r\nActionID: g2\r\nMessage: Database entry not found\r\n\r\n"
    );
}

#[tokio::test]
async fn a_restart_refuses_every_action_then_says_shutdown_closes_and_keeps_astdb() {
    let fake = FakeAmi::start("dialout", "pw").await.unwrap();
    fake.playback(Duration::from_secs(5));
    let mut c = Client::connect(&fake).await;
    banner(&mut c).await;
    c.login("pw").await;
    originate(&mut c, "r1", "420777000101", "u-r1").await;
    c.until("Phase: answered").await;
    let f = &fake;
    let during = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        // On the open connection: refused, the key stays.
        c.send("Action: DBDel\r\nActionID: d1\r\nFamily: dialout\r\nKey: m-r1\r\n\r\n")
            .await;
        let refused = c.until("ActionID: d1").await;
        // A new connection is accepted, and its Login refused the same way.
        let mut late = Client::connect(f).await;
        banner(&mut late).await;
        let login = late.login("pw").await;
        let shutdown = c.until("Event: Shutdown").await;
        // Still accepting for a moment after the close, still refusing.
        let mut later = Client::connect(f).await;
        banner(&mut later).await;
        assert!(
            later
                .login("pw")
                .await
                .contains("Message: Asterisk is shutting down\r\n")
        );
        (refused, login, shutdown)
    };
    let (_, (refused, login, shutdown)) =
        tokio::join!(f.restart(Duration::from_millis(300)), during);
    assert_eq!(
        refused,
        "Response: Error\r\nActionID: d1\r\nMessage: Asterisk is shutting down\r\n\r\n"
    );
    assert_eq!(
        login,
        "Response: Error\r\nActionID: l1\r\nMessage: Asterisk is shutting down\r\n\r\n"
    );
    assert!(
        shutdown.contains("Shutdown: Cleanly\r\nRestart: True\r\n"),
        "{shutdown}"
    );
    assert!(!c.fill().await || !c.fill().await, "then the socket closes");
    assert!(
        fake.db("dialout", "m-r1").unwrap().starts_with("hangup "),
        "cut mid-call: h ran, DBDel deleted nothing"
    );
    let mut again = Client::connect(&fake).await;
    assert_eq!(banner(&mut again).await, BANNER);
    assert!(again.login("pw").await.contains("Authentication accepted"));
    let booted = again.next().await;
    assert!(booted.contains("Uptime: 0\r\n"), "a new start: {booted}");
}

#[tokio::test]
async fn a_crash_closes_without_shutdown_and_keeps_astdb_as_it_was() {
    let fake = FakeAmi::start("dialout", "pw").await.unwrap();
    fake.playback(Duration::from_secs(5));
    fake.callee("420777000104", Callee::NoAnswer);
    let mut c = Client::connect(&fake).await;
    banner(&mut c).await;
    c.login("pw").await;
    originate(&mut c, "a1", "420777000101", "u-a1").await;
    c.until("Phase: answered").await;
    fake.db_put("dialout", "m-b1", "originated 1796249000 1");
    originate(&mut c, "b1", "420777000104", "u-b1").await;
    c.until("Event: DialBegin\r\nPrivilege: call,all\r\nChannel: Local/420777000104")
        .await;
    assert_eq!(fake.call_phase("m-a1"), Some("playing"));
    assert_eq!(fake.call_phase("m-b1"), Some("ringing"));
    let f = &fake;
    let (_, rest) = tokio::join!(f.crash(Duration::from_millis(300)), async {
        let mut rest = String::new();
        while c.fill().await {}
        rest.push_str(&c.buf);
        rest
    });
    assert!(!rest.contains("Shutdown"), "{rest}");
    assert_eq!(fake.live_calls(), 0);
    // Neither h nor failed ran: AstDB holds what it held.
    assert!(fake.db("dialout", "m-a1").unwrap().starts_with("answered "));
    assert_eq!(
        fake.db("dialout", "m-b1").unwrap(),
        "originated 1796249000 1"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut again = Client::connect(&fake).await;
    banner(&mut again).await;
    again.login("pw").await;
    let booted = again.next().await;
    assert!(
        booted.contains("Uptime: 0\r\n") || booted.contains("Uptime: 1\r\n"),
        "{booted}"
    );
    assert!(
        fake.db("dialout", "m-a1").unwrap().starts_with("answered "),
        "no late event wrote"
    );
}
