//! Templates: list, create, edit with a live preview, activate and deactivate.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use dialout_dialer::{Error, JsonMap, NewTemplate, TemplateChange, json};
use minijinja::context;

use crate::AppState;
use crate::pages::dialer_error;
use crate::session::Session;

type FormData = HashMap<String, String>;

/// A sample context for a body: each variable it reads, with its own name in angle brackets
/// as the value (`{"name": "<name>"}`; `order.id` becomes `{"order": {"id": "<order.id>"}}`),
/// so that the preview reads at once and shows where each value goes.
pub(crate) fn sample_for(body: &str) -> JsonMap {
    let env = minijinja::Environment::new();
    let Ok(tmpl) = env.template_from_str(body) else {
        return JsonMap::new();
    };
    let mut names: Vec<String> = tmpl
        .undeclared_variables(true)
        .into_iter()
        .filter(|v| {
            let root = v.split('.').next().unwrap_or(v);
            env.globals().all(|(g, _)| g != root)
        })
        .collect();
    // A parent before its attributes: `order` then `order.id`.
    names.sort();
    let mut ctx = JsonMap::new();
    for name in names {
        let mut parts = name.split('.').peekable();
        let mut map = &mut ctx;
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                map.entry(part.to_string())
                    .or_insert_with(|| serde_json::Value::from(format!("<{name}>")));
                break;
            }
            let slot = map
                .entry(part.to_string())
                .or_insert_with(|| serde_json::Value::Object(JsonMap::new()));
            if !slot.is_object() {
                *slot = serde_json::Value::Object(JsonMap::new());
            }
            let serde_json::Value::Object(inner) = slot else {
                break;
            };
            map = inner;
        }
    }
    ctx
}

/// The sample context as the editor shows it.
fn sample_text(body: &str) -> String {
    let ctx = sample_for(body);
    if ctx.is_empty() {
        return String::new();
    }
    serde_json::to_string_pretty(&ctx).unwrap_or_default()
}

fn flag(form: &FormData, name: &str) -> bool {
    form.get(name).is_some_and(|v| v == "1" || v == "on")
}

fn admin_form(s: &Session, form: &FormData) -> Result<(), Response> {
    s.check_csrf(form.get("_csrf"))
        .and_then(|_| s.require(s.scopes.admin, "admin"))
}

pub(crate) async fn list(State(app): State<AppState>, s: Session) -> Response {
    match app.dialer.templates().await {
        Ok(ts) => {
            let ts: Vec<_> = ts.iter().map(json::template).collect();
            app.views.ok(
                "templates.html",
                &s,
                context! { nav => "templates", templates => crate::render::val(&ts) },
            )
        }
        Err(e) => dialer_error(&app, &s, e),
    }
}

#[allow(clippy::too_many_arguments)]
fn form_page(
    app: &AppState,
    s: &Session,
    status: StatusCode,
    is_new: bool,
    slug: &str,
    body: &str,
    allow_duplicates: bool,
    active: bool,
    sample: &str,
    error: Option<String>,
) -> Response {
    let sample_rows = sample.lines().count().clamp(3, 10);
    app.views.page(
        status,
        "template_form.html",
        Some(s),
        context! {
            nav => "templates", is_new, slug, body, allow_duplicates, active, sample, sample_rows,
            error,
        },
    )
}

pub(crate) async fn new_form(State(app): State<AppState>, s: Session) -> Response {
    form_page(&app, &s, StatusCode::OK, true, "", "", true, true, "", None)
}

pub(crate) async fn edit_form(
    State(app): State<AppState>,
    s: Session,
    Path(slug): Path<String>,
) -> Response {
    match app.dialer.template(&slug).await {
        Ok(t) => form_page(
            &app,
            &s,
            StatusCode::OK,
            false,
            &t.slug,
            &t.body,
            t.allow_duplicates,
            t.active,
            &sample_text(&t.body),
            None,
        ),
        Err(e) => dialer_error(&app, &s, e),
    }
}

