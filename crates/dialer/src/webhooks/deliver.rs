//! The delivery loop: one task per active endpoint, so a slow or dead receiver only ever
//! delays its own events. Each task claims due deliveries (of each message only the earliest
//! pending one), posts them a few at a time, and records the outcomes in one transaction.
//!
//! A claim is a lease of `lease` (15 s by default), renewed every third of it while the
//! round that holds it runs (see `dialout_store::webhook_control` for the invariant): a
//! killed worker's deliveries are free again one lease later, whatever the round's size or
//! the receiver's timeout.
//!
//! An idle task sleeps until the store's queued signal ticks (a commit queued deliveries: in
//! this process, and on PostgreSQL in any process, by `LISTEN/NOTIFY`) or `interval` passed,
//! whichever comes first; polling finds retries that came due, and what another process
//! queued on SQLite.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::post::{Answer, client, post};
use super::settings::WebhookSettings;
use super::signing;
use dialout_backends::shared::blocking;
use dialout_store::StoreError;
use dialout_store::prelude::*;
use dialout_store::webhooks::{Delivery, Endpoint, Outcome};

/// A round claims this many times `concurrency` deliveries.
const ROUND_WAVES: usize = 16;

/// Counts of one run of the loop.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct DeliveryStats {
    pub delivered: u64,
    pub retried: u64,
    pub failed: u64,
}

/// Runs the webhook deliveries of a store; `dialout worker` and `dialout serve` start one with
/// [`crate::dialer::Dialer::webhook_deliverer`] and [`Deliverer::run`].
#[derive(Clone)]
pub struct Deliverer {
    store: Arc<dyn Store>,
    settings: WebhookSettings,
    owner: String,
    http: reqwest::Client,
}

impl Deliverer {
    pub fn new(store: Arc<dyn Store>, settings: WebhookSettings) -> Result<Self, String> {
        Ok(Deliverer {
            http: client(settings.timeout)?,
            owner: format!("webhooks:{}", crate::delivery::owner_id()),
            store,
            settings,
        })
    }

