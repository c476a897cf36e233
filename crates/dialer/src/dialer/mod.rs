//! The `Dialer`: what it holds. It is made in `api/build.rs`; its methods are in `api/` and
//! `send/`, and nothing below (delivery, webhooks) imports them.

pub mod token_cache;

use std::sync::Arc;

use dialout_store::store::Store;

use crate::delivery::channels::Channels;
use crate::delivery::group_commit::GroupCommit;
use crate::dialer::token_cache::TokenCache;
use crate::webhooks::settings::WebhookSettings;

/// The entry point for applications: validation, storage and publishing.
#[derive(Clone)]
pub struct Dialer {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) backends: Channels,
    pub(crate) default_region: Option<String>,
    pub(crate) batch_sending: bool,
    pub(crate) max_content_chars: usize,
    /// `send` stores through a group committer (see `group_commit.rs`) when set.
    pub(crate) group: Option<Arc<GroupCommit>>,
    pub(crate) webhooks: WebhookSettings,
    /// Tokens verified within the last second (see `dialer/token_cache.rs`).
    pub(crate) verified_tokens: Arc<TokenCache>,
    /// `[retention]`; also which fields erasure on request takes.
    pub(crate) retention: crate::retention::RetentionSettings,
}
