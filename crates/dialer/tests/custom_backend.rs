//! The README's "Writing a backend" example, compiled and run; the README must show it as is.

// README-BEGIN
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use dialout_backends::backend::{Accepted, Backend, BackendError, Found, Lookup, Publish};
use dialout_dialer::{JsonMap, Message, MessageId};

/// Hands messages to an in-house call service (here: a list in memory).
struct CallService {
    queue: Mutex<Vec<MessageId>>,
}

#[async_trait]
impl Backend for CallService {
    fn name(&self) -> &str {
        "calls"
    }

    async fn publish(&self, message: &Message) -> Publish {
        self.queue.lock().unwrap().push(message.id);
        let mut data = JsonMap::new();
        data.insert(
            "queue_position".into(),
            self.queue.lock().unwrap().len().into(),
        );
        Publish::Accepted(Accepted::ready(data, "queued at the call service"))
    }

    // Lets dialout resolve an attempt cut short by a crash without calling anyone twice.
    fn lookup(&self) -> Option<&dyn Lookup> {
        Some(self)
    }
}

#[async_trait]
impl Lookup for CallService {
    async fn find(&self, message: &Message) -> Result<Found, BackendError> {
        let known = self.queue.lock().unwrap().contains(&message.id);
        Ok(if known {
            Found::Yes(Accepted::ready(JsonMap::new(), "already queued"))
        } else {
            Found::No
        })
    }
}
// README-END

use dialout_dialer::delivery::Channels;
use dialout_dialer::{Dialer, SendRequest, State};
use dialout_store as store;

#[tokio::test(flavor = "multi_thread")]
async fn a_custom_backend_receives_sent_messages() {
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(&format!("sqlite://{}/dialout.db", dir.path().display())).unwrap();
    let service = Arc::new(CallService {
        queue: Mutex::new(Vec::new()),
    });
    let dialer = Dialer::new(store, Channels::single(service.clone()));
    let sent = dialer
        .send(SendRequest::new("+420777123456", "Your order has shipped"))
        .await
        .unwrap();
    assert_eq!(sent.message.state, State::Ready);
    assert_eq!(sent.message.backend, "calls");
    assert_eq!(sent.message.extra_sender_data["queue_position"], 1);
    assert_eq!(*service.queue.lock().unwrap(), vec![sent.message.id]);
}

#[test]
fn the_readme_shows_this_example() {
    let me = include_str!("custom_backend.rs");
    let start = me.find("// README-BEGIN\n").unwrap() + "// README-BEGIN\n".len();
    let end = me.find("// README-END").unwrap();
    let readme = include_str!("../../../README.md");
    assert!(
        readme.contains(&me[start..end]),
        "README's 'Writing a backend' differs from tests/custom_backend.rs"
    );
}
