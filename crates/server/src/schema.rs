//! Request and response bodies as the OpenAPI document describes them. Responses are built
//! by `dialout_dialer::json` (the CLI's `--json`); these structs describe that same JSON.

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::schema_interactive::{AnsweredBySchema, GatherSchema, MachineSchema, present};
use dialout_dialer::{GatherSpec, MachinePolicy};

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
    /// The recipient's IANA time zone used for calling hours, when one was given or found.
    pub time_zone: Option<String>,
    /// Keys gathered after the message (every field filled in).
    pub gather: Option<GatherSchema>,
    pub machine: Option<MachineSchema>,
    /// The keys pressed, as pressed (the finish key left out).
    pub digits: Option<String>,
    /// The label the gather's `answers` give `digits`.
    pub answer: Option<String>,
    pub answered_by: Option<AnsweredBySchema>,
    /// When the keys (or the detection's verdict) came.
    #[schema(format = DateTime)]
    pub answered_at: Option<String>,
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
    /// The reply, on the entry of the final state of an interactive call only.
    pub digits: Option<String>,
    pub answer: Option<String>,
    pub answered_by: Option<AnsweredBySchema>,
    #[schema(format = DateTime)]
    pub answered_at: Option<String>,
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
    /// Every message sent from it gathers so, unless the send gives its own.
    pub gather: Option<GatherSchema>,
    pub machine: Option<MachineSchema>,
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
    /// Keys to gather after the message (a template's is replaced).
    #[schema(value_type = Option<GatherSchema>)]
    pub gather: Option<GatherSpec>,
    /// What to do when an answering machine picks up (a template's is replaced).
    #[schema(value_type = Option<MachineSchema>)]
    pub machine: Option<MachinePolicy>,
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
    /// Keys to gather after the message (a template's is replaced).
    #[schema(value_type = Option<GatherSchema>)]
    pub gather: Option<GatherSpec>,
    /// What to do when an answering machine picks up (a template's is replaced).
    #[schema(value_type = Option<MachineSchema>)]
    pub machine: Option<MachinePolicy>,
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
    /// A second message from it for the same related objects is sent (true, the default,
    /// as in the CLI and the dashboard) or refused (false).
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub allow_duplicates: bool,
    /// Keys every message sent from it gathers (a send may replace it).
    #[schema(value_type = Option<GatherSchema>)]
    pub gather: Option<GatherSpec>,
    #[schema(value_type = Option<MachineSchema>)]
    pub machine: Option<MachinePolicy>,
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
    /// Replaces the template's gather; null removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<GatherSchema>)]
    pub gather: Option<Option<GatherSpec>>,
    /// Replaces the template's machine policy; null removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<MachineSchema>)]
    pub machine: Option<Option<MachinePolicy>>,
}

/// A webhook endpoint (never its secret).
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct WebhookOut {
    pub id: i64,
    pub url: String,
    /// Event types it receives (`message.state_changed`, `message.final`).
    pub events: Vec<String>,
    /// Only messages with this tag; null: every message.
    pub tag: Option<String>,
    /// False once disabled (the receiver answered 410 Gone).
    pub active: bool,
    pub disabled_reason: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// A new endpoint with its signing secret, shown only in this answer.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct WebhookCreated {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    pub tag: Option<String>,
    pub active: bool,
    pub disabled_reason: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Verifies the `webhook-signature` header of each delivery.
    pub secret: String,
}

#[allow(dead_code)]
#[derive(ToSchema)]
pub struct WebhookList {
    pub items: Vec<WebhookOut>,
}

/// One event posted (or to be posted) to one endpoint.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct DeliveryOut {
    pub id: i64,
    pub endpoint_id: i64,
    /// The `webhook-id` the receiver sees.
    pub event_id: String,
    #[schema(rename = "type")]
    pub kind: String,
    pub message_id: Option<String>,
    pub sequence: Option<i64>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub reason: Option<String>,
    #[schema(format = DateTime)]
    pub at: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    #[schema(format = DateTime)]
    pub queued_at: String,
    #[schema(format = DateTime)]
    pub next_attempt_at: String,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub last_response: Option<String>,
    #[schema(format = DateTime)]
    pub delivered_at: Option<String>,
}

#[allow(dead_code)]
#[derive(ToSchema)]
pub struct DeliveryList {
    pub items: Vec<DeliveryOut>,
}

