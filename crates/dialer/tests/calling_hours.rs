//! Calling hours in the recipient's time zone, through the worker and `send`, with the
//! delivery's clock set to chosen instants around DST changes — on SQLite and PostgreSQL.

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod delivery_support;

use std::sync::Arc;
use std::time::Duration;

use common::{TestDb, phone};
use delivery_support::*;
use dialout_backends::backend::{Accepted, Publish};
use dialout_dialer::delivery::{Clock, DeliverySettings};
use dialout_dialer::{
    Config, Dialer, InvalidInput, JsonMap, NewMessage, SendError, SendRequest, State,
};
use dialout_model::hours::CallingHours;
use jiff::Timestamp;

fn hours(text: &str) -> Arc<CallingHours> {
    Arc::new(CallingHours::from_table(&toml::from_str(text).unwrap(), None).unwrap())
}

fn settings(text: &str, clock: &Clock) -> DeliverySettings {
    DeliverySettings {
        calling_hours: Some(hours(text)),
        clock: clock.clone(),
        retry_base: Duration::from_secs(300),
        retry_jitter: 0.0,
        ..Default::default()
    }
}

/// A local wall-clock time in `zone` as an instant.
fn at(local: &str, zone: &str) -> Timestamp {
    local
        .parse::<jiff::civil::DateTime>()
        .unwrap()
        .in_tz(zone)
        .unwrap()
        .timestamp()
}

fn to(number: &str) -> NewMessage {
    NewMessage::new(phone(number), "your appointment is tomorrow", "s")
}

/// The state, attempts and due time of a stored message.
fn waiting_until(db: &TestDb, id: dialout_dialer::MessageId) -> (State, u32, Option<Timestamp>) {
    let m = get(&db.store, id);
    (m.state, m.attempts, m.next_attempt_at)
}

async fn a_new_york_number_queued_at_0859_is_published_at_0900(db: &TestDb) {
    // Monday 2026-03-09, the day after New York moved to summer time (UTC-4).
    let clock = Clock::manual(at("2026-03-09T08:59", "America/New_York"));
    let backend = Scripted::accepting("s");
    let b = backends(
        backend.clone(),
        settings("mon-fri = \"09:00-20:00\"", &clock),
    );
    let ids = insert(&db.store, vec![to("+12125550100")], clock.now());

    run_worker_once(&db.store, b.clone()).await;
    let nine = at("2026-03-09T09:00", "America/New_York");
    assert_eq!(nine.to_string(), "2026-03-09T13:00:00Z");
    assert_eq!(
        waiting_until(db, ids[0]),
        (State::Waiting, 0, Some(nine)),
        "waits for 09:00 local without an attempt"
    );
    assert_eq!(backend.total(), 0);
    let h = history(&db.store, ids[0]);
    let note = &h.last().unwrap().reason;
    assert!(
        note.contains("outside calling hours in America/New_York")
            && note.contains("2026-03-09T09:00:00-04:00"),
        "{note}"
    );

    clock.set(at("2026-03-09T08:59:59", "America/New_York"));
    run_worker_once(&db.store, b.clone()).await;
    assert_eq!(backend.total(), 0, "never before 09:00");

    clock.set(nine);
    run_worker_once(&db.store, b).await;
    assert_eq!(backend.total(), 1);
    let m = get(&db.store, ids[0]);
    assert_eq!((m.state, m.attempts), (State::Ready, 1));
    assert_eq!(m.sent_at, Some(nine));
}

async fn a_sydney_number_waits_over_the_weekend_and_the_dst_change(db: &TestDb) {
    // Friday 2026-04-03 21:00 in Sydney (UTC+11); summer time ends on Sunday 5 April.
    let clock = Clock::manual(at("2026-04-03T21:00", "Australia/Sydney"));
    let backend = Scripted::accepting("s");
    let b = backends(
        backend.clone(),
        settings("mon-fri = \"09:00-20:00\"", &clock),
    );
    let ids = insert(&db.store, vec![to("+61291234567")], clock.now());
    run_worker_once(&db.store, b.clone()).await;
    let monday = at("2026-04-06T09:00", "Australia/Sydney");
    assert_eq!(
        monday.to_string(),
        "2026-04-05T23:00:00Z",
        "09:00 at UTC+10"
    );
    assert_eq!(waiting_until(db, ids[0]), (State::Waiting, 0, Some(monday)));

    // The old offset's 09:00 (an hour early) is still closed.
    clock.set(at("2026-04-05T22:00", "UTC"));
    run_worker_once(&db.store, b.clone()).await;
    assert_eq!(backend.total(), 0);
    clock.set(monday);
    run_worker_once(&db.store, b).await;
    assert_eq!(get(&db.store, ids[0]).state, State::Ready);
}

