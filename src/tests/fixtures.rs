//! HTTP servers for tests on a loopback port: our own API (optionally with
//! deliberate faults injected into its answers), and the Hürtgenwald crawl
//! of a real vendor's OParl 1.0 endpoint served as that endpoint served it.

use bytes::Bytes;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use oparl::api::{self, AppState};
use oparl::urls::Urls;
use serde_json::Value;
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

/// An answer of a test server.
pub type Answer = Response<api::Body>;
/// Rewrites an answer of `serve_api`: (path, query, answer).
pub type Fault = Arc<dyn Fn(&str, &str, &mut Answer) + Send + Sync>;
type Handler = Arc<
    dyn Fn(Request<hyper::body::Incoming>) -> Pin<Box<dyn Future<Output = Answer> + Send>>
        + Send
        + Sync,
>;

/// Our API on a socket, with ids minted for that socket's address (and
/// the dumps of `state`, if it serves them: build them with the URLs of
/// the returned base). `fault`
/// may rewrite each answer: (path, query, status, headers, JSON body).
pub async fn serve_api(state: &AppState, fault: Option<Fault>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let base = format!("http://{addr}/oparl/v1.1");
    let mut served = AppState::new(
        state.db.clone(),
        Urls::new(&base).unwrap(),
        api::DEFAULT_CACHE_BYTES,
    );
    if let Some(dumps) = &state.dumps {
        served = served.with_dumps(Arc::clone(dumps));
    }
    let state = Arc::new(served);
    let handler: Handler = Arc::new(move |req: Request<hyper::body::Incoming>| {
        let state = Arc::clone(&state);
        let fault = fault.clone();
        Box::pin(async move {
            let path = req.uri().path().to_string();
            let query = req.uri().query().unwrap_or("").to_string();
            // Faults edit answers held in memory (edit_json); a dump's
            // streamed body passes through untouched.
            let mut answer = api::handle(state, req).await;
            if let Some(fault) = fault {
                fault(&path, &query, &mut answer);
            }
            answer
        })
    });
    let bound = spawn_at(addr, handler).await;
    assert_eq!(bound, addr);
    base
}

/// Answer every request with the same status, content type and body (a
/// broken or foreign endpoint). Returns the server's origin.
pub async fn serve_fixed(status: u16, content_type: &'static str, body: Vec<u8>) -> String {
    let body = Bytes::from(body);
    let handler: Handler = Arc::new(move |_req: Request<hyper::body::Incoming>| {
        let mut r = Response::new(api::Body::new(body.clone()));
        *r.status_mut() = StatusCode::from_u16(status).unwrap();
        r.headers_mut()
            .insert("content-type", content_type.parse().unwrap());
        Box::pin(async move { r })
    });
    let addr = spawn_at("127.0.0.1:0".parse().unwrap(), handler).await;
    format!("http://{addr}")
}

/// Serve `handler` at `addr` until the runtime ends.
async fn spawn_at(addr: SocketAddr, handler: Handler) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let handler = Arc::clone(&handler);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let handler = Arc::clone(&handler);
                    async move { Ok::<_, Infallible>(handler(req).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    addr
}

/// Read, change and write back the JSON body of an answer.
/// `fault` on an API that looks like any other vendor's: its System
/// advertises no change feed or dump, so an import walks its lists (the
/// harvester these tests are about) instead of following the feed.
pub fn as_vendor(fault: Fault) -> Fault {
    Arc::new(move |path, query, answer| {
        if path.ends_with("/v1.1") || path.ends_with("/v1.1/") {
            edit_json(answer, |system| {
                if let Some(map) = system.as_object_mut() {
                    map.retain(|key, _| !key.starts_with("server:"));
                }
            });
        }
        fault(path, query, answer)
    })
}

pub fn edit_json(answer: &mut Answer, edit: impl FnOnce(&mut Value)) {
    let body = std::mem::take(answer.body_mut());
    let bytes = futures_now(body);
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        *answer.body_mut() = api::Body::new(bytes);
        return;
    };
    edit(&mut value);
    let bytes = Bytes::from(serde_json::to_vec(&value).unwrap());
    answer
        .headers_mut()
        .insert(hyper::header::CONTENT_LENGTH, bytes.len().into());
    *answer.body_mut() = api::Body::new(bytes);
}

/// A body held in memory is ready at once; take its bytes without awaiting.
fn futures_now<B>(body: B) -> Bytes
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let mut body = std::pin::pin!(body);
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut out = Vec::new();
    loop {
        match body.as_mut().poll_frame(&mut cx) {
            std::task::Poll::Ready(Some(frame)) => {
                if let Ok(data) = frame.expect("a body in memory").into_data() {
                    out.extend_from_slice(&data);
                }
            }
            std::task::Poll::Ready(None) => break,
            std::task::Poll::Pending => panic!("a body that is not in memory"),
        }
    }
    Bytes::from(out)
}

/// The Hürtgenwald crawl as a folder of pages, as crawled. The repository
/// keeps every page gzipped (`src/tests/data/huertgenwald`, with its
/// provenance); the folder is unpacked from there once and then reused.
pub fn huertgenwald_pages() -> PathBuf {
    static PAGES: OnceLock<PathBuf> = OnceLock::new();
    PAGES.get_or_init(unpack_huertgenwald).clone()
}

