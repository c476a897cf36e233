//! Wake-ups by `LISTEN/NOTIFY`: a commit that queues messages (or webhook deliveries)
//! notifies, and a listener thread (its own connection) turns each notification into a tick
//! of a watch channel an idle worker (or delivery loop) waits on. Polling stays: a lost
//! connection only delays until the next poll.
use super::Db;
use crate::error::StoreError;
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls, Transaction};
use std::time::Duration;
use tokio::sync::watch;

/// Messages queued for the worker.
pub(super) const DUE: &str = "dialout_due";
/// Webhook deliveries queued (the triggers of `webhooks.rs` notify it too).
pub(super) const QUEUED: &str = "dialout_webhooks";

/// Tells listeners, at commit, that messages were queued (one notification per transaction:
/// the server folds repeats).
pub(super) fn notify(db: &mut Db<'_, Transaction<'_>>) -> Result<(), StoreError> {
    db.execute("SELECT pg_notify('dialout_due', '')", &[])?;
    Ok(())
}

/// Tells delivery loops, at commit, that webhook deliveries were queued.
pub(super) fn notify_queued(db: &mut Db<'_, Transaction<'_>>) -> Result<(), StoreError> {
    db.execute("SELECT pg_notify('dialout_webhooks', '')", &[])?;
    Ok(())
}

/// Listens on a connection of its own (already listening when this returns) and ticks the
/// channel on every notification and after every reconnect (anything may have been missed
/// meanwhile). The thread ends when the last receiver is dropped.
pub(super) fn listen(
    config: &postgres::Config,
    channel: &'static str,
) -> Result<watch::Receiver<u64>, StoreError> {
    let client = connect(config, channel)?;
    let (tx, rx) = watch::channel(0u64);
    let config = config.clone();
    std::thread::Builder::new()
        .name("dialout-pg-listen".into())
        .spawn(move || run(client, &config, channel, &tx))
        .map_err(|e| StoreError::corrupt("listener thread", e))?;
    Ok(rx)
}

fn connect(config: &postgres::Config, channel: &str) -> Result<Client, StoreError> {
    let mut client = config.connect(NoTls)?;
    client.batch_execute(&format!("LISTEN {channel}"))?;
    Ok(client)
}

fn run(mut client: Client, config: &postgres::Config, channel: &str, tx: &watch::Sender<u64>) {
    let mut backoff = Duration::from_millis(100);
    let mut down = false;
    loop {
        if tx.is_closed() {
            return;
        }
        let next = client
            .notifications()
            .timeout_iter(Duration::from_millis(500))
            .next();
        match next {
            Ok(Some(_)) => tx.send_modify(|n| *n += 1),
            Ok(None) if !client.is_closed() => {}
            Err(_) | Ok(None) => loop {
                if tx.is_closed() {
                    return;
                }
                match connect(config, channel) {
                    Ok(c) => {
                        client = c;
                        if down {
                            tracing::info!(channel, "listening for notifications again");
                        }
                        (down, backoff) = (false, Duration::from_millis(100));
                        tx.send_modify(|n| *n += 1);
                        break;
                    }
                    Err(e) => {
                        if !down {
                            tracing::warn!(
                                channel,
                                "lost the connection that listens for notifications ({e}); polling meanwhile, reconnecting with backoff"
                            );
                            down = true;
                        }
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            },
        }
    }
}
