//! The `Backend` trait: what every delivery channel (Dummy, Asterisk, Daktela, ...) offers.
//!
//! Backends never touch the store and are never called inside a database transaction:
//! the delivery code claims a message, calls the backend, and records what it said.

use async_trait::async_trait;

use dialout_model::id::MessageId;
use dialout_model::interactive::{Interactive, Reply};
use dialout_model::message::JsonMap;
use dialout_model::message::Message;
use dialout_model::state::State;

/// A delivery channel. Only `name` and `publish` are required. What some backends can do
/// and others cannot (pacing, looking a message up, results that arrive on their own) is an
/// optional part returned by [`Backend::pacing`], [`Backend::lookup`] and [`Backend::intake`],
/// so a capability and the code behind it cannot drift apart.
#[async_trait]
pub trait Backend: Send + Sync {
    /// The configured name (`[backends.NAME]`).
    fn name(&self) -> &str;

    /// Hands one message over. Never panics or raises: every failure is a [`Publish`] value.
    async fn publish(&self, message: &Message) -> Publish;

    /// Hands many over; by default one by one. Backends with a batch API or concurrency
    /// override it. The result has one entry per message, in order.
    async fn publish_many(&self, messages: &[Message]) -> Vec<Publish> {
        let mut out = Vec::with_capacity(messages.len());
        for m in messages {
            out.push(self.publish(m).await);
        }
        out
    }

    /// Bulk status check of sent, non-final messages. `cursor` is where the last
    /// successful check got to (the backend's own format); the report says where the next
    /// one starts. A failure that concerns one message goes in `failures`; an `Err` means
    /// the whole backend is unavailable and counts against no message.
    async fn check_status(
        &self,
        _messages: &[Message],
        _cursor: Option<&str>,
    ) -> Result<StatusReport, BackendError> {
        Ok(StatusReport::default())
    }

    /// Withdraws a message the backend has not acted on yet, where it can.
    async fn cancel(&self, _message: &Message) -> Result<Cancel, BackendError> {
        Ok(Cancel::Unsupported)
    }

    /// Limits how many messages are handed over at a time. `None` (the default): no limit,
    /// and the count of messages in flight, a query per publish, is not made.
    fn pacing(&self) -> Option<&dyn Pacing> {
        None
    }

    /// Tells whether the backend already holds a message. `None` (the default): an attempt
    /// whose outcome is unknown is never resolved ([`Found::Unknown`]) and so never
    /// published again. With a lookup, `send` may also begin the first attempt in the
    /// transaction that stores the message (one commit fewer): a crash before the outcome
    /// is recorded is resolved through the lookup.
    fn lookup(&self) -> Option<&dyn Lookup> {
        None
    }

    /// Results that arrive on their own (Asterisk's archives and dialplan reports). `None`
    /// (the default): the worker does not read this backend's in-flight messages each tick.
    fn intake(&self) -> Option<&dyn Intake> {
        None
    }

    /// What this backend can show of a message beyond its stored data (the files it wrote,
    /// its audio), for people looking into one call. Nothing by default.
    async fn details(&self, _message: &Message) -> Details {
        Details::default()
    }

    /// Removing the files this backend keeps about messages (erasure, retention). `None`
    /// (the default): it keeps none.
    fn forget(&self) -> Option<&dyn Forget> {
        None
    }

    /// The audio file named by `key` (`/audio/<key>.wav`, served to a PBX that fetches the
    /// message's audio over HTTP), only while `message` needs it. `None` (the default): this
    /// backend serves no audio.
    fn audio(&self, _message: &Message, _key: &str) -> Option<std::path::PathBuf> {
        None
    }

    /// Whether this backend can carry out what `ask` asks (gathering keys, a policy for
    /// answering machines); `send` refuses the message with the returned reason otherwise.
    /// By default only a plain call is possible.
    fn check_interactive(&self, ask: &Interactive) -> Result<(), String> {
        if ask.is_plain() {
            Ok(())
        } else {
            Err(format!(
                "backend {:?} cannot gather keys or detect answering machines",
                self.name()
            ))
        }
    }
}

/// A message as one backend sees it ([`Backend::details`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Details {
    /// Text files about the message, each with a title (`call file`, `report`).
    pub documents: Vec<(String, String)>,
    /// The audio played to the callee, if the backend keeps it as a file.
    pub audio: Option<std::path::PathBuf>,
}

/// Pacing: a backend's own limit on messages in flight or per second.
#[async_trait]
pub trait Pacing: Send + Sync {
    /// How many more messages may be handed over now, given how many of this backend's
    /// messages are in flight (sent, not final). The rest stay WAITING.
    async fn capacity(&self, in_flight: usize) -> usize;