/// Unpack the crawl into Cargo's temporary folder for integration tests,
/// under a name taken from the packed bytes: a changed crawl gets a folder
/// of its own, and an unchanged one is unpacked only once. Each process
/// unpacks into a folder of its own and renames it into place whole, so a
/// test binary running beside another never reads half a folder.
fn unpack_huertgenwald() -> PathBuf {
    use sha2::Digest;
    let packed = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tests/data/huertgenwald/pages");
    let mut files = walk_files(&packed);
    files.sort();
    let mut hash = sha2::Sha256::new();
    for file in &files {
        hash.update(
            file.strip_prefix(&packed)
                .unwrap()
                .to_string_lossy()
                .as_bytes(),
        );
        hash.update(std::fs::read(file).unwrap());
    }
    let hex: String = hash.finalize()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let unpacked = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("huertgenwald-{hex}"));
    if unpacked.is_dir() {
        return unpacked;
    }
    let partial = unpacked.with_extension(std::process::id().to_string());
    let _ = std::fs::remove_dir_all(&partial);
    for file in &files {
        let relative = file.strip_prefix(&packed).unwrap();
        let Some(name) = relative.to_str().and_then(|r| r.strip_suffix(".gz")) else {
            panic!("{}: not a gzipped page", file.display());
        };
        let target = partial.join(name);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(file).unwrap())
            .read_to_end(&mut bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        std::fs::write(&target, bytes).unwrap();
    }
    if std::fs::rename(&partial, &unpacked).is_err() {
        // Another process was first; its folder holds the same bytes.
        assert!(
            unpacked.is_dir(),
            "cannot unpack into {}",
            unpacked.display()
        );
        let _ = std::fs::remove_dir_all(&partial);
    }
    unpacked
}

const VENDOR_ORIGIN: &str = "https://sdnetrim.kdvz-frechen.de";
const VENDOR_PREFIX: &str = "/rim4220/webservice/oparl/v1.0/";

/// Serve the crawl as the vendor served it: every list page at its URL, and
/// every object it contains (embedded ones too) at its id, with the vendor's
/// URLs pointing at this server. What the crawl does not hold answers 404
/// with an HTML page, as a portal would. Returns the System URL.
pub async fn serve_huertgenwald() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let origin = format!("http://{addr}");
    let mut routes: HashMap<String, Bytes> = HashMap::new();
    let root = huertgenwald_pages();
    for entry in walk_files(&root) {
        let relative = entry
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .to_string();
        if relative == "missing_ids.json" {
            continue;
        }
        let text = std::fs::read_to_string(&entry)
            .unwrap()
            .replace(VENDOR_ORIGIN, &origin);
        let stem = relative.trim_end_matches(".json");
        let (list, page) = match stem.split_once(".page-") {
            Some((list, n)) => (list.to_string(), n.parse::<u32>().unwrap()),
            None => (stem.to_string(), 1),
        };
        let value: Value = serde_json::from_str(&text).unwrap();
        if let Some(items) = value["data"].as_array() {
            for item in items {
                index_objects(item, None, &origin, &mut routes);
            }
            routes.insert(
                format!("{VENDOR_PREFIX}{list}?page={page}"),
                Bytes::from(text.clone()),
            );
            if page == 1 {
                routes.insert(format!("{VENDOR_PREFIX}{list}"), Bytes::from(text));
            }
        } else {
            routes.insert(format!("{VENDOR_PREFIX}{list}"), Bytes::from(text));
        }
    }
    let routes = Arc::new(routes);
    let handler: Handler = Arc::new(move |req: Request<hyper::body::Incoming>| {
        let key = match req.uri().query() {
            Some(q) => format!("{}?{q}", req.uri().path()),
            None => req.uri().path().to_string(),
        };
        let found = routes.get(&key).cloned();
        Box::pin(async move {
            match found {
                Some(body) => {
                    let mut r = Response::new(api::Body::new(body));
                    r.headers_mut()
                        .insert("content-type", "application/json".parse().unwrap());
                    // Not known from the crawl; assumed present so the report
                    // shows the data's defects, not the fixture's.
                    r.headers_mut()
                        .insert("access-control-allow-origin", "*".parse().unwrap());
                    r
                }
                None => {
                    let mut r = Response::new(api::Body::new(Bytes::from_static(
                        b"<html><body>Seite nicht gefunden</body></html>",
                    )));
                    *r.status_mut() = StatusCode::NOT_FOUND;
                    r.headers_mut()
                        .insert("content-type", "text/html".parse().unwrap());
                    r
                }
            }
        })
    });
    spawn_at(addr, handler).await;
    format!("{origin}{VENDOR_PREFIX}system")
}

/// Index every object by its path. An object the crawl holds only embedded
/// is served with the back-reference to its parent that the vendor's
/// standalone form carries.
fn index_objects(
    value: &Value,
    parent: Option<(&str, &str)>,
    origin: &str,
    routes: &mut HashMap<String, Bytes>,
) {
    match value {
        Value::Object(map) => {
            if let (Some(Value::String(id)), true) = (map.get("id"), map.len() > 1) {
                if let Some(path) = id.strip_prefix(origin) {
                    let mut standalone = value.clone();
                    let back = match (
                        map.get("type")
                            .and_then(Value::as_str)
                            .and_then(|t| t.rsplit('/').next()),
                        parent,
                    ) {
                        (Some("AgendaItem"), Some((p, "agendaItem"))) => Some(("meeting", p)),
                        (Some("Membership"), Some((p, "membership"))) => Some(("person", p)),
                        (Some("Consultation"), Some((p, "consultation"))) => Some(("paper", p)),
                        _ => None,
                    };
                    if let Some((key, parent_id)) = back {
                        standalone[key] = Value::String(parent_id.to_string());
                    }
                    routes
                        .entry(path.to_string())
                        .or_insert_with(|| Bytes::from(standalone.to_string()));
                }
            }
            let own = map.get("id").and_then(Value::as_str);
            for (key, v) in map {
                index_objects(v, own.map(|id| (id, key.as_str())), origin, routes);
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|v| index_objects(v, parent, origin, routes)),
        _ => {}
    }
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk_files(&path));
        } else {
            out.push(path);
        }
    }
    out
}
