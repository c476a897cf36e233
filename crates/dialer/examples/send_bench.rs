//! Messages per second through `Dialer` on SQLite, beside a raw rusqlite baseline measured in
//! the same process with the same journal mode (WAL) and synchronous setting (NORMAL).
//!
//!     cargo run --release -p dialout-dialer --example send_bench [-- SCALE]
//!
//! SCALE (default 1.0) multiplies the message counts; a second argument runs one series only
//! (`raw`, `single`, `queued`, `bulk`, `bulk_publish`, `template`), for profiling. Every series writes to its own new
//! database file; nothing is deleted until the end.

use std::sync::Arc;
use std::time::Instant;

use dialout_dialer::backends::{Backends, Dummy};
use dialout_dialer::store::{self, NewTemplate};
use dialout_dialer::{Dialer, SendOptions, SendRequest, TemplateRequest};
use rusqlite::Connection;
use serde_json::json;

fn rate(n: usize, secs: f64) -> f64 {
    n as f64 / secs
}

fn raw(path: &std::path::Path, n: usize, per_tx: usize) -> f64 {
    let mut conn = Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    conn.execute_batch(
        "CREATE TABLE raw (id INTEGER PRIMARY KEY, uid TEXT NOT NULL, recipient TEXT NOT NULL, content TEXT NOT NULL, created_at INTEGER NOT NULL)",
    )
    .unwrap();
    let start = Instant::now();
    let mut done = 0;
    while done < n {
        let tx = conn.transaction().unwrap();
        {
            let mut stmt = tx.prepare_cached("INSERT INTO raw (uid, recipient, content, created_at) VALUES (?1, ?2, ?3, ?4)").unwrap();
            for i in 0..per_tx.min(n - done) {
                stmt.execute((format!("{:032x}", done + i), "+420777123456", "Your order has shipped", (done + i) as i64)).unwrap();
            }
        }
        tx.commit().unwrap();
        done += per_tx;
    }
    rate(n, start.elapsed().as_secs_f64())
}

fn dialer(dir: &std::path::Path, name: &str) -> Dialer {
    let url = format!("sqlite://{}", dir.join(name).display());
    let store = store::open(&url).unwrap();
    Dialer::new(store, Backends::single(Arc::new(Dummy::new("dummy"))))
}

fn request(i: usize, queued: bool) -> SendRequest {
    let mut r = SendRequest::new("+420777123456", "Your order has shipped");
    r.options = SendOptions { related: vec![format!("order:{i}")], queued, ..Default::default() };
    r
}

fn main() {
    let scale: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let only = std::env::args().nth(2);
    let on = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let n = |base: usize| ((base as f64 * scale) as usize).max(100);
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();

    let m = |name: &str, base: usize| if on(name) { n(base) } else { 100 };
    let raw1 = raw(&dir.path().join("raw1.db"), m("raw", 20_000), 1);
    let raw1000 = raw(&dir.path().join("raw1000.db"), m("raw", 300_000), 1000);

    let d = dialer(dir.path(), "single.db");
    let count = m("single", 5_000);
    let start = Instant::now();
    rt.block_on(async {
        for i in 0..count {
            let sent = d.send(request(i, false)).await.unwrap();
            assert!(sent.message.is_final_state);
        }
    });
    let single = rate(count, start.elapsed().as_secs_f64());

    let d = dialer(dir.path(), "queued.db");
    let count = m("queued", 10_000);
    let start = Instant::now();
    rt.block_on(async {
        for i in 0..count {
            d.send(request(i, true)).await.unwrap();
        }
    });
    let queued = rate(count, start.elapsed().as_secs_f64());

    let d = dialer(dir.path(), "bulk.db");
    let count = m("bulk", 300_000);
    let start = Instant::now();
    rt.block_on(async {
        let mut i = 0;
        while i < count {
            let batch: Vec<_> = (i..(i + 1000).min(count)).map(|j| request(j, true)).collect();
            i += batch.len();
            d.send_many(batch).await.unwrap();
        }
    });
    let bulk = rate(count, start.elapsed().as_secs_f64());

    let d = dialer(dir.path(), "bulk_publish.db");
    let count = m("bulk_publish", 5_000);
    let start = Instant::now();
    rt.block_on(async {
        let mut i = 0;
        while i < count {
            let batch: Vec<_> = (i..(i + 1000).min(count)).map(|j| request(j, false)).collect();
            i += batch.len();
            d.send_many(batch).await.unwrap();
        }
    });
    let bulk_publish = rate(count, start.elapsed().as_secs_f64());

    let d = dialer(dir.path(), "template.db");
    let t = NewTemplate { slug: "shipped".into(), body: "Hello {{ name }}, order {{ order }} has shipped".into(), active: true, allow_duplicates: true };
    d.store().add_template(&t, jiff::Timestamp::now()).unwrap();
    let count = m("template", 5_000);
    let start = Instant::now();
    rt.block_on(async {
        for i in 0..count {
            let r = TemplateRequest {
                recipient: "+420777123456".into(),
                slug: "shipped".into(),
                context: json!({"name": "Jo", "order": i}),
                options: SendOptions { related: vec![format!("order:{i}")], ..Default::default() },
            };
            d.send_template(r).await.unwrap();
        }
    });
    let template = rate(count, start.elapsed().as_secs_f64());

    println!("SQLite, WAL, synchronous=NORMAL, Dummy backend (messages/s)");
    println!("  raw INSERT, 1 row per transaction        {raw1:>10.0}");
    println!("  raw INSERT, 1000 rows per transaction    {raw1000:>10.0}");
    println!("  send, one at a time, published at once   {single:>10.0}  ({:.2} x raw 1/tx; goal >= 0.30)", single / raw1);
    println!("  send, one at a time, queued only         {queued:>10.0}  ({:.2} x raw 1/tx)", queued / raw1);
    println!("  send_many, 1000 per call, queued         {bulk:>10.0}  ({:.2} x raw 1000/tx; goal >= 100000/s)", bulk / raw1000);
    println!("  send_many, 1000 per call, published      {bulk_publish:>10.0}");
    println!("  send_template, one at a time, published  {template:>10.0}");
}
