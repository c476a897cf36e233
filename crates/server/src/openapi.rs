//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations and
//! the body types, so that it cannot drift from the code.

use std::sync::LazyLock;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::problem::{FieldError, Problem};
use crate::routes::{audio, dnc, health, messages, metrics, recipients, templates, webhooks};
use crate::schema::*;
use crate::schema_interactive::{AnsweredBySchema, GatherSchema, MachineSchema};

#[derive(OpenApi)]
#[openapi(
    info(title = "dialout", description = "Automated voice calls: send messages, follow their states, manage templates, webhooks and the do-not-call list."),
    paths(
        messages::create, messages::batch, messages::list, messages::show, messages::cancel,
        messages::resend,
        templates::list, templates::create, templates::show, templates::update,
        templates::remove, templates::send,
        webhooks::list, webhooks::create, webhooks::change, webhooks::remove, webhooks::test,
        webhooks::deliveries, webhooks::replay,
        dnc::list, dnc::add, dnc::check, dnc::remove, dnc::import,
        recipients::export, recipients::erase,
        audio::audio,
        health::healthz, health::readyz, metrics::metrics,
    ),
    components(schemas(
        Problem, FieldError, MessageOut, HistoryOut, MessageList, MessageItems, CancelOut,
        TemplateOut, TemplateList, Health, SendBody, BatchBody, TemplateSendBody,
        NewTemplateBody, TemplatePatch,
        WebhookOut, WebhookCreated, WebhookList, DeliveryOut, DeliveryList, NewWebhookBody,
        WebhookPatch, ReplayBody, ReplayOut,
        DncOut, DncList, DncCheckOut, NewDncBody, DncImportBody, DncImportOut, DncSkipped,
        ErasedOut, ErasureOut, RecipientExport, RemoteCopyOut,
        GatherSchema, MachineSchema, AnsweredBySchema,
    )),
    modifiers(&Bearer),
)]
struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A token from `dialout token create NAME --scope ...`"))
                    .build(),
            ),
        );
    }
}

/// The document as JSON, built once.
pub fn document() -> &'static str {
    static DOC: LazyLock<String> = LazyLock::new(|| {
        let mut doc = ApiDoc::openapi();
        doc.info.version = env!("CARGO_PKG_VERSION").to_string();
        doc.to_pretty_json()
            .expect("the OpenAPI document serializes")
    });
    &DOC
}
