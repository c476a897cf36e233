//! A fake Daktela REST API v6 (campaign records) on 127.0.0.1, following
//! `shared/reference/daktela-v6.md`: create, get, list with filters / fields / sort /
//! skip / take (at most 1000), update; `{"error": ..., "result": ...}` bodies; the
//! `X-AUTH-TOKEN` header (or `?accessToken=`, which the real API also takes) checked on
//! every request. It can be told to misbehave, and it records every request it received.

mod query;
mod server;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde_json::{Map, Value};

/// `edited` / `created` as Daktela writes them.
pub const LOCAL_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
/// The collection's path.
pub const COLLECTION: &str = "/api/v6/campaignsRecords";

/// One way to misbehave, for the next request ([`FakeDaktela::fail_next`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Waits this long, then answers normally.
    Slow(Duration),
    /// 502 with an HTML page (a proxy in front of Daktela).
    HtmlServerError,
    /// 429 with a JSON error.
    TooManyRequests,
    /// 401 with a JSON error, whatever the token.
    Unauthorized,
    /// 403 with a JSON error.
    Forbidden,
    /// 200 with a body cut in the middle.
    MalformedJson,
    /// `{"error": error, "result": null}` with this HTTP status.
    NullResultWithError { status: u16, error: Value },
    /// 301 to this URL (a misconfigured `http://` URL, or a hostile proxy).
    Redirect(String),
    /// Does the work (creates the record), then holds the answer this long.
    TimeoutAfterWork(Duration),
}

/// What the fake does with `filter[..][field]=customFields.<name>`; the reference says the
/// real behaviour is undocumented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomFieldFilters {
    Accept,
    /// 400 with an error naming the field.
    Refuse,
    /// Drops the filter silently and lists as if it were not there.
    Ignore,
}

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query, exactly as received.
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub at: Instant,
}

#[derive(Debug, Clone)]
enum Clock {
    System(TimeZone),
    Manual(DateTime),
}

pub(crate) struct State {
    token: String,
    records: BTreeMap<String, Map<String, Value>>,
    next_id: u64,
    clock: Clock,
    /// One entry per coming request; None: behave.
    faults: VecDeque<Option<Fault>>,
    delay: Duration,
    custom_filters: CustomFieldFilters,
    known_record_types: Option<Vec<String>>,
    dropped_custom_fields: Vec<String>,
    requests: Vec<RecordedRequest>,
    in_flight: usize,
    max_in_flight: usize,
}

impl State {
    fn now(&self) -> String {
        let t = match &self.clock {
            Clock::System(tz) => jiff::Timestamp::now().to_zoned(tz.clone()).datetime(),
            Clock::Manual(t) => *t,
        };
        t.strftime(LOCAL_FORMAT).to_string()
    }
}

pub(crate) type Shared = Arc<Mutex<State>>;

