//! Wake-ups by `LISTEN/NOTIFY`: a commit that queues messages notifies, and a listener
//! thread (its own connection) turns each notification into a tick of a watch channel an
//! idle worker waits on. Polling stays: a lost connection only delays until the next poll.
use super::Db;
use crate::error::StoreError;
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls, Transaction};
use std::time::Duration;
use tokio::sync::watch;

const CHANNEL: &str = "dialout_due";

/// Tells listeners, at commit, that messages were queued (one notification per transaction:
/// the server folds repeats).
pub(super) fn notify(db: &mut Db<'_, Transaction<'_>>) -> Result<(), StoreError> {
    db.execute("SELECT pg_notify('dialout_due', '')", &[])?;
    Ok(())
}

/// Listens on a connection of its own (already listening when this returns) and ticks the
/// channel on every notification and after every reconnect (anything may have been missed
/// meanwhile). The thread ends when the last receiver is dropped.
pub(super) fn listen(config: &postgres::Config) -> Result<watch::Receiver<u64>, StoreError> {
    let client = connect(config)?;
    let (tx, rx) = watch::channel(0u64);
    let config = config.clone();
    std::thread::Builder::new()
        .name("dialout-pg-listen".into())
        .spawn(move || run(client, &config, &tx))
        .map_err(|e| StoreError::corrupt("listener thread", e))?;
    Ok(rx)
}

fn connect(config: &postgres::Config) -> Result<Client, StoreError> {
    let mut client = config.connect(NoTls)?;
    client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
    Ok(client)
}

fn run(mut client: Client, config: &postgres::Config, tx: &watch::Sender<u64>) {
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
                match connect(config) {
                    Ok(c) => {
                        client = c;
                        if down {
                            tracing::info!("listening for queued messages again");
                        }
                        (down, backoff) = (false, Duration::from_millis(100));
                        tx.send_modify(|n| *n += 1);
                        break;
                    }
                    Err(e) => {
                        if !down {
                            tracing::warn!(
                                "lost the connection that listens for queued messages ({e}); polling meanwhile, reconnecting with backoff"
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
