//! `send` through the group committer (`delivery/group_commit.rs`).

use dialout_model::dnc::Screen;
use dialout_model::message::{Message, NewMessage};

use crate::delivery::group_commit::{GroupCommit, Start};
use crate::dialer::Dialer;
use crate::send::merge;
use crate::send::request::{SendError, Sent};

impl Dialer {
    /// Sends through the group committer: stored with whatever else is being sent, then
    /// published on its own, and its outcome recorded with the others'. `screen` is what
    /// the one-at-a-time path would check.
    pub(crate) async fn send_grouped(
        &self,
        group: &GroupCommit,
        message: NewMessage,
        publish: bool,
        screen: Screen,
    ) -> Result<Sent, SendError> {
        let at_once = crate::delivery::may_begin_at_once(self.backends(), &message);
        let start = match (publish, at_once) {
            (false, _) => Start::Queued,
            (true, true) => Start::Attempting,
            (true, false) => Start::Claimed,
        };
        let inserted = group.insert(message, start, screen).await?;
        if !publish {
            return Ok(Sent {
                message: inserted.message,
                existing: inserted.existing,
            });
        }
        let claimed: Vec<Message> = vec![inserted.message.clone()];
        let held = vec![inserted.message.id];
        let (store, backends, owner) = (self.store(), self.backends(), group.owner());
        let published = if at_once {
            let record = crate::delivery::Record::Grouped(group);
            crate::delivery::publish_begun(store, backends, owner, claimed, record).await
        } else {
            crate::delivery::publish_claimed(store, backends, owner, claimed).await
        };
        crate::delivery::release_rest(store, owner, held, &published).await?;
        Ok(merge(vec![inserted], published?.messages).remove(0))
    }
}
