//! API tokens in the store, on SQLite and PostgreSQL.

mod common;

use dialout_store::StoreError;
use dialout_store::prelude::*;
use dialout_store::tokens::{NewToken, Scope};
use jiff::Timestamp;

fn new(name: &str, lookup: &str) -> NewToken {
    NewToken {
        name: name.into(),
        lookup: lookup.into(),
        hash: vec![7; 32],
        scopes: vec![Scope::Send, Scope::Read],
    }
}

fn add_list_find_touch_remove(s: &dyn Store) {
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let t = s.add_token(&new("ci", "aaaa"), now).unwrap();
    assert_eq!(t.scopes, vec![Scope::Send, Scope::Read]);
    assert!(matches!(
        s.add_token(&new("ci", "bbbb"), now),
        Err(StoreError::TokenExists(n)) if n == "ci"
    ));
    s.add_token(&new("alpha", "cccc"), now).unwrap();
    let names: Vec<_> = s.tokens().unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["alpha", "ci"]);
    let found = s.token_by_lookup("aaaa").unwrap().unwrap();
    assert_eq!(found.token.name, "ci");
    assert_eq!(found.hash, vec![7; 32]);
    assert_eq!(found.token.last_used_at, None);
    assert!(s.token_by_lookup("zzzz").unwrap().is_none());
    let later = Timestamp::from_second(1_800_000_060).unwrap();
    s.touch_token("ci", later).unwrap();
    let found = s.token_by_lookup("aaaa").unwrap().unwrap();
    assert_eq!(found.token.last_used_at, Some(later));
    assert!(s.remove_token("ci").unwrap());
    assert!(!s.remove_token("ci").unwrap());
    assert!(s.token_by_lookup("aaaa").unwrap().is_none());
}

#[test]
fn sqlite_tokens() {
    let db = common::sqlite();
    add_list_find_touch_remove(db.store.as_ref());
}

#[test]
fn postgres_tokens() {
    let db = common::postgres();
    add_list_find_touch_remove(db.store.as_ref());
}

fn queue_depth_counts_unpublished(s: &dyn Store) {
    use dialout_store::InsertMode;
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    assert_eq!(s.queue_depth().unwrap(), 0);
    let batch = [
        common::new_message("+420777000001"),
        common::new_message("+420777000002"),
    ];
    s.insert(&batch, InsertMode::QUEUED, now).unwrap();
    assert_eq!(s.queue_depth().unwrap(), 2);
}

#[test]
fn sqlite_queue_depth() {
    queue_depth_counts_unpublished(common::sqlite().store.as_ref());
}

#[test]
fn postgres_queue_depth() {
    queue_depth_counts_unpublished(common::postgres().store.as_ref());
}
