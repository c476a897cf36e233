//! List queries: `filter[i][field|operator|value]` (AND), `fields[i]`,
//! `sort[i][field|dir]`, `skip`, `take` (at most 1000).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::CustomFieldFilters;

pub const MAX_TAKE: usize = 1000;
/// What the fake lists when `take` is not given (deliberately small: a client that forgets
/// `take` must notice).
pub const DEFAULT_TAKE: usize = 100;
pub const FIELDS: [&str; 11] = [
    "name",
    "record_type",
    "number",
    "action",
    "statuses",
    "nextcall",
    "created",
    "edited",
    "call_id",
    "activity",
    "customFields",
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Neq,
    Like,
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Debug, Clone)]
struct Filter {
    field: String,
    op: Op,
    value: String,
}

#[derive(Debug, Clone)]
pub struct ListQuery {
    filters: Vec<Filter>,
    fields: Vec<String>,
    sort: Vec<(String, bool)>,
    skip: usize,
    take: usize,
}

fn indexed<'a>(key: &'a str, prefix: &str) -> Option<(usize, &'a str)> {
    let rest = key.strip_prefix(prefix)?.strip_prefix('[')?;
    let (i, rest) = rest.split_once(']')?;
    let part = rest
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(rest);
    Some((i.parse().ok()?, part))
}

/// Parses the query; an error is Daktela-like text for a 400.
pub fn parse(pairs: &[(String, String)], custom: CustomFieldFilters) -> Result<ListQuery, String> {
    let mut filters: BTreeMap<usize, BTreeMap<&str, &str>> = BTreeMap::new();
    let mut fields: BTreeMap<usize, String> = BTreeMap::new();
    let mut sorts: BTreeMap<usize, BTreeMap<&str, &str>> = BTreeMap::new();
    let (mut skip, mut take) = (0usize, DEFAULT_TAKE);
    for (k, v) in pairs {
        if let Some((i, part)) = indexed(k, "filter") {
            filters.entry(i).or_default().insert(part, v);
        } else if let Some((i, _)) = indexed(k, "fields") {
            fields.insert(i, v.clone());
        } else if let Some((i, part)) = indexed(k, "sort") {
            sorts.entry(i).or_default().insert(part, v);
        } else if k == "skip" {
            skip = v
                .parse()
                .map_err(|_| format!("Invalid value of skip: {v}"))?;
        } else if k == "take" {
            take = v
                .parse::<usize>()
                .map_err(|_| format!("Invalid value of take: {v}"))?
                .min(MAX_TAKE);
        }
    }
    let mut out = Vec::new();
    for (i, f) in filters {
        let (Some(field), Some(op), Some(value)) =
            (f.get("field"), f.get("operator"), f.get("value"))
        else {
            return Err(format!("Filter {i} needs field, operator and value"));
        };
        let op = match *op {
            "eq" => Op::Eq,
            "neq" => Op::Neq,
            "like" => Op::Like,
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            other => return Err(format!("Unknown filter operator {other}")),
        };
        if field.starts_with("customFields.") {
            match custom {
                CustomFieldFilters::Accept => {}
                CustomFieldFilters::Refuse => {
                    return Err(format!("Filtering by field {field} is not allowed"));
                }
                CustomFieldFilters::Ignore => continue,
            }
        } else if !FIELDS.contains(field) {
            return Err(format!("Unknown filter field {field}"));
        }
        out.push(Filter {
            field: field.to_string(),
            op,
            value: value.to_string(),
        });
    }
    let mut sort = Vec::new();
    for (_, s) in sorts {
        let Some(field) = s.get("field") else {
            return Err("Sort needs a field".into());
        };
        let desc = match s.get("dir").copied().unwrap_or("asc") {
            "asc" => false,
            "desc" => true,
            other => return Err(format!("Unknown sort direction {other}")),
        };
        sort.push((field.to_string(), desc));
    }
    Ok(ListQuery {
        filters: out,
        fields: fields.into_values().collect(),
        sort,
        skip,
        take,
    })
}

/// The texts a record holds in `field` (several for a custom field).
fn texts(r: &Map<String, Value>, field: &str) -> Vec<String> {
    let v = match field.strip_prefix("customFields.") {
        Some(cf) => r.get("customFields").and_then(|c| c.get(cf)),
        None => r.get(field),
    };
    match v {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(items)) => items.iter().filter_map(scalar).collect(),
        Some(other) => scalar(other).into_iter().collect(),
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn compare(a: &str, b: &str) -> Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.cmp(b),
    }
}

