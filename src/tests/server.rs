//! The real server over a socket: keep-alive, HEAD through hyper, graceful
//! shutdown; and a database that cannot be reached fails loudly.

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