    /// The limits that hold across every worker sharing the database, counted there when
    /// the worker claims ([`dialout_model::pace::Pace`]); what `capacity` says still applies on
    /// top. None by default.
    fn limits(&self) -> dialout_model::pace::Pace {
        dialout_model::pace::Pace::NONE
    }
}

/// Looking up one message after an attempt whose outcome is unknown (a crash between
/// publish and the state update, a timeout after the request was sent).
#[async_trait]
pub trait Lookup: Send + Sync {
    /// Did the backend take this message? Called before publishing it again, so that
    /// nobody is called twice. Answer [`Found::Yes`] or [`Found::No`]; [`Found::Unknown`]
    /// leaves the message failed rather than risk a second call.
    async fn find(&self, message: &Message) -> Result<Found, BackendError>;
}

/// Files a backend keeps about messages (audio, archived call files, report files,
/// outbox and result files), removed when the messages are erased.
#[async_trait]
pub trait Forget: Send + Sync {
    /// Removes every file this backend keeps about these final messages; returns how many
    /// files it removed. Files another message still needs (shared audio of a call in the
    /// spool) stay.
    async fn forget(&self, messages: &[Message]) -> Result<usize, BackendError>;

    /// Removes audio not used for `age` that no queued call needs (`[retention] audio`);
    /// returns how many files it removed. Nothing by default.
    async fn expire_audio(&self, _age: std::time::Duration) -> Result<usize, BackendError> {
        Ok(0)
    }

    /// Where copies of erased messages stay that dialout cannot remove (a hosted service
    /// whose API offers no deletion), told to whoever erases. None by default.
    fn remote_copy(&self) -> Option<String> {
        None
    }
}

/// Results that arrive on their own.
#[async_trait]
pub trait Intake: Send + Sync {
    /// Results that arrived since the last call. `pending` are this backend's sent,
    /// non-final messages.
    async fn collect(&self, pending: &[Message]) -> Result<StatusReport, BackendError>;

    /// Notified when results are waiting, so that the worker collects them at once instead
    /// of at its next tick. `None` (the default): collected each tick.
    fn changed(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        None
    }
}

/// The outcome of handing one message to a backend.
#[derive(Debug, Clone, PartialEq)]
pub enum Publish {
    /// Taken: READY with `sent_at` (or DEBUG and final for the Dummy backend).
    Accepted(Accepted),
    /// Failed, may succeed later: ERROR_RETRY with backoff. `ambiguous` when the request
    /// may have reached the backend (timeout): the next attempt asks [`Lookup::find`] first.
    Retry { error: String, ambiguous: bool },
    /// Failed for good: ERROR.
    Failed { error: String },
    /// The backend as a whole cannot take messages now (401/403): the message stays
    /// WAITING and the attempt does not count.
    Paused { reason: String },
    /// No capacity now (pacing): the message stays WAITING and the attempt does not count.
    Deferred,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub state: State,
    pub is_final: bool,
    /// Merged into the message's `extra_sender_data`.
    pub sender_data: JsonMap,
    /// For the state history.
    pub reason: String,
}

impl Accepted {
    pub fn ready(sender_data: JsonMap, reason: impl Into<String>) -> Self {
        Accepted {
            state: State::Ready,
            is_final: false,
            sender_data,
            reason: reason.into(),
        }
    }
}

/// Whether a backend already holds a message (see [`Lookup::find`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    Yes(Accepted),
    No,
    /// The backend cannot tell (or has no [`Lookup`]): the message is not published again.
    Unknown,
}

/// A state a backend reports for one message.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    pub id: MessageId,
    pub state: State,
    pub is_final: bool,
    pub error: Option<String>,
    /// Merged into `extra_sender_data`.
    pub sender_data: JsonMap,
    pub reason: String,
    /// Keys pressed and who answered, for interactive calls; merged into the message's reply.
    pub reply: Reply,
}

/// A status check failure that concerns one message only.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckFailure {
    pub id: MessageId,
    pub error: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusReport {
    pub updates: Vec<StatusUpdate>,
    pub failures: Vec<CheckFailure>,
    /// Where the next check starts; stored only when the run succeeded.
    pub cursor: Option<String>,
    /// Odd records and other things worth a log line; they affect no message.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cancel {
    /// The backend will not call.
    Withdrawn,
    /// The backend has already acted (or may have); the reason says how far it got.
    TooLate(String),
    /// This backend cannot withdraw messages.
    Unsupported,
}

/// A failure of the backend as a whole; it counts against no message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BackendError {
    #[error("backend unavailable: {0}")]
    Outage(String),
    #[error("backend paused: {0}")]
    Paused(String),
}