async fn a_us_prefix_in_two_zones_waits_for_both(db: &TestDb) {
    // +1 208-299: America/Boise (UTC-6 in summer) and America/Los_Angeles (UTC-7).
    let clock = Clock::manual(at("2026-03-09T09:30", "America/Boise"));
    let backend = Scripted::accepting("s");
    let b = backends(
        backend.clone(),
        settings("mon-fri = \"09:00-20:00\"", &clock),
    );
    let ids = insert(&db.store, vec![to("+12082991234")], clock.now());
    run_worker_once(&db.store, b.clone()).await;
    let la_nine = at("2026-03-09T09:00", "America/Los_Angeles");
    assert_eq!(
        waiting_until(db, ids[0]),
        (State::Waiting, 0, Some(la_nine))
    );
    let note = history(&db.store, ids[0]).last().unwrap().reason.clone();
    assert!(
        note.contains("America/Boise & America/Los_Angeles"),
        "{note}"
    );
    clock.set(la_nine);
    run_worker_once(&db.store, b).await;
    assert_eq!(backend.total(), 1);
}

async fn a_holiday_is_closed_all_day(db: &TestDb) {
    // Thursday 2026-12-24 10:00 in Prague, inside the weekday window but a holiday.
    let clock = Clock::manual(at("2026-12-24T10:00", "Europe/Prague"));
    let backend = Scripted::accepting("s");
    let text = "mon-fri = \"09:00-20:00\"\nsat = \"10:00-14:00\"\nholidays = [\"2026-12-24\", \"2026-12-25\"]";
    let b = backends(backend.clone(), settings(text, &clock));
    let ids = insert(&db.store, vec![to("+420777123456")], clock.now());
    run_worker_once(&db.store, b).await;
    assert_eq!(backend.total(), 0);
    let saturday = at("2026-12-26T10:00", "Europe/Prague");
    assert_eq!(
        waiting_until(db, ids[0]),
        (State::Waiting, 0, Some(saturday))
    );
}

async fn a_retry_is_pushed_to_the_next_window(db: &TestDb) {
    // Friday 2026-10-23 19:59 in Prague; Europe leaves summer time on Sunday 25 October.
    let clock = Clock::manual(at("2026-10-23T19:59", "Europe/Prague"));
    let backend = Scripted::new("s", |_, n| match n {
        0 => Publish::Retry {
            error: "busy".into(),
            ambiguous: false,
        },
        _ => Publish::Accepted(Accepted::ready(JsonMap::new(), "accepted")),
    });
    let b = backends(
        backend.clone(),
        settings("mon-fri = \"09:00-20:00\"", &clock),
    );
    let ids = insert(&db.store, vec![to("+420777123456")], clock.now());
    run_worker_once(&db.store, b.clone()).await;
    // 19:59 + 5 min is after closing: Monday 09:00, now UTC+1.
    let monday = at("2026-10-26T09:00", "Europe/Prague");
    assert_eq!(monday.to_string(), "2026-10-26T08:00:00Z");
    let m = get(&db.store, ids[0]);
    assert_eq!(
        (m.state, m.attempts, m.next_attempt_at, m.is_final_state),
        (State::ErrorRetry, 1, Some(monday), false),
        "not given up: give_up_after (1h) counts only calling hours"
    );
    clock.set(monday);
    run_worker_once(&db.store, b).await;
    let m = get(&db.store, ids[0]);
    assert_eq!((m.state, m.attempts), (State::Ready, 2));
    assert_eq!(backend.total(), 2);
}

