//! The test harness: a fresh database per test on each backend, the API
//! driven in-process, and small helpers to read answers.
//!
//! Every test body runs on SQLite. When `OPARL_TEST_POSTGRES` holds the URL of
//! a PostgreSQL server (e.g. `postgres://postgres@127.0.0.1:5432/test`), it
//! runs again on a database created for it there and dropped afterwards.

use bytes::Bytes;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use http_body_util::BodyExt;
use hyper::{HeaderMap, Method, Request, StatusCode};
use oparl::api::{self, AppState};
use oparl::db::{AnyConnection, Db};
use oparl::demo::{self, DemoOptions};
use oparl::urls::Urls;
use serde_json::Value;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub const BASE: &str = "http://oparl.test/oparl/v1.1";

/// Run a test body once per configured backend, each on a fresh store.
pub fn each_backend<F, Fut>(seed_demo: bool, body: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for kind in backends() {
        let store = TestStore::new(kind);
        let app = TestApp::new(store, seed_demo);
        runtime.block_on(body(app));
    }
}

/// A runtime for tests that run servers and clients side by side.
pub fn multi_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The backends this run covers.
pub fn backends() -> Vec<BackendKind> {
    let mut out = vec![BackendKind::Sqlite];
    if let Ok(url) = std::env::var("OPARL_TEST_POSTGRES") {
        if !url.is_empty() {
            out.push(BackendKind::Postgres(url));
        }
    }
    out
}

#[derive(Debug, Clone)]
pub enum BackendKind {
    Sqlite,
    Postgres(String),
}

/// A database that exists for one test and is removed after it.
pub struct TestStore {
    db: Option<Db>,
    cleanup: Cleanup,
    pub label: &'static str,
    /// What `--database-url` names this store.
    pub url: String,
    pub kind: BackendKind,
}

enum Cleanup {
    File(std::path::PathBuf),
    Database { admin_url: String, name: String },
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "oparl_test_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

impl TestStore {
    pub fn new(kind: BackendKind) -> TestStore {
        let name = unique_name();
        match kind {
            BackendKind::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.sqlite"));
                let db = Db::open(path.to_str().unwrap(), true).expect("open SQLite test store");
                TestStore {
                    db: Some(db),
                    url: path.display().to_string(),
                    cleanup: Cleanup::File(path),
                    label: "sqlite",
                    kind,
                }
            }
            BackendKind::Postgres(ref admin_url) => {
                let admin_url = admin_url.clone();
                let mut admin = diesel::PgConnection::establish(&admin_url)
                    .unwrap_or_else(|e| panic!("OPARL_TEST_POSTGRES={admin_url}: {e}"));
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .unwrap();
                let mut url = url::Url::parse(&admin_url).unwrap();
                url.set_path(&format!("/{name}"));
                let db = Db::open(url.as_str(), true).expect("open PostgreSQL test store");
                TestStore {
                    db: Some(db),
                    url: url.to_string(),
                    cleanup: Cleanup::Database { admin_url, name },
                    label: "postgres",
                    kind,
                }
            }
        }
    }

    pub fn db(&self) -> &Db {
        self.db.as_ref().unwrap()
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        drop(self.db.take());
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Database { admin_url, name } => {
                if let Ok(mut admin) = diesel::PgConnection::establish(admin_url) {
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
        }
    }
}

/// The API over one store, called in-process.
pub struct TestApp {
    pub state: Arc<AppState>,
    pub store: TestStore,
}

/// An answer, body collected.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestApp {
    pub fn new(store: TestStore, seed_demo: bool) -> TestApp {
        let db = store.db().clone();
        {
            let mut conn = db.conn().unwrap();
            if seed_demo {
                demo::generate(&mut conn, DemoOptions::default()).unwrap();
            } else {
                oparl::store::write::change(&mut conn, |c| {
                    c.ensure_system(&Default::default(), 1_000_000_000)
                })
                .unwrap();
            }
        }
        let state = Arc::new(AppState::new(
            db,
            Urls::new(BASE).unwrap(),
            api::DEFAULT_CACHE_BYTES,
        ));
        TestApp { state, store }
    }

    pub fn label(&self) -> &'static str {
        self.store.label
    }

    /// Another, empty store on the same backend (with only a System).
    pub fn empty_sibling(&self) -> TestApp {
        TestApp::new(TestStore::new(self.store.kind.clone()), false)
    }

    pub fn conn(&self) -> impl std::ops::DerefMut<Target = AnyConnection> {
        self.store.db().conn().unwrap()
    }

    /// GET a URL of ours (absolute or a path below the base).
    pub async fn get(&self, url: &str) -> Answer {
        self.request(Method::GET, url, &[]).await
    }

    pub async fn request(&self, method: Method, url: &str, headers: &[(&str, &str)]) -> Answer {
        ask(&self.state, method, url, headers).await
    }

    /// GET and insist on 200 with JSON.
    pub async fn json(&self, url: &str) -> Value {
        let answer = self.get(url).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "[{}] GET {url}: {}",
            self.label(),
            String::from_utf8_lossy(&answer.body)
        );
        answer.json()
    }

    /// Every object of a list, following `next` to the end.
    pub async fn walk(&self, first: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut next = Some(first.to_string());
        let mut pages = 0;
        while let Some(url) = next {
            let page = self.json(&url).await;
            out.extend(
                page["data"]
                    .as_array()
                    .expect("data is an array")
                    .iter()
                    .cloned(),
            );
            next = page["links"]["next"].as_str().map(str::to_string);
            pages += 1;
            assert!(
                pages < 10_000,
                "[{}] the next chain of {first} does not end",
                self.label()
            );
        }
        out
    }
}

impl TestApp {
    /// Delete an object through the write path, as one change; false when
    /// it was deleted already.
    pub fn delete(&self, pk: i64, at: i64) -> bool {
        oparl::store::write::change(&mut self.conn(), |c| c.delete(pk, at)).unwrap()
    }
}

/// An answer of the API of `state`: this test's server, or another one on
/// the same database (its own pool, caches and version reader).
pub async fn ask(
    state: &Arc<AppState>,
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
) -> Answer {
    let target = url.strip_prefix("http://oparl.test").unwrap_or(url);
    let mut req = Request::builder().method(method).uri(target);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let response = api::handle(Arc::clone(state), req.body(()).unwrap()).await;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// The pk at the end of one of our URLs.
pub fn pk_of(url: &str) -> i64 {
    url.rsplit('/').next().unwrap().parse().unwrap()
}

/// Percent-encode a query value.
pub fn enc(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A folder of this test's own under the system's temporary folder.
pub fn temp_dir(what: &str, label: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "oparl-{what}-{}-{label}-{}",
        std::process::id(),
        oparl::time::now()
    ))
}

/// A server on this app's store that builds dumps into a folder of their
/// own, as `oparl serve` does; none is built yet
/// (`dumps.build(db, &state.urls)`).
pub fn state_with_dumps(app: &TestApp, what: &str) -> (Arc<AppState>, Arc<oparl::dumps::Dumps>) {
    let dir = temp_dir(what, app.label());
    let dumps = Arc::new(oparl::dumps::Dumps::new(&dir).unwrap());
    let state = AppState::new(
        app.store.db().clone(),
        Urls::new(BASE).unwrap(),
        api::DEFAULT_CACHE_BYTES,
    )
    .with_dumps(Arc::clone(&dumps));
    (Arc::new(state), dumps)
}
