//! A message as its backend sees it, for the dashboard.

use crate::dialer::Dialer;
use dialout_backends::backend::Details;
use dialout_model::message::Message;

impl Dialer {
    /// What the message's backend can show of it (files, audio); nothing when the backend
    /// is not configured in this process.
    pub async fn backend_details(&self, message: &Message) -> Details {
        match self.backends().get(&message.backend) {
            Some(b) => b.details(message).await,
            None => Details::default(),
        }
    }
}
