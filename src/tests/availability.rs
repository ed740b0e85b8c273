//! Answers bounded in time: the request time limit, PostgreSQL's
//! `statement_timeout`, and PostgreSQL going away under a running server
//! and coming back. An outage is made with a TCP proxy inside the test
//! between the server's pool and PostgreSQL, which the test cuts and
//! restores; the PostgreSQL that other tests run on is never touched.

use crate::support::*;
use hyper::StatusCode;
use oparl::api::{self, AppState};
use oparl::db::{Db, Limits};
use oparl::urls::Urls;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The PostgreSQL server of this run, if there is one.
fn postgres() -> Option<String> {
    backends().into_iter().find_map(|kind| match kind {
        BackendKind::Postgres(url) => Some(url),
        BackendKind::Sqlite => None,
    })
}

/// A TCP proxy to one upstream address that can be cut (every connection
/// closed, new ones closed as soon as they are accepted), restored, and
/// slowed down (each chunk from upstream held back for a while).
struct Proxy {
    addr: SocketAddr,
    open: Arc<AtomicBool>,
    delay_ms: Arc<AtomicU64>,
    cuts: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let open = Arc::new(AtomicBool::new(true));
        let delay_ms = Arc::new(AtomicU64::new(0));
        let cuts = Arc::new(tokio::sync::watch::channel(0u64).0);
        let proxy = Proxy {
            addr,
            open: Arc::clone(&open),
            delay_ms: Arc::clone(&delay_ms),
            cuts: Arc::clone(&cuts),
        };
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                if !open.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let (delay_ms, mut cut) = (Arc::clone(&delay_ms), cuts.subscribe());
                tokio::spawn(async move {
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    let up = tokio::io::copy(&mut client_read, &mut server_write);
                    let down = async {
                        let mut buf = vec![0u8; 64 * 1024];
                        loop {
                            let n = server_read.read(&mut buf).await?;
                            if n == 0 {
                                return Ok::<(), std::io::Error>(());
                            }
                            let delay = delay_ms.load(Ordering::SeqCst);
                            if delay > 0 {
                                tokio::time::sleep(Duration::from_millis(delay)).await;
                            }
                            client_write.write_all(&buf[..n]).await?;
                        }
                    };
                    // Ends with either direction, or with a cut; the four
                    // halves are dropped here, which closes both sockets.
                    tokio::select! {
                        _ = up => {}
                        _ = down => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        proxy
    }

    /// Close every connection and refuse new ones.
    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    fn delay(&self, delay: Duration) {
        self.delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// The database URL `url` as reached through this proxy.
    fn url_for(&self, url: &str) -> String {
        let mut url = url::Url::parse(url).unwrap();
        url.set_host(Some(&self.addr.ip().to_string())).unwrap();
        url.set_port(Some(self.addr.port())).unwrap();
        url.to_string()
    }
}

/// Where the PostgreSQL of a database URL listens.
fn upstream_of(url: &str) -> SocketAddr {
    let url = url::Url::parse(url).unwrap();
    let host = url.host_str().unwrap_or("127.0.0.1");
    let port = url.port().unwrap_or(5432);
    std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
        .unwrap()
        .next()
        .unwrap()
}

/// One answer of the server over a socket.
#[derive(Debug)]
struct Reply {
    status: u16,
    retry_after: Option<String>,
    body: Vec<u8>,
    took: Duration,
}

/// GET over a fresh connection, as a harvester that retries would.
async fn get(addr: SocketAddr, path: &str) -> Reply {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: oparl.test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head}"));
    let retry_after = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("retry-after")
            .then(|| value.trim().to_string())
    });
    Reply {
        status,
        retry_after,
        body: raw[split + 4..].to_vec(),
        took: started.elapsed(),
    }
}

/// A 503 as the spec's Error object, with `Retry-After`.
fn assert_unavailable(reply: &Reply, context: &str) {
    assert_eq!(
        reply.status,
        503,
        "{context}: {}",
        String::from_utf8_lossy(&reply.body)
    );
    let error: Value = serde_json::from_slice(&reply.body)
        .unwrap_or_else(|e| panic!("{context}: not JSON ({e}): {:?}", reply.body));
    assert_eq!(
        error["type"], "https://schema.oparl.org/1.1/Error",
        "{context}"
    );
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    let after: u32 = reply
        .retry_after
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{context}: no Retry-After in seconds"));
    assert!(after > 0, "{context}");
}

/// What a few clients asking in a loop for `length` got.
#[derive(Default)]
struct Tally {
    statuses: BTreeMap<u16, usize>,
    replies: Vec<Reply>,
}

impl std::fmt::Debug for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "statuses {:?}", self.statuses)?;
        if let Some(odd) = self.replies.iter().find(|r| r.status != 200) {
            write!(f, ", e.g. {}", String::from_utf8_lossy(&odd.body))?;
        }
        Ok(())
    }
}

