//! A server on a random port over a fresh database (an SQLite file, or a new PostgreSQL
//! database on DIALOUT_TEST_PG_URL), and a small HTTP client for it.
#![allow(dead_code)]

use std::sync::Arc;

use dialout_dialer::{Config, Dialer, Scope};
use serde_json::Value;

pub struct Server {
    pub base: String,
    pub dialer: Arc<Dialer>,
    pub http: reqwest::Client,
    /// A token with every scope.
    pub admin: String,
    pub db_url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _guard: Guard,
}

pub enum Guard {
    Dir(tempfile::TempDir),
    Pg { admin: String, name: String },
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Guard::Pg { admin, name } = self {
            let (admin, name) = (admin.clone(), name.clone());
            // The postgres client blocks on a runtime of its own: not on a tokio thread.
            let _ = std::thread::spawn(move || {
                if let Ok(mut c) = postgres::Client::connect(&admin, postgres::NoTls) {
                    let _ =
                        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            })
            .join();
        }
    }
}

pub fn pg_admin_url() -> String {
    std::env::var("DIALOUT_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn with_database(url: &str, name: &str) -> String {
    let scheme_end = url.find("://").map(|i| i + 3).unwrap_or(0);
    let base = url.split('?').next().unwrap_or(url);
    match base[scheme_end..].find('/') {
        Some(i) => format!("{}/{name}", &base[..scheme_end + i]),
        None => format!("{base}/{name}"),
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Db {
    Sqlite,
    Postgres,
}

fn database(db: Db) -> (String, Guard) {
    match db {
        Db::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("api.db").display());
            (url, Guard::Dir(dir))
        }
        Db::Postgres => {
            let admin = pg_admin_url();
            let name = format!(
                "dialout_http_{}",
                dialout_dialer::MessageId::new().as_uuid().simple()
            );
            let (a, n) = (admin.clone(), name.clone());
            std::thread::spawn(move || {
                let mut c = postgres::Client::connect(&a, postgres::NoTls).unwrap_or_else(|e| {
                    panic!("PostgreSQL is needed for this test and is unreachable at {a} ({e}): start it or set DIALOUT_TEST_PG_URL")
                });
                c.batch_execute(&format!("CREATE DATABASE {n}")).expect("create database");
            })
            .join()
            .unwrap();
            (with_database(&admin, &name), Guard::Pg { admin, name })
        }
    }
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

impl Server {
    pub async fn start(db: Db) -> Server {
        Self::start_with(db, "", dialout_server::Options::default()).await
    }

    /// `extra`: more configuration TOML.
    pub async fn start_with(db: Db, extra: &str, options: dialout_server::Options) -> Server {
        let (db_url, guard) = database(db);
        let toml = format!("database_url = {db_url:?}\n{extra}");
        let config = Config::from_toml(&toml, "test").expect("config");
        let dialer = Arc::new(Dialer::open(&config).expect("open").with_group_commit());
        let admin = dialer
            .create_token("admin", &[Scope::Send, Scope::Read, Scope::Admin])
            .await
            .unwrap()
            .secret;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = dialout_server::router(Arc::clone(&dialer), options);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            dialout_server::serve(listener, app, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Server {
            base,
            dialer,
            http: client(),
            admin,
            db_url,
            stop: Some(stop),
            task: Some(task),
            _guard: guard,
        }
    }

    pub async fn token(&self, name: &str, scopes: &[Scope]) -> String {
        self.dialer.create_token(name, scopes).await.unwrap().secret
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with the admin token and a JSON body.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.call_as(&self.admin.clone(), method, path, body).await
    }

    pub async fn call_as(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self
            .http
            .request(method.parse().unwrap(), self.url(path))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&b).unwrap());
        }
        Reply::from(req.send().await.expect("request")).await
    }

    pub async fn count(&self) -> usize {
        let mut n = 0;
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/messages?limit=1000&cursor={c}"),
                None => "/v1/messages?limit=1000".into(),
            };
            let r = self.call("GET", &path, None).await;
            assert_eq!(r.status, 200, "{}", r.body);
            n += r.body["items"].as_array().unwrap().len();
            match r.body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return n,
            }
        }
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
    }
}

pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub async fn from(r: reqwest::Response) -> Reply {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let text = r.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            content_type,
            headers,
            body,
            text,
        }
    }

    /// Asserts an RFC 9457 problem with this status.
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(
            self.content_type, "application/problem+json",
            "{}",
            self.text
        );
        for key in ["type", "title", "status", "detail"] {
            assert!(self.body.get(key).is_some(), "no {key} in {}", self.text);
        }
        assert_eq!(self.body["status"], status);
        &self.body
    }

    /// The field named by the problem's first error.
    pub fn field(&self) -> &str {
        self.body["errors"][0]["field"].as_str().unwrap_or("")
    }
}

/// Runs the test body on both databases, each in its own runtime.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
               async fn $name() { super::$name(super::support::Db::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
               async fn $name() { super::$name(super::support::Db::Postgres).await } )*
        }
    };
}