pub(crate) fn lock(s: &Shared) -> MutexGuard<'_, State> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// The running fake; stops when dropped. Needs a Tokio runtime.
pub struct FakeDaktela {
    addr: SocketAddr,
    state: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeDaktela {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeDaktela {
    /// Listens on 127.0.0.1 at a free port; accepts `token`. Its clock is the system
    /// clock in UTC until told otherwise.
    pub async fn start(token: &str) -> FakeDaktela {
        let state: Shared = Arc::new(Mutex::new(State {
            token: token.to_string(),
            records: BTreeMap::new(),
            next_id: 0,
            clock: Clock::System(TimeZone::UTC),
            faults: VecDeque::new(),
            delay: Duration::ZERO,
            custom_filters: CustomFieldFilters::Accept,
            known_record_types: None,
            dropped_custom_fields: Vec::new(),
            requests: Vec::new(),
            in_flight: 0,
            max_in_flight: 0,
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("fake Daktela: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("fake Daktela: local address");
        let app = server::router(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeDaktela { addr, state, task }
    }

    /// The campaign-records collection URL, as configured in `url`.
    pub fn url(&self) -> String {
        format!("http://{}{COLLECTION}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    // --- the clock -------------------------------------------------------------------

    /// The instance's zone for its system clock.
    pub fn set_time_zone(&self, zone: &str) {
        lock(&self.state).clock =
            Clock::System(TimeZone::get(zone).expect("fake Daktela: unknown zone"));
    }

    /// Stops the clock at `YYYY-MM-DD HH:MM:SS` (the instance's local time).
    pub fn set_now(&self, local: &str) {
        let t = DateTime::strptime(LOCAL_FORMAT, local)
            .expect("fake Daktela: time as YYYY-MM-DD HH:MM:SS");
        lock(&self.state).clock = Clock::Manual(t);
    }

    /// Moves a stopped clock on.
    pub fn advance(&self, secs: i64) {
        let mut s = lock(&self.state);
        if let Clock::Manual(t) = s.clock {
            s.clock = Clock::Manual(
                t.checked_add(jiff::SignedDuration::from_secs(secs))
                    .expect("time in range"),
            );
        } else {
            panic!("fake Daktela: advance() needs set_now() first");
        }
    }

    pub fn now(&self) -> String {
        lock(&self.state).now()
    }

    // --- records -------------------------------------------------------------------

    pub fn records(&self) -> Vec<Value> {
        lock(&self.state)
            .records
            .values()
            .cloned()
            .map(Value::Object)
            .collect()
    }

    pub fn record(&self, name: &str) -> Option<Value> {
        lock(&self.state)
            .records
            .get(name)
            .cloned()
            .map(Value::Object)
    }

    pub fn records_of_type(&self, record_type: &str) -> Vec<Value> {
        self.records()
            .into_iter()
            .filter(|r| r["record_type"] == record_type)
            .collect()
    }

    /// Adds a record as if made elsewhere (another application's record type, say).
    /// Missing fields get the defaults a created record has. Returns its name.
    pub fn insert(&self, fields: Value) -> String {
        let mut s = lock(&self.state);
        let Value::Object(given) = fields else {
            panic!("fake Daktela: insert takes an object")
        };
        let mut r = server::new_record(&mut s);
        r.extend(given);
        let name = r["name"].as_str().expect("name is a string").to_string();
        s.records.insert(name.clone(), r);
        name
    }

    /// Changes a record as the dialer would; `edited` becomes now.
    pub fn update(&self, name: &str, patch: Value) {
        let mut s = lock(&self.state);
        let now = s.now();
        let r = s
            .records
            .get_mut(name)
            .unwrap_or_else(|| panic!("fake Daktela: no record {name}"));
        let Value::Object(p) = patch else {
            panic!("fake Daktela: update takes an object")
        };
        r.extend(p);
        r.insert("edited".into(), Value::String(now));
    }

    /// The dialer's progress: `action` digit and the statuses' names (titles made up).
    pub fn set_progress(&self, name: &str, action: &str, statuses: &[&str]) {
        let statuses: Vec<Value> = statuses
            .iter()
            .map(|s| serde_json::json!({"name": s, "title": format!("title of {s}")}))
            .collect();
        self.update(
            name,
            serde_json::json!({"action": action, "statuses": statuses}),
        );
    }

    /// Refuses creating records of other types (as an instance without them would).
    pub fn set_known_record_types(&self, types: &[&str]) {
        lock(&self.state).known_record_types = Some(types.iter().map(|t| t.to_string()).collect());
    }

    /// Custom fields the instance's form does not have: dropped from created records.
    pub fn drop_custom_fields(&self, names: &[&str]) {
        lock(&self.state).dropped_custom_fields = names.iter().map(|t| t.to_string()).collect();
    }

    // --- misbehaviour --------------------------------------------------------------

    /// The next request (in arrival order) gets this fault; several queue up.
    pub fn fail_next(&self, fault: Fault) {
        lock(&self.state).faults.push_back(Some(fault));
    }

    /// The request after the next `k` well-behaved ones gets this fault.
    pub fn fail_after(&self, k: usize, fault: Fault) {
        let mut s = lock(&self.state);
        while s.faults.len() < k {
            s.faults.push_back(None);
        }
        s.faults.push_back(Some(fault));
    }

    /// Every request waits this long before being answered.
    pub fn set_delay(&self, delay: Duration) {
        lock(&self.state).delay = delay;
    }

    pub fn set_custom_field_filters(&self, mode: CustomFieldFilters) {
        lock(&self.state).custom_filters = mode;
    }

    // --- observation ---------------------------------------------------------------

    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state).requests.clone()
    }

    pub fn request_count(&self) -> usize {
        lock(&self.state).requests.len()
    }

    /// The most requests ever being answered at the same time.
    pub fn max_concurrency(&self) -> usize {
        lock(&self.state).max_in_flight
    }

    pub fn clear_requests(&self) {
        let mut s = lock(&self.state);
        s.requests.clear();
        s.max_in_flight = s.in_flight;
    }
}
