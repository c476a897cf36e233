//! Message templates: Jinja-like bodies (minijinja), checked when saved, rendered strictly.

use std::collections::BTreeMap;

use jiff::Timestamp;
use minijinja::{Environment, UndefinedBehavior, Value};

use crate::interactive::{Gather, Interactive, MachinePolicy};
use crate::message::JsonMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("invalid template slug {0:?}: expected 1 to 100 characters of a-z 0-9 _ -")]
    Slug(String),
    #[error("template body is empty: every message sent from it would be refused")]
    EmptyBody,
    #[error("template body has a syntax error: {0}")]
    Syntax(String),
    #[error("template {slug:?} cannot be rendered: {reason}")]
    Render { slug: String, reason: String },
}

/// Why a template refuses to send (pymess's `can_send` returning false).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("template {0:?} is inactive")]
    Inactive(String),
    #[error(
        "template {slug:?} does not allow duplicates and a message from it already exists for {related}"
    )]
    Duplicate { slug: String, related: String },
}

pub fn check_slug(slug: &str) -> Result<(), TemplateError> {
    let ok = !slug.is_empty()
        && slug.len() <= 100
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(TemplateError::Slug(slug.to_string()))
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // A missing variable is an error, never an empty string read to someone.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Plain text for speech: no HTML escaping.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env
}

fn describe(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(d) => format!(
            "{} ({d}){}",
            e.kind(),
            e.line()
                .map(|l| format!(" on line {l}"))
                .unwrap_or_default()
        ),
        None => format!(
            "{}{}",
            e.kind(),
            e.line()
                .map(|l| format!(" on line {l}"))
                .unwrap_or_default()
        ),
    }
}

/// Refuses a body minijinja cannot parse: checked when a template is added or changed.
pub fn check_body(body: &str) -> Result<(), TemplateError> {
    if body.trim().is_empty() {
        return Err(TemplateError::EmptyBody);
    }
    let env = environment();
    env.template_from_str(body)
        .map(drop)
        .map_err(|e| TemplateError::Syntax(describe(&e)))
}

/// Renders a body; a variable missing from `context` is an error.
pub fn render(slug: &str, body: &str, context: &JsonMap) -> Result<String, TemplateError> {
    let env = environment();
    let fail = |e: minijinja::Error| TemplateError::Render {
        slug: slug.to_string(),
        reason: describe(&e),
    };
    let tmpl = env.template_from_str(body).map_err(fail)?;
    // Strict rendering only says "undefined value": name what the context lacks. An empty
    // value (a blank cell, `--context order=`, JSON "" or null) is missing as well: it would
    // be read to someone as nothing, or as "none".
    let mut missing: Vec<String> = tmpl
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| env.globals().all(|(g, _)| g != v))
        .filter_map(|v| match context.get(&v) {
            None => Some(v),
            Some(value) if is_empty(value) => Some(format!("{v} (empty)")),
            Some(_) => None,
        })
        .collect();
    if !missing.is_empty() {
        missing.sort();
        return Err(TemplateError::Render {
            slug: slug.to_string(),
            reason: format!("the context has no value for {}", missing.join(", ")),
        });
    }
    let ctx: BTreeMap<String, Value> = context
        .iter()
        .map(|(k, v)| (k.clone(), to_value(v)))
        .collect();
    tmpl.render(Value::from(ctx)).map_err(fail)
}

/// A value that says nothing: null, or a string of nothing but white space.
fn is_empty(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Null => true,
        serde_json::Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

fn to_value(v: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::from(()),
        J::Bool(b) => Value::from(*b),
        J::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Value::from(i),
            (None, Some(u), _) => Value::from(u),
            (_, _, Some(f)) => Value::from(f),
            _ => Value::from(n.to_string()),
        },
        J::String(s) => Value::from(s.as_str()),
        J::Array(a) => Value::from(a.iter().map(to_value).collect::<Vec<_>>()),
        J::Object(o) => Value::from(
            o.iter()
                .map(|(k, v)| (k.clone(), to_value(v)))
                .collect::<BTreeMap<_, _>>(),
        ),
    }
}

/// The template's own rule; `duplicate` says whether a message from it already exists for
/// the same related objects (asked of the store only when duplicates are not allowed).
pub fn can_send(
    template: &Template,
    duplicate: impl FnOnce() -> bool,
    related: &[crate::related::RelatedObject],
) -> Result<(), Refusal> {
    if !template.active {
        return Err(Refusal::Inactive(template.slug.clone()));
    }
    if !template.allow_duplicates && duplicate() {
        let related = related
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(Refusal::Duplicate {
            slug: template.slug.clone(),
            related,
        });
    }
    Ok(())
}