/// An endpoint to subscribe.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookBody {
    /// http:// or https://, without credentials.
    pub url: String,
    /// Default: every event type.
    pub events: Option<Vec<String>>,
    /// Only messages with this tag.
    pub tag: Option<String>,
}

/// What to change of an endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    /// true: on again (events of changes from now on); false: off (pending deliveries fail).
    pub active: bool,
}

/// Exactly one of the two.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayBody {
    /// This delivery, whatever its state.
    pub delivery_id: Option<i64>,
    /// Every delivery given up (failed) at or after this instant (RFC 3339), whenever its
    /// event happened.
    #[schema(format = DateTime)]
    pub failed_since: Option<String>,
}

#[allow(dead_code)]
#[derive(ToSchema)]
pub struct ReplayOut {
    /// Deliveries queued again.
    pub replayed: i64,
}

/// A do-not-call entry.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct DncOut {
    /// E.164.
    pub number: String,
    pub reason: Option<String>,
    /// Listed until this instant; null: for good.
    #[schema(format = DateTime)]
    pub until: Option<String>,
    #[schema(format = DateTime)]
    pub added_at: String,
}

#[allow(dead_code)]
#[derive(ToSchema)]
pub struct DncList {
    pub items: Vec<DncOut>,
}

#[allow(dead_code)]
#[derive(ToSchema)]
pub struct DncCheckOut {
    /// E.164.
    pub number: String,
    /// Whether a send to it would be refused now.
    pub listed: bool,
    /// Its entry, also when expired.
    pub entry: Option<DncOut>,
}

/// A number to list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDncBody {
    /// E.164, or national with the configured region.
    pub number: String,
    /// One line, up to 500 characters.
    pub reason: Option<String>,
    /// Listed until this instant (RFC 3339, in the future); default: for good.
    #[schema(format = DateTime)]
    pub until: Option<String>,
}

/// Many numbers with one reason and end.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DncImportBody {
    pub numbers: Vec<String>,
    pub reason: Option<String>,
    #[schema(format = DateTime)]
    pub until: Option<String>,
    /// Store the readable numbers even when some are not.
    #[serde(default)]
    pub skip_invalid: bool,
}

#[allow(dead_code)]
#[derive(ToSchema)]
pub struct DncImportOut {
    /// Numbers not listed before.
    pub added: i64,
    /// Numbers already listed, whose reason and end were replaced.
    pub updated: i64,
    /// With `skip_invalid`: the numbers that could not be read.
    pub skipped: Vec<DncSkipped>,
}

#[allow(dead_code)]
#[derive(ToSchema)]
pub struct DncSkipped {
    pub index: i64,
    pub number: String,
    pub reason: String,
}

/// What `DELETE /v1/recipients/{number}` erased (the number itself is not repeated).
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct ErasedOut {
    /// The number's keyed hash, as its erased messages and the record carry it.
    pub recipient_hash: String,
    /// Messages erased.
    pub messages: u64,
    /// Of them, messages not final before that were cancelled first.
    pub cancelled: u64,
    /// Backend files removed (audio, call files, reports, outbox files).
    pub files: u64,
    /// Whether the number was put on the do-not-call list (`and_block=true`).
    pub blocked: bool,
    /// Backends that keep a copy dialout cannot erase (Daktela: its API offers no
    /// deletion), with what to do.
    pub remote_copies: Vec<RemoteCopyOut>,
}

/// Erased messages of which a backend keeps a copy that dialout cannot remove.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct RemoteCopyOut {
    pub backend: String,
    /// How many of the erased messages it holds.
    pub messages: u64,
    /// Where the copy is and how to erase it.
    pub note: String,
}

/// One recorded erasure (without the number).
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct ErasureOut {
    #[schema(format = DateTime)]
    pub at: String,
    /// `cli:USER` or `token:NAME`.
    pub by: String,
    pub recipient_hash: String,
    pub messages: u64,
}

/// Everything stored about a number.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct RecipientExport {
    /// E.164.
    pub number: String,
    /// The keyed hash its erased messages carry instead of it.
    pub recipient_hash: String,
    /// Its messages, each with `history`; erased ones show the hash and no content.
    pub messages: Vec<MessageOut>,
    pub do_not_call: Option<DncOut>,
    pub webhook_deliveries: Vec<DeliveryOut>,
    pub erasures: Vec<ErasureOut>,
}
