//! The HTTP side: one handler that records the request, applies a queued fault, checks the
//! token and routes.

use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State as AxState};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::query;
use super::{COLLECTION, Fault, RecordedRequest, Shared, State, lock};

pub(crate) fn router(state: Shared) -> Router {
    Router::new().fallback(handle).with_state(state)
}

/// Counts a request as being answered until dropped (also when the client gives up).
struct InFlight(Shared);

impl Drop for InFlight {
    fn drop(&mut self) {
        lock(&self.0).in_flight -= 1;
    }
}

fn reply(status: StatusCode, error: Value, result: Value) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "result": result})),
    )
        .into_response()
}

async fn handle(
    AxState(s): AxState<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (fault, delay) = {
        let mut st = lock(&s);
        st.requests.push(RecordedRequest {
            method: method.to_string(),
            uri: uri.to_string(),
            headers: headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: String::from_utf8_lossy(&body).into_owned(),
            at: Instant::now(),
        });
        st.in_flight += 1;
        st.max_in_flight = st.max_in_flight.max(st.in_flight);
        (st.faults.pop_front().flatten(), st.delay)
    };
    let _counted = InFlight(s.clone());
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut hold = None;
    match fault {
        None => {}
        Some(Fault::Slow(d)) => tokio::time::sleep(d).await,
        Some(Fault::TimeoutAfterWork(d)) => hold = Some(d),
        Some(Fault::HtmlServerError) => {
            let page = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>";
            return (
                StatusCode::BAD_GATEWAY,
                [(header::CONTENT_TYPE, "text/html")],
                page,
            )
                .into_response();
        }
        Some(Fault::Redirect(to)) => {
            return (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, to)], "").into_response();
        }
        Some(Fault::TooManyRequests) => {
            return reply(
                StatusCode::TOO_MANY_REQUESTS,
                json!(["Too many requests"]),
                Value::Null,
            );
        }
        Some(Fault::Unauthorized) => {
            return reply(
                StatusCode::UNAUTHORIZED,
                json!(["Invalid access token"]),
                Value::Null,
            );
        }
        Some(Fault::Forbidden) => {
            return reply(StatusCode::FORBIDDEN, json!(["Access denied"]), Value::Null);
        }
        Some(Fault::MalformedJson) => {
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                "{\"error\":[],\"result\":{\"name\":\"rec",
            )
                .into_response();
        }
        Some(Fault::NullResultWithError { status, error }) => {
            return reply(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                error,
                Value::Null,
            );
        }
    }
    let resp = route(&s, &method, &uri, &headers, &body);
    if let Some(d) = hold {
        tokio::time::sleep(d).await;
    }
    resp
}