/// A stored template.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Template {
    pub id: i64,
    pub slug: String,
    pub body: String,
    pub active: bool,
    pub allow_duplicates: bool,
    pub created_at: Timestamp,
    pub changed_at: Timestamp,
    /// What every message sent from it asks of the call, unless the send says otherwise.
    pub interactive: Interactive,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewTemplate {
    pub slug: String,
    pub body: String,
    pub active: bool,
    pub allow_duplicates: bool,
    pub interactive: Interactive,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplateChange {
    pub body: Option<String>,
    pub active: Option<bool>,
    pub allow_duplicates: Option<bool>,
    /// Some(None) removes the template's gather.
    pub gather: Option<Option<Gather>>,
    /// Some(None) removes the template's machine policy.
    pub machine: Option<Option<MachinePolicy>>,
}

impl TemplateChange {
    /// Applies the interactive part of the change to `i`.
    pub fn apply_interactive(&self, i: &mut Interactive) {
        if let Some(g) = &self.gather {
            i.gather = g.clone();
        }
        if let Some(m) = self.machine {
            i.machine = m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx(v: serde_json::Value) -> JsonMap {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn renders_variables_loops_and_no_html_escaping() {
        let body = "Hello {{ name }}, order {{ order.id }}: {% for i in items %}{{ i }}{% if not loop.last %}, {% endif %}{% endfor %} <&>";
        let out = render(
            "t",
            body,
            &ctx(json!({"name": "Jo & Al", "order": {"id": 42}, "items": ["a", "b"]})),
        )
        .unwrap();
        assert_eq!(out, "Hello Jo & Al, order 42: a, b <&>");
    }

    #[test]
    fn missing_variable_is_an_error() {
        let err = render("t", "Hello {{ name }}", &JsonMap::new()).unwrap_err();
        assert!(matches!(err, TemplateError::Render { .. }), "{err}");
        assert!(err.to_string().contains("no value for name"), "{err}");
        let two = render("t", "{{ b }} {{ a }}", &JsonMap::new()).unwrap_err();
        assert!(two.to_string().contains("no value for a, b"), "{two}");
        // Built-in functions are not missing variables.
        assert_eq!(
            render(
                "t",
                "{% for i in range(2) %}{{ i }}{% endfor %}",
                &JsonMap::new()
            )
            .unwrap(),
            "01"
        );
        // An empty value is a missing one, named as such; other values are not.
        let empty = render(
            "t",
            "Hello {{ name }}, order {{ order }} is ready, {{ note }}",
            &ctx(json!({"name": "Petr", "order": "", "note": null})),
        )
        .unwrap_err();
        assert!(
            empty
                .to_string()
                .contains("no value for note (empty), order (empty)"),
            "{empty}"
        );
        let blank = render("t", "{{ a }}", &ctx(json!({"a": " \t"}))).unwrap_err();
        assert!(blank.to_string().contains("a (empty)"), "{blank}");
        assert_eq!(
            render("t", "{{ a }} {{ b }}", &ctx(json!({"a": 0, "b": "x"}))).unwrap(),
            "0 x"
        );
        assert!(render("t", "{{ a }}", &ctx(json!({"a": false}))).is_ok());
        let nested = render("t", "{{ a.b }}", &ctx(json!({"a": {}}))).unwrap_err();
        assert!(
            nested.to_string().contains("`a.b` is undefined"),
            "{nested}"
        );
    }

    #[test]
    fn syntax_errors_are_refused() {
        for bad in ["Hello {{ name", "{% if x %}no end", "{{ }}", "{% bogus %}"] {
            assert!(
                matches!(check_body(bad), Err(TemplateError::Syntax(_))),
                "{bad:?}"
            );
        }
        check_body("Hello {{ name }}").unwrap();
    }

    #[test]
    fn slugs() {
        check_slug("order-shipped_2").unwrap();
        for bad in ["", "Order", "a b", "a/b"] {
            assert!(check_slug(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn can_send_rules() {
        let mut t = Template {
            id: 1,
            slug: "s".into(),
            body: "x".into(),
            active: true,
            allow_duplicates: false,
            created_at: jiff::Timestamp::UNIX_EPOCH,
            changed_at: jiff::Timestamp::UNIX_EPOCH,
            interactive: Interactive::default(),
        };
        assert!(can_send(&t, || false, &[]).is_ok());
        assert!(matches!(
            can_send(&t, || true, &[]),
            Err(Refusal::Duplicate { .. })
        ));
        t.allow_duplicates = true;
        assert!(can_send(&t, || panic!("not asked"), &[]).is_ok());
        t.active = false;
        assert_eq!(
            can_send(&t, || false, &[]),
            Err(Refusal::Inactive("s".into()))
        );
    }
}