async fn send_with_a_time_zone_stores_it_and_waits(db: &TestDb) {
    // 10:00 in New York (open there) is 00:00 in Tokyo: the sender's zone decides.
    let clock = Clock::manual(at("2026-03-10T10:00", "America/New_York"));
    let backend = Scripted::accepting("s");
    let b = backends(
        backend.clone(),
        settings("mon-fri = \"09:00-20:00\"", &clock),
    );
    let dialer = Dialer::new(Arc::clone(&db.store), b);
    let mut request = SendRequest::new("+12125550100", "hello");
    request.options.time_zone = Some("Asia/Tokyo".into());
    let sent = dialer.send(request).await.unwrap();
    let m = get(&db.store, sent.message.id);
    assert_eq!(m.time_zone.as_deref(), Some("Asia/Tokyo"));
    assert_eq!(
        (m.state, m.attempts, m.next_attempt_at),
        (
            State::Waiting,
            0,
            Some(at("2026-03-11T09:00", "Asia/Tokyo"))
        )
    );
    assert_eq!(sent.message.state, State::Waiting);
    assert_eq!(backend.total(), 0);

    // Without it, the number's zone: open now, published at once.
    let sent = dialer
        .send(SendRequest::new("+12125550100", "hello"))
        .await
        .unwrap();
    assert_eq!(sent.message.state, State::Ready);
    assert_eq!(sent.message.time_zone, None);

    let mut bad = SendRequest::new("+12125550100", "hello");
    bad.options.time_zone = Some("Mars/Olympus".into());
    match dialer.send(bad).await {
        Err(SendError::Invalid(InvalidInput::TimeZone(e))) => {
            assert!(e.contains("Mars/Olympus"), "{e}")
        }
        other => panic!("expected an invalid time zone, got {other:?}"),
    }
}

async fn the_backend_is_told_when_the_window_closes(db: &TestDb) {
    // So that a backend's own retries (Asterisk's MaxRetries) stay inside it.
    let clock = Clock::manual(at("2026-03-09T19:00", "America/New_York"));
    let seen = Arc::new(std::sync::Mutex::new(None));
    let s = Arc::clone(&seen);
    let backend = Scripted::new("s", move |m, _| {
        *s.lock().unwrap() = m.extra_sender_data.get("calling_hours_end").cloned();
        Publish::Accepted(Accepted::ready(JsonMap::new(), "accepted"))
    });
    let b = backends(backend, settings("mon-fri = \"09:00-20:00\"", &clock));
    insert(&db.store, vec![to("+12125550100")], clock.now());
    run_worker_once(&db.store, b).await;
    let end = seen.lock().unwrap().clone();
    assert_eq!(end, Some("2026-03-10T00:00:00Z".into()), "20:00 EDT");
}

/// Its lookup takes until the window has closed (the clock moves to `closes`), then says
/// the lost attempt never arrived.
struct SlowLookup {
    clock: Clock,
    closes: Timestamp,
    published: std::sync::Mutex<usize>,
}

#[async_trait::async_trait]
impl dialout_dialer::Backend for SlowLookup {
    fn name(&self) -> &str {
        "s"
    }
    async fn publish(&self, _m: &dialout_dialer::Message) -> Publish {
        *self.published.lock().unwrap() += 1;
        Publish::Accepted(Accepted::ready(JsonMap::new(), "accepted"))
    }
    async fn check_status(
        &self,
        _m: &[dialout_dialer::Message],
        _c: Option<&str>,
    ) -> Result<dialout_backends::backend::StatusReport, dialout_backends::backend::BackendError>
    {
        Ok(Default::default())
    }
    async fn cancel(
        &self,
        _m: &dialout_dialer::Message,
    ) -> Result<dialout_backends::backend::Cancel, dialout_backends::backend::BackendError> {
        Ok(dialout_backends::backend::Cancel::Unsupported)
    }
    fn lookup(&self) -> Option<&dyn dialout_backends::backend::Lookup> {
        Some(self)
    }
}

