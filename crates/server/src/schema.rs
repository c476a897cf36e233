//! Request and response bodies as the OpenAPI document describes them. Responses are built
//! by `dialout_dialer::json` (the CLI's `--json`); these structs describe that same JSON.

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A message, as `dialout messages show --json` prints it.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct MessageOut {
    /// A UUID.
    pub id: String,
    /// State name (`waiting`, `sent`, ...).
    pub state: String,
    pub state_code: i64,
    pub is_final_state: bool,
    pub failed: bool,
    /// E.164.
    pub recipient: String,
    pub content: String,
    pub template_slug: Option<String>,
    pub template_id: Option<i64>,
    pub backend: String,
    pub error: Option<String>,
    pub tag: Option<String>,
    /// `TYPE:ID` pairs.
    pub related: Vec<String>,
    #[schema(value_type = Object)]
    pub extra_data: Value,
    #[schema(value_type = Object)]
    pub extra_sender_data: Value,
    pub priority: i64,
    pub predictive: bool,
    pub attempts: i64,
    pub check_failures: i64,
    pub attempt_unresolved: bool,
    pub idempotency_key: Option<String>,
    pub resent_from: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub changed_at: String,
    #[schema(format = DateTime)]
    pub sent_at: Option<String>,
    #[schema(format = DateTime)]
    pub next_attempt_at: Option<String>,
    #[schema(format = DateTime)]
    pub not_before: Option<String>,
    /// Send responses only: true when the idempotency key matched an earlier message.
    pub existing: Option<bool>,
    /// `GET /v1/messages/{id}` only: the state history, oldest first.
    pub history: Option<Vec<HistoryOut>>,
}

#[allow(dead_code)]
#[derive(ToSchema)]
pub struct HistoryOut {
    #[schema(format = DateTime)]
    pub at: String,
    pub from: Option<String>,
    pub from_code: Option<i64>,
    pub to: String,
    pub to_code: i64,
    pub reason: String,
}

#[allow(dead_code)]
#[derive(ToSchema)]
pub struct MessageList {
    pub items: Vec<MessageOut>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[allow(dead_code)]
#[derive(ToSchema)]
pub struct MessageItems {
    pub items: Vec<MessageOut>,
}

#[allow(dead_code)]
#[derive(ToSchema)]
pub struct CancelOut {
    /// `cancelled` (never published) or `withdrawn` (by its backend).
    pub outcome: String,
    pub detail: String,
    pub message: MessageOut,
}

#[allow(dead_code)]
#[derive(ToSchema)]
pub struct TemplateOut {
    pub id: i64,
    pub slug: String,
    pub body: String,
    pub active: bool,
    pub allow_duplicates: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub changed_at: String,
}

#[allow(dead_code)]
#[derive(ToSchema)]
pub struct TemplateList {
    pub items: Vec<TemplateOut>,
}

#[allow(dead_code)]
#[derive(ToSchema)]
pub struct Health {
    pub status: String,
}

/// A message to send.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendBody {
    /// A phone number, E.164 (`+420777123456`) or national with the configured region.
    pub recipient: String,
    /// The text read aloud.
    pub content: String,
    pub tag: Option<String>,
    /// `TYPE:ID` pairs (`order:42`).
    #[serde(default)]
    pub related: Vec<String>,
    #[schema(value_type = Object)]
    pub extra_data: Option<serde_json::Map<String, Value>>,
    /// A configured backend's name; default: routing decides.
    pub backend: Option<String>,
    /// 1 (highest) to 3 (default).
    pub priority: Option<i64>,
    /// Not published before this instant (RFC 3339).
    #[schema(format = DateTime)]
    pub not_before: Option<String>,
    #[serde(default)]
    pub predictive: bool,
    /// Store only; the worker publishes it.
    #[serde(default)]
    pub queued: bool,
    /// As the `Idempotency-Key` header (used in batches, where there is no header per
    /// message).
    pub idempotency_key: Option<String>,
    /// The recipient's IANA time zone for calling hours (`America/New_York`); default: the
    /// number's zone, else `default_time_zone`.
    pub time_zone: Option<String>,
    /// Send even if the same content went to this number within `dedupe_window`.
    #[serde(default)]
    pub allow_duplicate: bool,
}

/// Up to 10,000 messages, stored all or none.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    pub messages: Vec<SendBody>,
}

/// A message rendered from a stored template.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateSendBody {
    pub recipient: String,
    /// The template's variables.
    #[schema(value_type = Object)]
    pub context: Option<serde_json::Map<String, Value>>,
    pub tag: Option<String>,
    #[serde(default)]
    pub related: Vec<String>,
    #[schema(value_type = Object)]
    pub extra_data: Option<serde_json::Map<String, Value>>,
    pub backend: Option<String>,
    pub priority: Option<i64>,
    #[schema(format = DateTime)]
    pub not_before: Option<String>,
    #[serde(default)]
    pub predictive: bool,
    #[serde(default)]
    pub queued: bool,
    /// The recipient's IANA time zone for calling hours (`America/New_York`); default: the
    /// number's zone, else `default_time_zone`.
    pub time_zone: Option<String>,
    /// Send even if the same content went to this number within `dedupe_window`.
    #[serde(default)]
    pub allow_duplicate: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTemplateBody {
    /// 1 to 100 characters of a-z 0-9 _ -.
    pub slug: String,
    /// A Jinja template rendered with the send's context.
    pub body: String,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub allow_duplicates: bool,
}

fn yes() -> bool {
    true
}

/// The fields to change; at least one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplatePatch {
    pub body: Option<String>,
    pub active: Option<bool>,
    pub allow_duplicates: Option<bool>,
}
