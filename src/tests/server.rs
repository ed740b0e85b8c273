//! The real server over a socket: keep-alive, HEAD through hyper, request
//! targets of 8,000 octets and more, graceful shutdown; and a database that
//! cannot be reached fails loudly.

use crate::support::*;
use std::io::{Read, Write};
use std::net::TcpStream;

fn raw(addr: std::net::SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn serves_over_a_socket_and_shuts_down_gracefully() {
    let store = TestStore::new(BackendKind::Sqlite);
    let app = TestApp::new(store, false);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(oparl::server::serve(app.state.clone(), listener, async {
        let _ = stopped.await;
    }));
    let get = raw(
        addr,
        "GET /oparl/v1.1 HTTP/1.1\r\nHost: oparl.test\r\nConnection: close\r\n\r\n",
    );
    assert!(get.starts_with("HTTP/1.1 200"), "{get}");
    assert!(get.contains("https://schema.oparl.org/1.1/System"));
    let head = raw(
        addr,
        "HEAD /oparl/v1.1 HTTP/1.1\r\nHost: oparl.test\r\nConnection: close\r\n\r\n",
    );
    let (head_headers, head_body) = head.split_once("\r\n\r\n").unwrap();
    assert!(head_body.is_empty());
    let get_len = get.split_once("\r\n\r\n").unwrap().1.len();
    assert!(
        head_headers
            .to_ascii_lowercase()
            .contains(&format!("content-length: {get_len}")),
        "{head_headers}"
    );
    stop.send(()).unwrap();
    runtime.block_on(server).unwrap().unwrap();
    assert!(
        TcpStream::connect(addr).is_err(),
        "no new connections after shutdown"
    );
}

/// Status code and body of a raw HTTP/1.1 answer.
fn status_and_body(answer: &str) -> (u16, &str) {
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:.200}"));
    (status, answer.split_once("\r\n\r\n").map_or("", |(_, b)| b))
}

#[test]
fn request_targets_of_eight_thousand_octets_are_answered_and_longer_ones_get_414() {
    let app = TestApp::new(TestStore::new(BackendKind::Sqlite), false);
    let runtime = multi_thread_runtime();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(oparl::server::serve(app.state.clone(), listener, async {
        let _ = stopped.await;
    }));
    // The Body list with an unknown parameter (ignored) padding the target
    // to the length wanted.
    let target = |length: usize| {
        let head = "/oparl/v1.1/body?limit=5&pad=";
        format!("{head}{}", "x".repeat(length - head.len()))
    };
    let get = |target: &str| {
        raw(
            addr,
            &format!("GET {target} HTTP/1.1\r\nHost: oparl.test\r\nConnection: close\r\n\r\n"),
        )
    };
    for length in [7_900, oparl::api::MAX_URI_LENGTH] {
        let answer = get(&target(length));
        let (status, body) = status_and_body(&answer);
        assert_eq!(status, 200, "{length} octets: {answer:.300}");
        let page: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(page["data"].is_array(), "{length} octets: {body:.300}");
        // The list's links carry only the parameters in force.
        assert!(!page["links"].to_string().contains("pad="), "{body:.300}");
    }
    for length in [oparl::api::MAX_URI_LENGTH + 1, 60_000] {
        let answer = get(&target(length));
        let (status, body) = status_and_body(&answer);
        assert_eq!(status, 414, "{length} octets: {answer:.300}");
        let error: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(error["type"], "https://schema.oparl.org/1.1/Error");
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("access-control-allow-origin: *"),
            "{answer:.300}"
        );
    }
    stop.send(()).unwrap();
    runtime.block_on(server).unwrap().unwrap();
}

#[test]
fn an_unreachable_database_is_an_error_not_a_fallback() {
    let cwd_files = || std::fs::read_dir(".").unwrap().count();
    let before = cwd_files();
    let err = oparl::db::Db::open("postgres://nobody@127.0.0.1:1/none", true).unwrap_err();
    assert!(err.to_string().contains("PostgreSQL"), "{err}");
    assert_eq!(cwd_files(), before, "no SQLite file appeared");
    let err = oparl::db::Db::open("mysql://localhost/x", true).unwrap_err();
    assert!(err.to_string().contains("mysql://"), "{err}");
}

/// The value of a metric line `name{labels} value` in an exposition.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
}

#[test]
fn metrics_count_requests_by_route_and_status_in_prometheus_format() {
    let store = TestStore::new(BackendKind::Sqlite);
    let app = TestApp::new(store, false);
    let runtime = multi_thread_runtime();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(oparl::server::serve(app.state.clone(), listener, async {
        let _ = stopped.await;
    }));
    let get = |target: &str| {
        raw(
            addr,
            &format!("GET {target} HTTP/1.1\r\nHost: oparl.test\r\nConnection: close\r\n\r\n"),
        )
    };
    let scrape = || {
        let answer = get("/-/metrics");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("text/plain; version=0.0.4"), "{answer}");
        answer.split_once("\r\n\r\n").unwrap().1.to_string()
    };
    // The counters are the process's: other tests count too, so compare
    // before and after.
    let before = scrape();
    let count = |text: &str, series: &str| {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(series)?
                    .strip_prefix(' ')?
                    .parse::<f64>()
                    .ok()
            })
            .unwrap_or(0.0)
    };
    for _ in 0..3 {
        assert!(get("/oparl/v1.1").starts_with("HTTP/1.1 200"));
    }
    assert!(get("/oparl/v1.1/nothing-here").starts_with("HTTP/1.1 404"));
    let after = scrape();
    let system = "oparl_requests_total{route=\"system\",status=\"200\"}";
    let unknown = "oparl_requests_total{route=\"unknown\",status=\"404\"}";
    assert!(
        count(&after, system) - count(&before, system) >= 3.0,
        "{after}"
    );
    assert!(
        count(&after, unknown) - count(&before, unknown) >= 1.0,
        "{after}"
    );
    let system_count = "oparl_request_duration_seconds_count{route=\"system\"}";
    let system_inf = "oparl_request_duration_seconds_bucket{route=\"system\",le=\"+Inf\"}";
    assert_eq!(metric(&after, system_count), metric(&after, system_inf));
    let revision = oparl::store::read::revision(&mut app.conn()).unwrap();
    assert_eq!(metric(&after, "oparl_store_revision"), revision as f64);
    assert!(metric(&after, "oparl_db_runs_total") >= 1.0);
    assert!(after.contains("# TYPE oparl_request_duration_seconds histogram"));
    stop.send(()).unwrap();
    runtime.block_on(server).unwrap().unwrap();
}