/// A refused template is shown again with the reason; anything else is an error page.
/// `active` is what the page says of the template: the form's box for a new one, the
/// stored state for an existing one (its form has no such box).
#[allow(clippy::too_many_arguments)]
fn refused(
    app: &AppState,
    s: &Session,
    is_new: bool,
    form: &FormData,
    slug: &str,
    active: bool,
    e: Error,
) -> Response {
    if !e.is_caller_error() {
        return dialer_error(app, s, e);
    }
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    form_page(
        app,
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        is_new,
        slug,
        get("body"),
        flag(form, "allow_duplicates"),
        active,
        get("sample"),
        Some(e.to_string()),
    )
}

pub(crate) async fn create(
    State(app): State<AppState>,
    s: Session,
    Form(form): Form<FormData>,
) -> Response {
    if let Err(r) = admin_form(&s, &form) {
        return r;
    }
    let slug = form
        .get("slug")
        .map(|v| v.trim().to_string())
        .unwrap_or_default();
    let new = NewTemplate {
        slug: slug.clone(),
        body: form.get("body").cloned().unwrap_or_default(),
        active: flag(&form, "active"),
        allow_duplicates: flag(&form, "allow_duplicates"),
        interactive: Default::default(),
    };
    match app.dialer.add_template(new).await {
        Ok(t) => Redirect::to(&format!("/templates/{}", t.slug)).into_response(),
        Err(e) => refused(&app, &s, true, &form, &slug, flag(&form, "active"), e),
    }
}

pub(crate) async fn save(
    State(app): State<AppState>,
    s: Session,
    Path(slug): Path<String>,
    Form(form): Form<FormData>,
) -> Response {
    if let Err(r) = admin_form(&s, &form) {
        return r;
    }
    let change = TemplateChange {
        body: form.get("body").cloned(),
        allow_duplicates: Some(flag(&form, "allow_duplicates")),
        active: None,
        ..TemplateChange::default()
    };
    match app.dialer.update_template(&slug, change).await {
        Ok(t) => Redirect::to(&format!("/templates/{}?saved=1", t.slug)).into_response(),
        Err(e) => {
            // The save changed nothing: the template is as stored (gone, if it was removed).
            let active = match app.dialer.template(&slug).await {
                Ok(t) => t.active,
                Err(e) => return dialer_error(&app, &s, e),
            };
            refused(&app, &s, false, &form, &slug, active, e)
        }
    }
}

pub(crate) async fn set_active(
    State(app): State<AppState>,
    s: Session,
    Path(slug): Path<String>,
    Form(form): Form<FormData>,
) -> Response {
    if let Err(r) = admin_form(&s, &form) {
        return r;
    }
    let change = TemplateChange {
        active: Some(flag(&form, "active")),
        ..Default::default()
    };
    match app.dialer.update_template(&slug, change).await {
        Ok(_) => Redirect::to("/templates").into_response(),
        Err(e) => dialer_error(&app, &s, e),
    }
}

/// The preview fragment: the rendered text, or why the body would be refused.
pub(crate) async fn preview(
    State(app): State<AppState>,
    s: Session,
    Form(form): Form<FormData>,
) -> Response {
    if let Err(r) = s.check_csrf(form.get("_csrf")) {
        return r;
    }
    let slug = form
        .get("slug")
        .filter(|v| !v.trim().is_empty())
        .map(String::as_str)
        .unwrap_or("preview");
    let body = form.get("body").map(String::as_str).unwrap_or_default();
    // Nothing typed yet: nothing to preview and nothing wrong.
    if body.trim().is_empty() {
        return app.views.ok("preview.html", &s, context! { empty => true });
    }
    let sample = form.get("sample").map(String::as_str).unwrap_or_default();
    // A sample left empty is built from the body, so the preview reads as the user types.
    let ctx = if sample.trim().is_empty() {
        Ok(sample_for(body))
    } else {
        serde_json::from_str::<JsonMap>(sample)
    };
    let result = match ctx {
        Ok(ctx) => app
            .dialer
            .preview_template(slug, body, &ctx)
            .map_err(|e| e.to_string()),
        Err(e) => Err(format!("the sample context is not a JSON object: {e}")),
    };
    let (text, error) = match result {
        Ok(t) => (Some(t), None),
        Err(e) => (None, Some(e)),
    };
    app.views.ok("preview.html", &s, context! { text, error })
}
