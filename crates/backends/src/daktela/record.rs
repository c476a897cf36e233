//! Reading Daktela's record JSON defensively, and writing list queries.

use jiff::civil::DateTime;
use serde_json::Value;

use dialout_model::message::JsonMap;

/// `edited` and `created` as Daktela writes them: local time of the instance, no zone.
pub const LOCAL_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

pub fn format_local(t: DateTime) -> String {
    t.strftime(LOCAL_FORMAT).to_string()
}

pub fn parse_local(s: &str) -> Option<DateTime> {
    DateTime::strptime(LOCAL_FORMAT, s.trim()).ok()
}

pub fn name(r: &Value) -> Option<&str> {
    r.get("name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// A digit string in Daktela's answers; a number is tolerated.
pub fn action(r: &Value) -> Option<String> {
    match r.get("action")? {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The name of the first status, when the record has one.
pub fn first_status(r: &Value) -> Option<String> {
    let first = r.get("statuses")?.as_array()?.first()?;
    match first {
        Value::String(s) => Some(s.clone()),
        other => other.get("name")?.as_str().map(str::to_string),
    }
    .filter(|s| !s.is_empty())
}

pub fn edited(r: &Value) -> Option<DateTime> {
    parse_local(r.get("edited")?.as_str()?)
}

pub fn created(r: &Value) -> Option<DateTime> {
    parse_local(r.get("created")?.as_str()?)
}

/// The first value of a custom field.
pub fn custom_field(r: &Value, field: &str) -> Option<String> {
    match r.get("customFields")?.get(field)? {
        Value::Array(items) => items.first()?.as_str().map(str::to_string),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// What is kept on the message (pymess kept the name as `extra_data.name`).
pub fn sender_data(r: &Value) -> JsonMap {
    let mut out = JsonMap::new();
    for key in [
        "name",
        "record_type",
        "action",
        "statuses",
        "created",
        "edited",
    ] {
        if let Some(v) = r.get(key).filter(|v| !v.is_null()) {
            out.insert(key.to_string(), v.clone());
        }
    }
    out
}

/// `filter[i][field|operator|value]` (AND), `fields[i]`, `sort` by `sort_field` then name,
/// `skip`, `take`.
pub fn list_params(
    filters: &[(&str, &str, String)],
    fields: &[&str],
    sort_field: &str,
    skip: usize,
    take: usize,
) -> Vec<(String, String)> {
    let mut p = Vec::new();
    for (i, (field, op, value)) in filters.iter().enumerate() {
        p.push((format!("filter[{i}][field]"), field.to_string()));
        p.push((format!("filter[{i}][operator]"), op.to_string()));
        p.push((format!("filter[{i}][value]"), value.clone()));
    }
    for (i, f) in fields.iter().enumerate() {
        p.push((format!("fields[{i}]"), f.to_string()));
    }
    p.push(("sort[0][field]".into(), sort_field.into()));
    p.push(("sort[0][dir]".into(), "asc".into()));
    p.push(("sort[1][field]".into(), "name".into()));
    p.push(("sort[1][dir]".into(), "asc".into()));
    p.push(("skip".into(), skip.to_string()));
    p.push(("take".into(), take.to_string()));
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_odd_shapes_without_panicking() {
        let r = json!({"name": "records_1", "action": 5, "statuses": [{"name": "statuses_a", "title": "A"}],
                       "edited": "2026-11-21 10:00:01", "customFields": {"x": ["1"]}});
        assert_eq!(action(&r).as_deref(), Some("5"));
        assert_eq!(first_status(&r).as_deref(), Some("statuses_a"));
        assert_eq!(format_local(edited(&r).unwrap()), "2026-11-21 10:00:01");
        assert_eq!(custom_field(&r, "x").as_deref(), Some("1"));
        let odd = json!({"statuses": "nope", "edited": "yesterday", "action": null});
        assert_eq!(
            (action(&odd), first_status(&odd), edited(&odd), name(&odd)),
            (None, None, None, None)
        );
        assert_eq!(first_status(&json!({"statuses": []})), None);
    }
}