#[async_trait::async_trait]
impl dialout_backends::backend::Lookup for SlowLookup {
    async fn find(
        &self,
        _m: &dialout_dialer::Message,
    ) -> Result<dialout_backends::backend::Found, dialout_backends::backend::BackendError> {
        self.clock.set(self.closes);
        Ok(dialout_backends::backend::Found::No)
    }
}

async fn a_window_closing_before_the_handover_gives_the_attempt_back(db: &TestDb) {
    use dialout_store::Claimable;
    let clock = Clock::manual(at("2026-03-09T19:59:30", "America/New_York"));
    let closes = at("2026-03-09T20:00", "America/New_York");
    let backend = Arc::new(SlowLookup {
        clock: clock.clone(),
        closes,
        published: Default::default(),
    });
    let b = backends(
        backend.clone(),
        settings("mon-fri = \"09:00-20:00\"", &clock),
    );
    let ids = insert(&db.store, vec![to("+12125550100")], clock.now());
    // An attempt begun by a process that died before calling the backend.
    let now = clock.now();
    sync(|| {
        let until = now + jiff::SignedDuration::from_secs(1);
        db.store
            .claim("dead", Claimable::Ids(&ids), now, until)
            .unwrap();
        db.store.begin_attempts("dead", &ids, now).unwrap();
    });
    assert_eq!(get(&db.store, ids[0]).attempts, 1);
    clock.advance(jiff::SignedDuration::from_secs(2));

    run_worker_once(&db.store, b).await;
    assert_eq!(*backend.published.lock().unwrap(), 0, "not called at 20:00");
    let m = get(&db.store, ids[0]);
    assert_eq!(
        (m.state, m.attempts, m.next_attempt_at),
        (
            State::Waiting,
            0,
            Some(at("2026-03-10T09:00", "America/New_York"))
        ),
        "the attempt that never reached the backend is given back"
    );
}

db_suite!(
    a_window_closing_before_the_handover_gives_the_attempt_back,
    the_backend_is_told_when_the_window_closes,
    a_new_york_number_queued_at_0859_is_published_at_0900,
    a_sydney_number_waits_over_the_weekend_and_the_dst_change,
    a_us_prefix_in_two_zones_waits_for_both,
    a_holiday_is_closed_all_day,
    a_retry_is_pushed_to_the_next_window,
    send_with_a_time_zone_stores_it_and_waits,
);

#[test]
fn a_bad_window_is_a_clear_configuration_error() {
    let config = Config::from_toml(
        "[delivery.calling_hours]\nmon-fri = \"09:00-25:00\"\n",
        "dialout.toml",
    )
    .unwrap();
    let e = config.channels().err().unwrap().to_string();
    assert!(
        e.contains("delivery.calling_hours.mon-fri")
            && e.contains("\"25:00\" is not a time of day"),
        "{e}"
    );
    let e = Config::from_toml(
        "[backends.a]\nkind = \"dummy\"\n[backends.a.calling_hours]\nmonday = \"09:00-20:00\"\n",
        "dialout.toml",
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        e.contains("backends.a.calling_hours.monday") && e.contains("not a day"),
        "{e}"
    );
}

#[test]
fn a_backend_has_its_own_hours_and_inherits_the_default_zone() {
    let config = Config::from_toml(
        "default_backend = \"a\"\n\
         [delivery.calling_hours]\nmon-fri = \"09:00-20:00\"\ndefault_time_zone = \"Europe/Prague\"\n\
         [backends.a]\nkind = \"dummy\"\n\
         [backends.b]\nkind = \"dummy\"\n[backends.b.calling_hours]\nsat-sun = \"10:00-12:00\"\n",
        "dialout.toml",
    )
    .unwrap();
    let b = config.channels().unwrap();
    let d = b.delivery();
    let saturday = at("2026-03-07T11:00", "Europe/Prague");
    let unknown = phone("+420777123456");
    let global = d.calling_hours_for("a").unwrap();
    let own = d.calling_hours_for("b").unwrap();
    assert!(!global.is_open(saturday, &global.zones(&unknown, None)));
    assert!(own.is_open(saturday, &own.zones(&unknown, None)));
    assert_eq!(own.default_time_zone(), Some("Europe/Prague"));
}