impl Tally {
    fn longest(&self) -> Duration {
        self.replies
            .iter()
            .map(|r| r.took)
            .max()
            .unwrap_or_default()
    }
}

const PATHS: [&str; 2] = ["/oparl/v1.1", "/oparl/v1.1/body"];

async fn load(addr: SocketAddr, clients: usize, length: Duration) -> Tally {
    let until = Instant::now() + length;
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            tokio::spawn(async move {
                let mut replies = Vec::new();
                let mut n = c;
                while Instant::now() < until {
                    replies.push(get(addr, PATHS[n % PATHS.len()]).await);
                    n += 1;
                }
                replies
            })
        })
        .collect();
    let mut tally = Tally::default();
    for task in tasks {
        for reply in task.await.unwrap() {
            *tally.statuses.entry(reply.status).or_default() += 1;
            tally.replies.push(reply);
        }
    }
    tally
}

/// A server over `db` on a port of its own; stops when the sender drops.
/// A server with this time limit on the store of `app`, whose database
/// connections all go through a proxy the test can cut, delay and restore.
async fn serve_through_proxy(
    app: &TestApp,
    limit: Duration,
) -> (Proxy, SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let proxy = Proxy::start(upstream_of(&app.store.url)).await;
    let db = Db::open_with(
        &proxy.url_for(&app.store.url),
        false,
        Limits::serving(limit),
    )
    .unwrap();
    let (addr, stop) = start_server(db, limit).await;
    (proxy, addr, stop)
}

async fn start_server(db: Db, limit: Duration) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let state = Arc::new(
        AppState::new(db, Urls::new(BASE).unwrap(), api::DEFAULT_CACHE_BYTES)
            .with_time_limit(limit),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(oparl::server::serve(state, listener, async {
        let _ = stopped.await;
    }));
    (addr, stop)
}

#[test]
fn postgres_going_away_and_back_gets_503_then_200_from_the_same_server() {
    let Some(admin) = postgres() else {
        eprintln!("skipped: OPARL_TEST_POSTGRES is not set");
        return;
    };
    let app = TestApp::new(TestStore::new(BackendKind::Postgres(admin)), false);
    let rt = multi_thread_runtime();
    rt.block_on(async {
        let limit = Duration::from_secs(3);
        let (proxy, addr, _stop) = serve_through_proxy(&app, limit).await;
        let clients = 4;

        let before = load(addr, clients, Duration::from_millis(800)).await;
        assert_eq!(
            before.statuses.keys().collect::<Vec<_>>(),
            [&200],
            "{before:?}"
        );

        proxy.cut();
        let during = load(addr, clients, Duration::from_secs(3)).await;
        for reply in &during.replies {
            assert_unavailable(reply, "during the outage");
        }
        assert!(during.replies.len() >= clients, "{:?}", during.statuses);
        // Each 503 came within the time limit (in fact sooner: a request
        // waits only briefly for a connection once one attempt failed).
        assert!(
            during.longest() < limit + Duration::from_secs(1),
            "{:?}",
            during.longest()
        );

        proxy.restore();
        let restored = Instant::now();
        let mut waiting = 0;
        loop {
            let reply = get(addr, PATHS[0]).await;
            if reply.status == 200 {
                break;
            }
            assert_unavailable(&reply, "while PostgreSQL comes back");
            waiting += 1;
            assert!(
                restored.elapsed() < Duration::from_secs(15),
                "no 200 within 15 s of PostgreSQL being back"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let back_after = restored.elapsed();
        let after = load(addr, clients, Duration::from_secs(2)).await;
        assert_eq!(
            after.statuses.keys().collect::<Vec<_>>(),
            [&200],
            "{after:?}"
        );
        eprintln!(
            "before: {:?}; outage: {:?} (longest {:?}); first 200 {:?} after the restore \
             ({waiting} 503s before it); after: {:?}",
            before.statuses,
            during.statuses,
            during.longest(),
            back_after,
            after.statuses
        );
    });
}

#[test]
fn a_short_outage_leaves_no_dead_connection_in_the_pool() {
    let Some(admin) = postgres() else {
        eprintln!("skipped: OPARL_TEST_POSTGRES is not set");
        return;
    };
    let app = TestApp::new(TestStore::new(BackendKind::Postgres(admin)), false);
    let rt = multi_thread_runtime();
    rt.block_on(async {
        let limit = Duration::from_secs(3);
        let (proxy, addr, _stop) = serve_through_proxy(&app, limit).await;
        // Enough clients at once to fill the pool with connections.
        let warm = load(addr, 12, Duration::from_millis(800)).await;
        assert_eq!(warm.statuses.keys().collect::<Vec<_>>(), [&200], "{warm:?}");
        // A restart that one request notices: it meets one dead connection,
        // the others stay idle in the pool, as dead as it.
        proxy.cut();
        assert_unavailable(&get(addr, PATHS[0]).await, "during the outage");
        proxy.restore();
        // None of them fails a request afterwards: each is tried before use.
        let after = load(addr, 4, Duration::from_secs(1)).await;
        assert_eq!(
            after.statuses.keys().collect::<Vec<_>>(),
            [&200],
            "{after:?}"
        );
        eprintln!("warm: {:?}; after: {:?}", warm.statuses, after.statuses);
    });
}

/// The server's answer to one in-process GET.
async fn answer(state: &Arc<AppState>, path: &str) -> (StatusCode, Option<String>, Value) {
    let req = hyper::Request::builder().uri(path).body(()).unwrap();
    let response = api::handle(Arc::clone(state), req).await;
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, retry_after, serde_json::from_slice(&body).unwrap())
}

#[test]
fn a_request_that_outlasts_the_time_limit_gets_503_with_retry_after() {
    for kind in backends() {
        let app = TestApp::new(TestStore::new(kind), false);
        let rt = multi_thread_runtime();
        rt.block_on(async {
            let label = app.label();
            // The checkout waits far longer than the time limit.
            let limits = Limits {
                statement_timeout: None,
                checkout: Duration::from_secs(20),
            };
            let db = Db::open_with(&app.store.url, false, limits).unwrap();
            let limit = Duration::from_millis(300);
            let state = Arc::new(
                AppState::new(
                    db.clone(),
                    Urls::new(BASE).unwrap(),
                    api::DEFAULT_CACHE_BYTES,
                )
                .with_time_limit(limit),
            );
            // Every pooled connection busy elsewhere: the request's query
            // cannot start, as behind a slow one.
            let held: Vec<_> = (0..8).map(|_| db.conn().unwrap()).collect();
            let started = Instant::now();
            let (status, retry_after, body) = answer(&state, "/oparl/v1.1").await;
            let took = started.elapsed();
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "[{label}] {body}");
            assert_eq!(body["type"], "https://schema.oparl.org/1.1/Error");
            assert!(
                body["debug"].as_str().unwrap().contains("time limit"),
                "[{label}] {body}"
            );
            assert!(retry_after.is_some_and(|v| v.parse::<u32>().is_ok_and(|s| s > 0)));
            assert!(took >= limit, "[{label}] {took:?}");
            assert!(took < Duration::from_secs(10), "[{label}] {took:?}");
            drop(held);
            let (status, _, body) = answer(&state, "/oparl/v1.1").await;
            assert_eq!(status, StatusCode::OK, "[{label}] {body}");
            assert_eq!(body["type"], "https://schema.oparl.org/1.1/System");
        });
    }
}