fn like(text: &str, pattern: &str) -> bool {
    let (t, p) = (text.to_lowercase(), pattern.to_lowercase());
    if !p.contains('%') {
        return t.contains(&p);
    }
    let parts: Vec<&str> = p.split('%').collect();
    let mut pos = 0;
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            continue;
        }
        if i == 0 {
            if !t.starts_with(part) {
                return false;
            }
            pos = part.len();
        } else if let Some(found) = t[pos..].find(part) {
            pos += found + part.len();
        } else {
            return false;
        }
    }
    parts.last().is_none_or(|l| l.is_empty() || t.ends_with(l))
}

fn matches(r: &Map<String, Value>, f: &Filter) -> bool {
    let values = texts(r, &f.field);
    let any = |pred: &dyn Fn(&str) -> bool| values.iter().any(|v| pred(v));
    match f.op {
        Op::Eq => any(&|v| v == f.value),
        Op::Neq => !any(&|v| v == f.value),
        Op::Like => any(&|v| like(v, &f.value)),
        Op::Gt => any(&|v| compare(v, &f.value) == Ordering::Greater),
        Op::Gte => any(&|v| compare(v, &f.value) != Ordering::Less),
        Op::Lt => any(&|v| compare(v, &f.value) == Ordering::Less),
        Op::Lte => any(&|v| compare(v, &f.value) != Ordering::Greater),
    }
}

/// The page and the total of matching records.
pub fn run<'a>(
    records: impl Iterator<Item = &'a Map<String, Value>>,
    q: &ListQuery,
) -> (Vec<Value>, usize) {
    let mut hits: Vec<&Map<String, Value>> = records
        .filter(|r| q.filters.iter().all(|f| matches(r, f)))
        .collect();
    hits.sort_by(|a, b| {
        for (field, desc) in &q.sort {
            let (x, y) = (
                texts(a, field).into_iter().next(),
                texts(b, field).into_iter().next(),
            );
            let o = match (x, y) {
                (Some(x), Some(y)) => compare(&x, &y),
                (x, y) => x.is_some().cmp(&y.is_some()),
            };
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
    let total = hits.len();
    let page = hits
        .into_iter()
        .skip(q.skip)
        .take(q.take)
        .map(|r| {
            if q.fields.is_empty() {
                Value::Object(r.clone())
            } else {
                Value::Object(
                    r.iter()
                        .filter(|(k, _)| q.fields.contains(k))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                )
            }
        })
        .collect();
    (page, total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn recs() -> Vec<Map<String, Value>> {
        (0..5)
            .map(|i| {
                json!({"name": format!("r{i}"), "record_type": if i % 2 == 0 { "a" } else { "b" },
                       "edited": format!("2026-01-01 00:00:0{i}"), "customFields": {"k": [format!("v{i}")]}})
                .as_object()
                .unwrap()
                .clone()
            })
            .collect()
    }

    #[test]
    fn filters_combine_with_and_and_sort_pages() {
        let q = parse(
            &pairs(&[
                ("filter[0][field]", "record_type"),
                ("filter[0][operator]", "eq"),
                ("filter[0][value]", "a"),
                ("filter[1][field]", "edited"),
                ("filter[1][operator]", "gte"),
                ("filter[1][value]", "2026-01-01 00:00:02"),
                ("sort[0][field]", "edited"),
                ("sort[0][dir]", "desc"),
                ("fields[0]", "name"),
                ("take", "5000"),
            ]),
            CustomFieldFilters::Accept,
        )
        .unwrap();
        assert_eq!(q.take, MAX_TAKE);
        let r = recs();
        let (page, total) = run(r.iter(), &q);
        assert_eq!(total, 2);
        assert_eq!(page, vec![json!({"name": "r4"}), json!({"name": "r2"})]);
    }

    #[test]
    fn custom_field_filter_modes_and_errors() {
        let q = pairs(&[
            ("filter[0][field]", "customFields.k"),
            ("filter[0][operator]", "eq"),
            ("filter[0][value]", "v3"),
        ]);
        let r = recs();
        assert_eq!(
            run(r.iter(), &parse(&q, CustomFieldFilters::Accept).unwrap()).1,
            1
        );
        assert!(
            parse(&q, CustomFieldFilters::Refuse)
                .unwrap_err()
                .contains("customFields.k")
        );
        assert_eq!(
            run(r.iter(), &parse(&q, CustomFieldFilters::Ignore).unwrap()).1,
            5
        );
        let bad = pairs(&[
            ("filter[0][field]", "name"),
            ("filter[0][operator]", "in"),
            ("filter[0][value]", "x"),
        ]);
        assert!(parse(&bad, CustomFieldFilters::Accept).is_err());
        assert!(like("records_abc", "rec%bc") && like("records_abc", "ord") && !like("abc", "x%"));
    }
}
