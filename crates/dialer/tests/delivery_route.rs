//! Routing and the allowlist through `send`, configured as a user would (`dialout.toml`).

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod delivery_support;

use delivery_support::{claimed, get, runtime};
use dialout_dialer::config::Config;
use dialout_dialer::{Dialer, SendRequest, State};

fn dialer(db: &common::TestDb, toml: &str) -> Dialer {
    let config = Config::from_toml(toml, "test.toml").unwrap();
    let backends = config.channels().unwrap();
    Dialer::new(db.store.clone(), backends).with_default_region(Some("CZ".into()))
}

const ROUTED: &str = r#"
default_backend = "rest"
[backends.rest]
kind = "dummy"
[backends.cz]
kind = "dummy"
[backends.prague]
kind = "dummy"
[delivery.routes]
"+420" = "cz"
"+4202" = "prague"
"#;

#[test]
fn the_longest_prefix_picks_the_backend() {
    let db = common::sqlite();
    let d = dialer(&db, ROUTED);
    runtime().block_on(async {
        for (number, backend) in [
            ("777 123 456", "cz"),
            ("+420 212 345 678", "prague"),
            ("+1 202 555 0123", "rest"),
        ] {
            let sent = d.send(SendRequest::new(number, "hi")).await.unwrap();
            assert_eq!(sent.message.backend, backend, "{number}");
            assert_eq!(sent.message.state, State::Debug);
        }
        let mut named = SendRequest::new("777 123 456", "hi");
        named.options.backend = Some("rest".into());
        assert_eq!(
            d.send(named).await.unwrap().message.backend,
            "rest",
            "a named backend wins over routes"
        );
    });
}

#[test]
fn a_route_to_a_missing_backend_is_a_configuration_error() {
    let config =
        Config::from_toml("[delivery.routes]\n\"+420\" = \"nowhere\"\n", "test.toml").unwrap();
    let e = config.channels().err().unwrap().to_string();
    assert!(
        e.contains("delivery.routes") && e.contains("nowhere"),
        "{e}"
    );
}

fn allowlist_refuses_and_stores_error(db: &common::TestDb) {
    let d = dialer(
        db,
        "default_region = \"CZ\"\n[delivery]\nallowlist = [\"777 123 456\"]\n",
    );
    runtime().block_on(async {
        let ok = d
            .send(SendRequest::new("+420 777 123 456", "test call"))
            .await
            .unwrap()
            .message;
        assert_eq!(ok.state, State::Debug);
        let refused = d
            .send(SendRequest::new("+420 777 999 888", "real customer"))
            .await
            .unwrap()
            .message;
        assert_eq!(
            (refused.state, refused.is_final_state, refused.attempts),
            (State::Error, true, 0)
        );
        let error = refused.error.clone().unwrap();
        assert!(
            error.contains("+420777999888") && error.contains("allowlist"),
            "{error}"
        );
        assert_eq!(get(&db.store, refused.id), refused, "stored as shown");
        assert_eq!(claimed(db), 0);
    });
}

#[test]
fn allowlist_on_sqlite() {
    allowlist_refuses_and_stores_error(&common::sqlite());
}

#[test]
fn allowlist_on_postgres() {
    allowlist_refuses_and_stores_error(&common::postgres());
}
