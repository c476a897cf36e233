//! Reading messages, cancelling and resending them.

use crate::delivery::{self, CancelOutcome, blocking};
use crate::dialer::Dialer;
use dialout_model::id::MessageId;
use dialout_model::message::HistoryEntry;
use dialout_model::message::Message;
use dialout_store::MessageFilter;

use crate::api::errors::Error;

/// One page of a listing, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub messages: Vec<Message>,
    /// Pass as `MessageFilter::before` for the next page; None on the last page.
    pub next: Option<MessageId>,
}

impl Dialer {
    /// One message, or None when no message has this id.
    pub async fn message(&self, id: MessageId) -> Result<Option<Message>, Error> {
        Ok(blocking(self.store(), move |s| s.message(id)).await?)
    }

    /// A message with its state history (the first entry is its creation).
    pub async fn message_with_history(
        &self,
        id: MessageId,
    ) -> Result<(Message, Vec<HistoryEntry>), Error> {
        let (m, h) = blocking(self.store(), move |s| {
            let Some(m) = s.message(id)? else {
                return Ok(None);
            };
            Ok(Some((m, s.history(id)?)))
        })
        .await?
        .ok_or(Error::NoMessage(id))?;
        Ok((m, h))
    }

    /// The state history of a message.
    pub async fn history(&self, id: MessageId) -> Result<Vec<HistoryEntry>, Error> {
        Ok(self.message_with_history(id).await?.1)
    }

    /// Messages matching `filter`, newest first, one page of at most `filter.limit` (all
    /// of them when None). The page's `next` continues the listing.
    pub async fn messages(&self, filter: MessageFilter) -> Result<Page, Error> {
        let limit = filter.limit;
        let messages = blocking(self.store(), move |s| s.messages(&filter)).await?;
        let next = match (limit, messages.last()) {
            (Some(n), Some(last)) if messages.len() >= n => Some(last.id),
            _ => None,
        };
        Ok(Page { messages, next })
    }

    /// Cancels a message: one never published never will be; one handed over is withdrawn
    /// by its backend where it still can be. A final message is refused.
    pub async fn cancel(&self, id: MessageId) -> Result<CancelOutcome, Error> {
        Ok(delivery::cancel(self.store(), self.backends(), id).await?)
    }

    /// Sends a message again as a new one linked to it (`resent_from`), published at once
    /// unless delivery is queued. A message still waiting to be published is refused.
    pub async fn resend(&self, id: MessageId) -> Result<Message, Error> {
        Ok(delivery::resend(self.store(), self.backends(), id).await?)
    }
}