    /// The store's queued signal (None: polling only, also when it cannot be had).
    async fn signal(&self) -> Option<watch::Receiver<u64>> {
        let store = self.store.clone();
        match blocking::run(move || store.webhooks().queued_signal()).await {
            Ok(Ok(signal)) => signal,
            Ok(Err(e)) => {
                tracing::warn!("webhook deliveries: no wake-ups ({e}); polling");
                None
            }
            Err(_) => None,
        }
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Until `stop` turns true: then each endpoint's task finishes the posts it has begun and
    /// records them.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) -> Result<DeliveryStats, StoreError> {
        let mut tasks: HashMap<i64, tokio::task::JoinHandle<Result<DeliveryStats, StoreError>>> =
            HashMap::new();
        let mut total = DeliveryStats::default();
        let signal = self.signal().await;
        loop {
            let store = self.store.clone();
            let endpoints = blocking::run(move || store.webhooks().endpoints())
                .await
                .map_err(|_| StoreError::Poisoned)??;
            // Removed or disabled endpoints: their loops stop (a post under way is cut
            // short; its claim expires and the delivery is retried).
            let active: Vec<i64> = endpoints
                .iter()
                .filter(|e| e.active)
                .map(|e| e.id)
                .collect();
            tasks.retain(|id, t| {
                let keep = active.contains(id);
                if !keep {
                    t.abort();
                }
                keep
            });
            for ep in endpoints.into_iter().filter(|e| e.active) {
                let running = tasks.get(&ep.id).is_some_and(|t| !t.is_finished());
                if !running {
                    if let Some(done) = tasks.remove(&ep.id) {
                        add(&mut total, &joined(done.await));
                    }
                    let me = self.clone();
                    let (stop, signal) = (stop.clone(), signal.clone());
                    tasks.insert(
                        ep.id,
                        tokio::spawn(async move { me.endpoint(ep, stop, signal).await }),
                    );
                }
            }
            if *stop.borrow() {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.settings.interval.max(Duration::from_secs(1))) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                break;
            }
        }
        for (_, t) in tasks {
            add(&mut total, &joined(t.await));
        }
        Ok(total)
    }

    /// Posts what is due now, endpoint by endpoint, until nothing is left that is due (for
    /// tests and benchmarks). Returns what it did.
    pub async fn drain(&self) -> Result<DeliveryStats, StoreError> {
        let store = self.store.clone();
        let endpoints = blocking::run(move || store.webhooks().endpoints())
            .await
            .map_err(|_| StoreError::Poisoned)??;
        let mut total = DeliveryStats::default();
        for ep in endpoints.into_iter().filter(|e| e.active) {
            let Ok(key) = signing::key(&ep.secret) else {
                continue;
            };
            let ep = Arc::new(ep);
            loop {
                let (n, stats) = self.round(&ep, &key).await?;
                add(&mut total, &stats);
                if n == 0 {
                    break;
                }
            }
        }
        Ok(total)
    }

    /// One endpoint's loop.
    async fn endpoint(
        self,
        ep: Endpoint,
        mut stop: watch::Receiver<bool>,
        mut signal: Option<watch::Receiver<u64>>,
    ) -> Result<DeliveryStats, StoreError> {
        let mut total = DeliveryStats::default();
        let key = match signing::key(&ep.secret) {
            Ok(k) => k,
            Err(e) => {
                tracing::error!(endpoint = ep.id, "{e}: no deliveries to it");
                return Ok(total);
            }
        };
        let ep = Arc::new(ep);
        while !*stop.borrow() {
            // Ticks from here on wake the wait below, even those that come during the round.
            if let Some(s) = signal.as_mut() {
                s.borrow_and_update();
            }
            let (n, stats) = match self.round(&ep, &key).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(endpoint = ep.id, "webhook deliveries: {e}");
                    (0, DeliveryStats::default())
                }
            };
            let gone = stats.failed > 0 && !self.still_active(ep.id).await;
            add(&mut total, &stats);
            if gone {
                break;
            }
            if n == 0 {
                tokio::select! {
                    _ = tokio::time::sleep(self.settings.interval) => {}
                    _ = queued(&mut signal) => {}
                    _ = stop.changed() => {}
                }
            }
        }
        Ok(total)
    }

    /// Renews the lease of these claimed deliveries every third of it until the guard is
    /// dropped (after their outcomes are recorded, or when the round is cut short).
    fn renew(&self, ids: Vec<i64>) -> Renewing {
        let (store, owner, settings) = (
            self.store.clone(),
            self.owner.clone(),
            self.settings.clone(),
        );
        let ids = Arc::new(ids);
        Renewing(tokio::spawn(async move {
            loop {
                tokio::time::sleep(settings.renew_every()).await;
                let (store, owner, ids) = (store.clone(), owner.clone(), ids.clone());
                let lease = settings.lease;
                let renewed = blocking::run(move || {
                    let until = Timestamp::now()
                        + jiff::SignedDuration::try_from(lease).unwrap_or_default();
                    store.webhooks().renew_claims(&owner, &ids, until)
                })
                .await;
                if let Ok(Err(e)) = renewed {
                    tracing::warn!("webhook deliveries: cannot renew their claims: {e}");
                }
            }
        }))
    }

    async fn still_active(&self, id: i64) -> bool {
        let store = self.store.clone();
        matches!(
            blocking::run(move || store.webhooks().endpoints()).await,
            Ok(Ok(eps)) if eps.iter().any(|e| e.id == id && e.active)
        )
    }

    /// Claims a batch of one endpoint's due deliveries, posts them, records the outcomes.
    /// Returns how many it claimed.
    async fn round(
        &self,
        ep: &Arc<Endpoint>,
        key: &[u8],
    ) -> Result<(usize, DeliveryStats), StoreError> {
        // Few rounds: each claims and records in a write transaction, which the worker
        // waits for.
        let waves = ROUND_WAVES;
        let per_round = self.settings.concurrency * waves;
        // One delivery's lease, renewed below while the round runs.
        let lease = self.settings.lease;
        let (store, owner, id) = (self.store.clone(), self.owner.clone(), ep.id);
        let claimed = blocking::run(move || {
            let now = Timestamp::now();
            let until = now + jiff::SignedDuration::try_from(lease).unwrap_or_default();
            let claimed = store
                .webhooks()
                .claim_deliveries(&owner, id, now, until, per_round)?;
            // The bodies: the message as it is now, the sequence where the store left it open.
            let mut out = Vec::with_capacity(claimed.len());
            for d in claimed {
                let (message, sequence) = match d.message_id {
                    Some(m) => {
                        let message = store.message(m)?;
                        let sequence = match d.sequence {
                            Some(s) => Some(s),
                            None => Some(store.history(m)?.len().saturating_sub(1) as i64),
                        };
                        (message, sequence)
                    }
                    None => (None, None),
                };
                let body = serde_json::to_vec(&super::event::body(&d, message.as_ref(), sequence))
                    .map_err(|e| StoreError::corrupt("webhook event", e))?;
                out.push((d, body));
            }
            Ok::<_, StoreError>(out)
        })
        .await
        .map_err(|_| StoreError::Poisoned)??;
        let n = claimed.len();
        if n == 0 {
            return Ok((0, DeliveryStats::default()));
        }
        let _renewing = self.renew(claimed.iter().map(|(d, _)| d.id).collect());
        let permits = Arc::new(Semaphore::new(self.settings.concurrency));
        let mut posts = JoinSet::new();
        for (d, body) in claimed {
            let (http, url, key, permits) = (
                self.http.clone(),
                ep.url.clone(),
                key.to_vec(),
                permits.clone(),
            );
            posts.spawn(async move {
                let _permit = permits.acquire_owned().await;
                let answer = post(&http, &url, &key, &d.event_id(), body).await;
                (d, answer)
            });
        }
        let mut outcomes = Vec::with_capacity(n);
        let mut stats = DeliveryStats::default();
        let mut gone = None;
        while let Some(done) = posts.join_next().await {
            let Ok((d, answer)) = done else { continue };
            let outcome = self.judge(&d, answer, &mut gone);
            match &outcome {
                Outcome::Delivered { .. } => stats.delivered += 1,
                Outcome::Retry { error, .. } => {
                    stats.retried += 1;
                    tracing::debug!(endpoint = ep.id, delivery = d.id, "retried: {error}");
                }
                Outcome::Failed { error, .. } => {
                    stats.failed += 1;
                    tracing::warn!(
                        endpoint = ep.id,
                        delivery = d.id,
                        "webhook delivery failed: {error}"
                    );
                }
            }
            outcomes.push((d.id, outcome));
        }
        let (store, owner, id) = (self.store.clone(), self.owner.clone(), ep.id);
        blocking::run(move || {
            let now = Timestamp::now();
            store.webhooks().record_deliveries(&owner, &outcomes, now)?;
            if let Some(reason) = gone {
                tracing::warn!(endpoint = id, "webhook endpoint disabled: {reason}");
                store.webhooks().disable_endpoint(id, &reason, now)?;
            }
            Ok::<_, StoreError>(())
        })
        .await
        .map_err(|_| StoreError::Poisoned)??;
        Ok((n, stats))
    }

    /// 2xx is delivered; 410 Gone disables the endpoint; anything else is retried until
    /// `max_age` after it was queued.
    fn judge(&self, d: &Delivery, answer: Answer, gone: &mut Option<String>) -> Outcome {
        let (status, error, response) = match answer {
            Answer::Status(s, body) if (200..300).contains(&s) => {
                return Outcome::Delivered {
                    status: s,
                    response: body,
                };
            }
            Answer::Status(410, body) => {
                *gone = Some("the receiver answered 410 Gone".into());
                return Outcome::Failed {
                    status: Some(410),
                    error: "410 Gone: endpoint disabled".into(),
                    response: Some(body),
                };
            }
            Answer::Status(s, body) => {
                let error = if (300..400).contains(&s) {
                    format!("HTTP {s} (redirects are not followed)")
                } else {
                    format!("HTTP {s}")
                };
                (Some(s), error, Some(body))
            }
            Answer::NoAnswer(e) => (None, e, None),
        };
        let now = Timestamp::now();
        let next = now
            + jiff::SignedDuration::try_from(self.settings.backoff(d.attempts + 1))
                .unwrap_or_default();
        let deadline =
            d.queued_at + jiff::SignedDuration::try_from(self.settings.max_age).unwrap_or_default();
        if next > deadline {
            Outcome::Failed {
                status,
                error: format!("{error}; given up after max_age"),
                response,
            }
        } else {
            Outcome::Retry {
                at: next,
                status,
                error,
                response,
            }
        }
    }
}

/// Stops renewing a round's claims when dropped.
struct Renewing(tokio::task::JoinHandle<()>);

impl Drop for Renewing {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Until the signal ticks; never without one (or once its sender is gone).
async fn queued(signal: &mut Option<watch::Receiver<u64>>) {
    if let Some(s) = signal
        && s.changed().await.is_ok()
    {
        return;
    }
    std::future::pending().await
}

fn add(total: &mut DeliveryStats, s: &DeliveryStats) {
    total.delivered += s.delivered;
    total.retried += s.retried;
    total.failed += s.failed;
}

/// A finished endpoint task's counts (its errors were logged as they came).
fn joined(r: Result<Result<DeliveryStats, StoreError>, tokio::task::JoinError>) -> DeliveryStats {
    match r {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::warn!("webhook deliveries: {e}");
            DeliveryStats::default()
        }
        Err(_) => DeliveryStats::default(),
    }
}