#[test]
fn a_slow_postgresql_gets_503_within_the_time_limit() {
    let Some(admin) = postgres() else {
        eprintln!("skipped: OPARL_TEST_POSTGRES is not set");
        return;
    };
    let app = TestApp::new(TestStore::new(BackendKind::Postgres(admin)), false);
    let rt = multi_thread_runtime();
    rt.block_on(async {
        let limit = Duration::from_millis(400);
        let (proxy, addr, _stop) = serve_through_proxy(&app, limit).await;
        assert_eq!(get(addr, PATHS[0]).await.status, 200);
        // Every answer of PostgreSQL now takes two seconds to arrive.
        proxy.delay(Duration::from_secs(2));
        let slow = get(addr, PATHS[1]).await;
        assert_unavailable(&slow, "slow PostgreSQL");
        assert!(slow.took < Duration::from_millis(1900), "{:?}", slow.took);
        proxy.delay(Duration::ZERO);
        // Once the delayed answers have arrived, the server answers again.
        let started = Instant::now();
        loop {
            let reply = get(addr, PATHS[1]).await;
            if reply.status == 200 {
                break;
            }
            assert_unavailable(&reply, "after the delay");
            assert!(started.elapsed() < Duration::from_secs(15));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
}

#[test]
fn postgresql_statements_of_a_serving_pool_are_cancelled_after_the_limit() {
    let Some(admin) = postgres() else {
        eprintln!("skipped: OPARL_TEST_POSTGRES is not set");
        return;
    };
    use diesel::connection::SimpleConnection;
    let store = TestStore::new(BackendKind::Postgres(admin));
    let limit = Duration::from_millis(250);
    let db = Db::open_with(&store.url, false, Limits::serving(limit)).unwrap();
    let mut conn = db.conn().unwrap();
    let started = Instant::now();
    let err = conn.batch_execute("SELECT pg_sleep(5)").unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(4), "{err}");
    let err = oparl::db::DbError::from(err);
    assert!(err.is_unavailable(), "{err}");
    let answer = api::error::ApiError::from(err);
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    // The connection is fine afterwards, and the command-line tools'
    // connections have no such limit.
    conn.batch_execute("SELECT 1").unwrap();
    drop(conn);
    let unbounded = Db::open(&store.url, false).unwrap();
    unbounded
        .conn()
        .unwrap()
        .batch_execute("SELECT pg_sleep(0.5)")
        .unwrap();
}
