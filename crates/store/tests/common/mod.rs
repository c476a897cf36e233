//! Test databases (`dialout_testkit::db`) opened as stores, and test values.
#![allow(dead_code)]

use std::sync::Arc;

use dialout_model::message::NewMessage;
use dialout_model::phone::PhoneNumber;
use dialout_model::related::RelatedObject;
use dialout_store::store::Store;
use dialout_testkit::db::{self, TempDb};

#[allow(unused_imports)]
pub use dialout_testkit::db::{pg_admin_url, with_database};

pub struct TestDb {
    pub store: Arc<dyn Store>,
    pub url: String,
    _db: TempDb,
}

fn open(db: TempDb) -> TestDb {
    let store = dialout_store::open::open(&db.url).expect("open the test store");
    TestDb {
        store,
        url: db.url.clone(),
        _db: db,
    }
}

pub fn sqlite() -> TestDb {
    open(db::sqlite())
}

pub fn postgres() -> TestDb {
    open(db::postgres())
}

pub fn phone(n: &str) -> PhoneNumber {
    PhoneNumber::parse(n, Some("CZ")).expect("valid test number")
}

pub fn new_message(content: &str) -> NewMessage {
    NewMessage::new(phone("+420777123456"), content, "dummy")
}

pub fn related(s: &str) -> RelatedObject {
    s.parse().expect("valid related object")
}