fn route(s: &Shared, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Response {
    let pairs: Vec<(String, String)> = Query::try_from_uri(uri)
        .map(|Query(p)| p)
        .unwrap_or_default();
    let mut st = lock(s);
    let by_header =
        headers.get("x-auth-token").and_then(|v| v.to_str().ok()) == Some(st.token.as_str());
    let by_query = pairs
        .iter()
        .any(|(k, v)| k == "accessToken" && *v == st.token);
    if !(by_header || by_query) {
        return reply(
            StatusCode::UNAUTHORIZED,
            json!(["Invalid access token"]),
            Value::Null,
        );
    }
    let path = uri.path();
    if path == format!("{COLLECTION}.json") {
        return match *method {
            Method::GET => list(&st, &pairs),
            Method::POST => create(&mut st, body),
            _ => reply(
                StatusCode::METHOD_NOT_ALLOWED,
                json!(["Method not allowed"]),
                Value::Null,
            ),
        };
    }
    let name = path
        .strip_prefix(&format!("{COLLECTION}/"))
        .and_then(|n| n.strip_suffix(".json"));
    match (name, method) {
        (Some(n), &Method::GET) => match st.records.get(n) {
            Some(r) => reply(StatusCode::OK, json!([]), Value::Object(r.clone())),
            None => reply(
                StatusCode::NOT_FOUND,
                json!(["Record not found"]),
                Value::Null,
            ),
        },
        (Some(n), &Method::PUT) => update(&mut st, n, body),
        _ => reply(StatusCode::NOT_FOUND, json!(["Not found"]), Value::Null),
    }
}

pub(crate) fn new_record(st: &mut State) -> Map<String, Value> {
    st.next_id += 1;
    let now = st.now();
    let name = format!(
        "records_{:013x}{:06}",
        0x5c13_94ec_6ea2u64 + st.next_id,
        st.next_id
    );
    json!({
        "name": name, "record_type": null, "number": null, "customFields": {}, "action": "0",
        "statuses": [], "nextcall": null, "call_id": null, "activity": null, "created": now, "edited": now,
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

fn list(st: &State, pairs: &[(String, String)]) -> Response {
    match query::parse(pairs, st.custom_filters) {
        Ok(q) => {
            let (data, total) = query::run(st.records.values(), &q);
            reply(
                StatusCode::OK,
                json!([]),
                json!({"data": data, "total": total}),
            )
        }
        Err(e) => reply(StatusCode::BAD_REQUEST, json!([e]), Value::Null),
    }
}

/// Field errors as Daktela gives them: an object of field → messages.
fn validate(st: &State, body: &Map<String, Value>, creating: bool) -> Map<String, Value> {
    let mut errors = Map::new();
    match body.get("record_type") {
        Some(Value::String(t)) if !t.is_empty() => {
            if st
                .known_record_types
                .as_ref()
                .is_some_and(|known| !known.contains(t))
            {
                errors.insert(
                    "record_type".into(),
                    json!([format!("Record type {t} does not exist")]),
                );
            }
        }
        None if !creating => {}
        _ => {
            errors.insert(
                "record_type".into(),
                json!(["This value should not be blank."]),
            );
        }
    }
    match body.get("number") {
        Some(Value::String(n))
            if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && n.len() <= 20 => {}
        None if !creating => {}
        _ => {
            errors.insert("number".into(), json!(["Invalid number"]));
        }
    }
    match body.get("customFields") {
        None => {}
        Some(Value::Object(cf)) if cf.values().all(Value::is_array) => {}
        Some(_) => {
            errors.insert(
                "customFields".into(),
                json!(["Each custom field must be a list of values"]),
            );
        }
    }
    errors
}

fn parse_body(body: &[u8]) -> Result<Map<String, Value>, Box<Response>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Box::new(reply(
            StatusCode::BAD_REQUEST,
            json!(["Invalid request body"]),
            Value::Null,
        ))),
    }
}

fn keep_known_fields(st: &State, body: Map<String, Value>) -> Map<String, Value> {
    body.into_iter()
        .filter(|(k, _)| {
            query::FIELDS.contains(&k.as_str()) && k != "name" && k != "created" && k != "edited"
        })
        .map(|(k, v)| {
            if k == "customFields" {
                let cf = v
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .filter(|(f, _)| !st.dropped_custom_fields.contains(f))
                            .map(|(f, v)| (f.clone(), v.clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                (k, Value::Object(cf))
            } else {
                (k, v)
            }
        })
        .collect()
}

fn create(st: &mut State, body: &[u8]) -> Response {
    let body = match parse_body(body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let errors = validate(st, &body, true);
    if !errors.is_empty() {
        return reply(StatusCode::BAD_REQUEST, Value::Object(errors), Value::Null);
    }
    let mut r = new_record(st);
    r.extend(keep_known_fields(st, body));
    let name = r["name"].as_str().unwrap_or_default().to_string();
    st.records.insert(name, r.clone());
    reply(StatusCode::CREATED, json!([]), Value::Object(r))
}

fn update(st: &mut State, name: &str, body: &[u8]) -> Response {
    let body = match parse_body(body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let errors = validate(st, &body, false);
    if !errors.is_empty() {
        return reply(StatusCode::BAD_REQUEST, Value::Object(errors), Value::Null);
    }
    let now = st.now();
    let fields = keep_known_fields(st, body);
    let Some(r) = st.records.get_mut(name) else {
        return reply(
            StatusCode::NOT_FOUND,
            json!(["Record not found"]),
            Value::Null,
        );
    };
    r.extend(fields);
    r.insert("edited".into(), Value::String(now));
    reply(StatusCode::OK, json!([]), Value::Object(r.clone()))
}
