//! `Dialer::authenticate` trusts a verified token for at most `TOKEN_FRESH` (one second):
//! revoked through the same `Dialer` it is refused at once, revoked by another process (here
//! another `Dialer` on the same database) within that second; on SQLite and PostgreSQL.

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod delivery_support;

use std::sync::Arc;
use std::time::Instant;

use common::TestDb;
use delivery_support::db_suite;
use dialout_backends::Dummy;
use dialout_dialer::delivery::Channels;
use dialout_dialer::{Dialer, Scope, TOKEN_FRESH};

fn dialer(db: &TestDb) -> Dialer {
    Dialer::new(
        Arc::clone(&db.store),
        Channels::single(Arc::new(Dummy::new("dummy"))),
    )
}

async fn revoked_here_is_refused_at_once(db: &TestDb) {
    let d = dialer(db);
    let t = d.create_token("app", &[Scope::Send]).await.unwrap();
    assert_eq!(
        d.authenticate(&t.secret).await.unwrap().unwrap().name,
        "app"
    );
    // Another secret with the same lookup part is not the cached token.
    let mut forged = t.secret.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    assert!(d.authenticate(&forged).await.unwrap().is_none());
    d.revoke_token("app").await.unwrap();
    assert!(d.authenticate(&t.secret).await.unwrap().is_none());
}

async fn revoked_elsewhere_is_refused_within_a_second(db: &TestDb) {
    let server = dialer(db);
    let cli = dialer(db);
    let t = server.create_token("app", &[Scope::Send]).await.unwrap();
    let read = Instant::now();
    assert!(server.authenticate(&t.secret).await.unwrap().is_some());
    cli.revoke_token("app").await.unwrap();
    let cached = server.authenticate(&t.secret).await.unwrap();
    // Within the second the row is not read again (unless this machine stalled that long).
    if read.elapsed() < TOKEN_FRESH {
        assert!(cached.is_some(), "answered from the cache");
    }
    tokio::time::sleep_until((read + TOKEN_FRESH).into()).await;
    assert!(
        server.authenticate(&t.secret).await.unwrap().is_none(),
        "refused once the second is over"
    );
}

db_suite!(
    revoked_here_is_refused_at_once,
    revoked_elsewhere_is_refused_within_a_second,
);
