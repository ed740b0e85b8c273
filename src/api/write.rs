//! The write API (an extension of this server; OParl itself defines only
//! reading): `POST {list}` creates, `PUT {id}` replaces, `PATCH {id}` merges
//! (RFC 7396), `DELETE {id}` leaves a tombstone, `PUT {file}/content` stores
//! a File's bytes, `POST {base}/batch` applies JSON Lines of these at once.
//!
//! Here: authentication (`Authorization: Bearer`, tokens of
//! `store::tokens`, failed attempts limited per client address), request
//! limits, preconditions, `Idempotency-Key`, CORS for writes, and the
//! answers. Every write is one `store::write::change_with`, applied by
//! `apply::Writer` and recorded in the audit log in the same transaction.
//! Write answers are never cached and bypass the read path's caches (which
//! key on the database version, so readers see a write at once).

pub mod apply;
pub mod batch;

use super::error::ApiError;
use super::route::{self, Resolved, Route};
use super::{AppState, Body};
use crate::model::{Kind, ListKind};
use crate::store::audit::{self, Kept};
use crate::store::tokens::{self, Token};
use apply::{Preconditions, Problem, Refusal, Writer};
use bytes::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Default of `--max-body-mb`: the largest JSON request.
pub const DEFAULT_MAX_BODY: u64 = 16 << 20;
/// Default of `--max-file-mb`: the largest File content (and batch).
pub const DEFAULT_MAX_FILE: u64 = 64 << 20;
/// Failed authentications a client address may have per minute before
/// its requests get 429.
pub const DEFAULT_AUTH_FAILURES_PER_MINUTE: u32 = 20;
/// How long a request body may take to arrive (a client that trickles
/// bytes must not hold a connection and its buffer for ever).
const BODY_TIME_LIMIT: Duration = Duration::from_secs(300);
/// The longest `Idempotency-Key` kept.
const MAX_KEY_LENGTH: usize = 200;

/// The settings of the write API.
#[derive(Debug, Clone)]
pub struct WriteSettings {
    pub max_body_bytes: u64,
    pub max_file_bytes: u64,
    /// Origins whose browsers may write (CORS); none by default.
    pub cors_origins: Vec<String>,
    pub auth_failures_per_minute: u32,
}

impl Default for WriteSettings {
    fn default() -> Self {
        WriteSettings {
            max_body_bytes: DEFAULT_MAX_BODY,
            max_file_bytes: DEFAULT_MAX_FILE,
            cors_origins: Vec::new(),
            auth_failures_per_minute: DEFAULT_AUTH_FAILURES_PER_MINUTE,
        }
    }
}

/// The write API's part of the server state.
#[derive(Debug, Default)]
pub struct WriteState {
    pub settings: WriteSettings,
    /// Failed authentications per client address in the current minute.
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl WriteState {
    pub fn new(settings: WriteSettings) -> WriteState {
        WriteState {
            settings,
            failures: Mutex::default(),
        }
    }

    /// Whether this address has used up its failed attempts.
    fn blocked(&self, client: &str) -> bool {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.get(client).is_some_and(|(n, since)| {
            since.elapsed() < Duration::from_secs(60)
                && *n >= self.settings.auth_failures_per_minute
        })
    }

    fn failed(&self, client: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Forget old windows, so that the map stays small.
        failures.retain(|_, (_, since)| since.elapsed() < Duration::from_secs(60));
        let entry = failures
            .entry(client.to_string())
            .or_insert((0, Instant::now()));
        entry.0 += 1;
    }
}

/// The address a request came from, put into its extensions by the
/// accept loop (`server`). Requests made in-process have none.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub std::net::IpAddr);

/// Whether a method writes (and is answered here).
pub fn is_write(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// PDFs read before the change, by their bytes' SHA-512 (hex): the bytes
/// of a content upload, or of a batch's content lines, that may be PDFs.
/// Reading a PDF takes time, and the write lock is not held meanwhile;
/// `Writer::content` uses the result where it, too, reads the bytes as a
/// PDF, and reads them itself otherwise.
pub type PdfsRead = HashMap<String, crate::text_extract::Extracted>;

async fn read_pdfs_early(input: &Input, content_type: Option<&str>) -> PdfsRead {
    let mime = content_type.unwrap_or("");
    let may_be_pdf = |bytes: &[u8]| {
        bytes.starts_with(b"%PDF-") || crate::text_extract::reads_as_pdf(mime, bytes)
    };
    let candidates: Vec<Bytes> = match input {
        Input::Bytes(bytes) if may_be_pdf(bytes) => vec![bytes.clone()],
        Input::Batch(lines) => lines
            .iter()
            .filter(|l| l.value.get("op").and_then(Value::as_str) == Some("content"))
            .filter_map(|l| {
                use base64::Engine;
                let data = l.value.get("base64")?.as_str()?;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(data.trim())
                    .ok()?;
                bytes.starts_with(b"%PDF-").then(|| Bytes::from(bytes))
            })
            .collect(),
        _ => Vec::new(),
    };
    if candidates.is_empty() {
        return PdfsRead::new();
    }
    let read = tokio::task::spawn_blocking(move || {
        use sha2::Digest;
        candidates
            .iter()
            .map(|bytes| {
                (
                    crate::text::hex(&sha2::Sha512::digest(bytes)),
                    crate::text_extract::pdf(bytes),
                )
            })
            .collect()
    });
    // A read that failed to run is done again under the lock, as before.
    read.await.unwrap_or_default()
}

/// A request body that can be read up to a limit.
pub trait RequestBody: Send + 'static {
    /// The bytes, or None when there are more than `limit`; Err when the
    /// body could not be read.
    fn read(self, limit: u64) -> impl Future<Output = Result<Option<Bytes>, String>> + Send;
}

async fn read_limited<B>(body: B, limit: u64) -> Result<Option<Bytes>, String>
where
    B: hyper::body::Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    use http_body_util::BodyExt;
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(Some(collected.to_bytes())),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

impl RequestBody for hyper::body::Incoming {
    fn read(self, limit: u64) -> impl Future<Output = Result<Option<Bytes>, String>> + Send {
        read_limited(self, limit)
    }
}

impl RequestBody for http_body_util::Full<Bytes> {
    fn read(self, limit: u64) -> impl Future<Output = Result<Option<Bytes>, String>> + Send {
        read_limited(self, limit)
    }
}

/// No body (the tests of the read API build requests with `()`).
impl RequestBody for () {
    async fn read(self, _limit: u64) -> Result<Option<Bytes>, String> {
        Ok(Some(Bytes::new()))
    }
}

/// What one request asks for.
enum Operation {
    Create(Kind, Option<i64>),
    Replace(Kind, i64),
    Patch(Kind, i64),
    Delete(Kind, i64),
    Content(i64),
    Batch,
}

/// Why a change was rolled back.
#[derive(Debug)]
pub(crate) enum Stop {
    Refused(Refusal),
    /// The same `Idempotency-Key` was answered before: the kept answer.
    Replay(Kept),
    /// A batch with failed lines: (line, refusal).
    Lines(Vec<(usize, Refusal)>),
}

impl From<Refusal> for Stop {
    fn from(r: Refusal) -> Stop {
        Stop::Refused(r)
    }
}
impl From<crate::db::DbError> for Stop {
    fn from(e: crate::db::DbError) -> Stop {
        Stop::Refused(Refusal::Db(e))
    }
}
impl From<diesel::result::Error> for Stop {
    fn from(e: diesel::result::Error) -> Stop {
        Stop::Refused(e.into())
    }
}

/// A finished answer, as kept for a retried request.
struct Done {
    status: StatusCode,
    location: Option<String>,
    etag: Option<String>,
    body: Option<String>,
}

/// Answer a write request (never under the read path's time limit: a
/// write that commits after its client was told 503 would be a lie).
pub async fn handle<B: RequestBody>(state: &Arc<AppState>, req: Request<B>) -> Response<Body> {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut response = match answer(state, req).await {
        Ok(response) => response,
        Err(e) => super::error_response(&e),
    };
    // A browser sends a write with a token only after a preflight, which
    // is answered for the configured origins alone; those get their own
    // origin back (the `*` of other answers admits no credentials anyway).
    let h = response.headers_mut();
    if let Some(origin) = origin.filter(|o| state.writes.settings.cors_origins.contains(o)) {
        if let Ok(v) = HeaderValue::from_str(&origin) {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
            h.insert(header::VARY, HeaderValue::from_static("Origin"));
        }
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The answer to a CORS preflight for a write, for a configured origin;
/// None otherwise (the plain OPTIONS answer then names no write method,
/// and the browser does not send the write).
pub fn preflight(state: &AppState, headers: &HeaderMap) -> Option<Response<Body>> {
    let method = headers.get(header::ACCESS_CONTROL_REQUEST_METHOD)?;
    let method = Method::from_bytes(method.as_bytes()).ok()?;
    if !is_write(&method) {
        return None;
    }
    let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
    if !state
        .writes
        .settings
        .cors_origins
        .iter()
        .any(|o| o == origin)
    {
        return None;
    }
    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_str(origin).ok()?,
    );
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, PUT, PATCH, DELETE"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(
            "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key",
        ),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Location, ETag"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    Some(response)
}

fn bad_request(message: &str, debug: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message, debug)
}

async fn answer<B: RequestBody>(
    state: &Arc<AppState>,
    req: Request<B>,
) -> Result<Response<Body>, ApiError> {
    let (parts, body) = req.into_parts();
    if let Some(query) = parts.uri.query() {
        let secret = query.split('&').any(|p| {
            let name = p.split('=').next().unwrap_or("").to_ascii_lowercase();
            name.contains("token") || name.contains("key") || name == "auth"
        });
        // The request line ends up in logs and proxies: a token there is
        // refused, whatever it is.
        return Err(if secret {
            bad_request(
                "Zugangsdaten werden nicht in der Adresse angenommen.",
                "a token is never accepted in the query string; send `Authorization: Bearer <token>`",
            )
        } else {
            bad_request(
                "Schreibende Anfragen haben keine Parameter.",
                "write requests take no query parameters",
            )
        });
    }
    let path = parts.uri.path();
    let route = match route::resolve(&state.urls, path) {
        Resolved::Found(route) => route,
        Resolved::Redirect(url) => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "Die angeforderte Ressource existiert nicht.",
                format!("nothing at {path}; write to the canonical URL {url}"),
            ))
        }
        Resolved::NotFound => return Err(ApiError::not_found(path)),
    };
    let operation = match (&parts.method, route) {
        (&Method::POST, Route::List(ListKind::Body(kind), body)) => {
            Operation::Create(kind, Some(body))
        }
        (&Method::POST, Route::List(ListKind::Bodies, _)) => Operation::Create(Kind::Body, None),
        (&Method::POST, Route::Batch) => Operation::Batch,
        (&Method::PUT, Route::Object(kind, pk)) => Operation::Replace(kind, pk),
        (&Method::PATCH, Route::Object(kind, pk)) => Operation::Patch(kind, pk),
        (&Method::DELETE, Route::Object(kind, pk)) => Operation::Delete(kind, pk),
        (&Method::PUT, Route::FileUpload(pk)) => Operation::Content(pk),
        (method, route) => return Ok(not_allowed(method, route)),
    };
    let client = parts
        .extensions
        .get::<ClientAddr>()
        .map_or_else(|| "unknown".to_string(), |a| a.0.to_string());
    let token = match authenticate(state, &parts.headers, &client).await? {
        Ok(token) => token,
        Err(response) => return Ok(response),
    };
    if token.read_only {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Dieser Zugang darf nur lesen.",
            format!("the token `{}` is read-only", token.name),
        ));
    }
    let settings = &state.writes.settings;
    let limit = match operation {
        Operation::Content(_) | Operation::Batch => settings.max_file_bytes,
        _ => settings.max_body_bytes,
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Die Anfrage ist zu groß.",
            format!("this request may carry at most {limit} bytes"),
        )
    };
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let bytes = match tokio::time::timeout(BODY_TIME_LIMIT, body.read(limit)).await {
        Ok(Ok(Some(bytes))) => bytes,
        Ok(Ok(None)) => return Err(too_large()),
        Ok(Err(e)) => return Err(bad_request("Die Anfrage konnte nicht gelesen werden.", e)),
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "Die Anfrage kam nicht rechtzeitig an.",
                format!(
                    "the request body did not arrive within {} s",
                    BODY_TIME_LIMIT.as_secs()
                ),
            ))
        }
    };
    let pre = preconditions(&parts.headers)?;
    let key = match parts.headers.get("idempotency-key") {
        None => None,
        Some(_) if parts.method != Method::POST => None,
        Some(v) => match v.to_str() {
            Ok(k) if !k.is_empty() && k.len() <= MAX_KEY_LENGTH => Some(k.to_string()),
            _ => {
                return Err(bad_request(
                    "Ungültiger Idempotency-Key.",
                    format!(
                        "Idempotency-Key must be 1 to {MAX_KEY_LENGTH} visible ASCII characters"
                    ),
                ))
            }
        },
    };
    let request_hash = {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(parts.method.as_str());
        h.update([0]);
        h.update(path);
        h.update([0]);
        h.update(&bytes);
        crate::text::hex(&h.finalize())
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_string());
    // Parsed before the change: malformed input never takes the write lock.
    let input = match operation {
        Operation::Content(_) | Operation::Delete(..) => Input::Bytes(bytes),
        Operation::Batch => Input::Batch(batch::parse(&bytes)?),
        _ => Input::Json(parse_json(&bytes)?),
    };
    let mut pdfs = read_pdfs_early(&input, content_type.as_deref()).await;
    let st = Arc::clone(state);
    let hash = request_hash.clone();
    let outcome = state
        .db
        .run(move |conn| {
            Ok(crate::store::write::change_with(conn, |c| {
                let now = crate::time::now();
                if let Some(key) = &key {
                    if let Some(kept) = audit::kept(c.conn()?, token.id, key)? {
                        return Err(Stop::Replay(kept));
                    }
                }
                let revision = c.revision();
                let mut w = Writer::new(c, &st.urls, &token, now);
                w.pdfs_read = std::mem::take(&mut pdfs);
                let done = apply_one(&mut w, operation, input, &pre, content_type.as_deref())?;
                let entries = std::mem::take(&mut w.audit);
                drop(w);
                audit::record(c.conn()?, &token.name, revision, now, &entries)?;
                if let Some(key) = &key {
                    let kept = Kept {
                        request_hash: hash.clone(),
                        status: done.status.as_u16() as i16,
                        location: done.location.clone().unwrap_or_default(),
                        answer: done.body.clone().unwrap_or_default(),
                    };
                    audit::keep(c.conn()?, token.id, key, &kept, now)?;
                }
                Ok(done)
            }))
        })
        .await?;
    match outcome {
        Ok(done) => Ok(done_response(done)),
        Err(Stop::Replay(kept)) if kept.request_hash == request_hash => Ok(done_response(Done {
            status: StatusCode::from_u16(kept.status as u16).unwrap_or(StatusCode::OK),
            location: Some(kept.location).filter(|l| !l.is_empty()),
            etag: None,
            body: Some(kept.answer).filter(|a| !a.is_empty()),
        })),
        Err(Stop::Replay(_)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Dieser Idempotency-Key wurde für eine andere Anfrage verwendet.",
            "the Idempotency-Key was used before with another request",
        )),
        Err(Stop::Refused(r)) => refusal_response(r, None),
        Err(Stop::Lines(lines)) => Ok(batch::failed(lines)),
    }
}

/// The parsed body of a request.
enum Input {
    Json(Value),
    Bytes(Bytes),
    Batch(Vec<batch::Line>),
}

fn apply_one(
    w: &mut Writer<'_, '_>,
    operation: Operation,
    input: Input,
    pre: &Preconditions,
    content_type: Option<&str>,
) -> Result<Done, Stop> {
    let json = |input: &Input| match input {
        Input::Json(v) => v.clone(),
        _ => Value::Null,
    };
    Ok(match operation {
        Operation::Create(kind, body) => {
            let pk = w.create(kind, body, &json(&input), "$")?;
            let (text, etag) = w.rendered(pk)?;
            Done {
                status: StatusCode::CREATED,
                location: Some(w.urls.object(kind, pk)),
                etag: Some(etag),
                body: Some(text),
            }
        }
        Operation::Replace(kind, pk) => {
            w.replace(kind, pk, &json(&input), "$", pre)?;
            let (text, etag) = w.rendered(pk)?;
            Done {
                status: StatusCode::OK,
                location: None,
                etag: Some(etag),
                body: Some(text),
            }
        }
        Operation::Patch(kind, pk) => {
            w.patch(kind, pk, &json(&input), "$", pre)?;
            let (text, etag) = w.rendered(pk)?;
            Done {
                status: StatusCode::OK,
                location: None,
                etag: Some(etag),
                body: Some(text),
            }
        }
        Operation::Delete(kind, pk) => {
            w.delete(kind, pk, pre)?;
            Done {
                status: StatusCode::NO_CONTENT,
                location: None,
                etag: None,
                body: None,
            }
        }
        Operation::Content(pk) => {
            let Input::Bytes(bytes) = input else {
                unreachable!("content is read as bytes")
            };
            w.content(pk, &bytes, content_type, pre)?;
            let (text, etag) = w.rendered(pk)?;
            Done {
                status: StatusCode::OK,
                location: None,
                etag: Some(etag),
                body: Some(text),
            }
        }
        Operation::Batch => {
            let Input::Batch(lines) = input else {
                unreachable!("a batch is read as lines")
            };
            let body = batch::apply(w, lines)?;
            Done {
                status: StatusCode::OK,
                location: None,
                etag: None,
                body: Some(body),
            }
        }
    })
}

/// Parse a JSON body; 400 with the place of the fault.
pub(crate) fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        bad_request(
            "Der Inhalt der Anfrage ist kein gültiges JSON.",
            format!("the request body is not JSON: {e}"),
        )
    })
}

fn preconditions(headers: &HeaderMap) -> Result<Preconditions, ApiError> {
    let list = |name: header::HeaderName| -> Result<Option<Vec<String>>, ApiError> {
        let values: Vec<&HeaderValue> = headers.get_all(&name).iter().collect();
        if values.is_empty() {
            return Ok(None);
        }
        let mut out = Vec::new();
        for v in values {
            let v = v
                .to_str()
                .map_err(|_| bad_request("Ungültige Kopfzeile.", format!("{name} is not ASCII")))?;
            out.extend(
                v.split(',')
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty()),
            );
        }
        Ok(Some(out))
    };
    let if_none_match = list(header::IF_NONE_MATCH)?;
    Ok(Preconditions {
        if_match: list(header::IF_MATCH)?,
        if_none_match_any: if_none_match.is_some_and(|l| l.iter().any(|t| t == "*")),
    })
}

/// `Authorization: Bearer <token>`: the token, or the 401/429 answer.
async fn authenticate(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    client: &str,
) -> Result<Result<Token, Response<Body>>, ApiError> {
    if state.writes.blocked(client) {
        tracing::warn!(client, "authentication refused: too many failed attempts");
        let mut response = super::error_response(&ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Zu viele fehlgeschlagene Anmeldungen. Bitte später erneut versuchen.",
            "too many failed authentications from this address; wait a minute",
        ));
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return Ok(Err(response));
    }
    let secret = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| rest.trim().to_string())
        });
    let Some(secret) = secret.filter(|s| !s.is_empty() && s.len() <= 256) else {
        // No credentials at all is not an attack: not counted.
        return Ok(Err(unauthorized(
            headers.contains_key(header::AUTHORIZATION),
            "this request needs `Authorization: Bearer <token>`",
        )));
    };
    let found = state
        .db
        .run(move |conn| tokens::find(conn, &secret))
        .await?;
    match found {
        Some(token) if token.revoked.is_none() => Ok(Ok(token)),
        found => {
            state.writes.failed(client);
            let why = if found.is_some() {
                "revoked token"
            } else {
                "unknown token"
            };
            // The token itself is never logged.
            tracing::warn!(client, why, "authentication failed");
            Ok(Err(unauthorized(true, "the token is unknown or revoked")))
        }
    }
}

/// 401 with the challenge (RFC 6750 §3).
fn unauthorized(invalid: bool, debug: &str) -> Response<Body> {
    let mut response = super::error_response(&ApiError::new(
        StatusCode::UNAUTHORIZED,
        "Für diese Anfrage ist eine Anmeldung nötig.",
        debug,
    ));
    let challenge = if invalid {
        "Bearer realm=\"oparl\", error=\"invalid_token\""
    } else {
        "Bearer realm=\"oparl\""
    };
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

fn not_allowed(method: &Method, route: Route) -> Response<Body> {
    let allow = match route {
        Route::Object(..) => "GET, HEAD, OPTIONS, PUT, PATCH, DELETE",
        Route::List(ListKind::Body(_) | ListKind::Bodies, _) => "GET, HEAD, OPTIONS, POST",
        Route::Batch => "POST",
        Route::FileUpload(_) => "PUT",
        _ => "GET, HEAD, OPTIONS",
    };
    let mut response = super::error_response(&ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Diese Anfragemethode wird nicht unterstützt.",
        format!("method {method} is not allowed here; use {allow}"),
    ));
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

fn done_response(done: Done) -> Response<Body> {
    let mut response = match &done.body {
        Some(text) => super::json_bytes(done.status, Bytes::from(text.clone())),
        None => {
            let mut r = Response::new(Body::default());
            *r.status_mut() = done.status;
            r
        }
    };
    let h = response.headers_mut();
    if let Some(location) = done.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        h.insert(header::LOCATION, location);
    }
    if let Some(etag) = done.etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
        h.insert(header::ETAG, etag);
    }
    response
}

/// The Error object of a refused write: 422 with every problem and its
/// path (`server:problems`), or the refusal's own status.
pub(crate) fn problems_body(problems: &[Problem]) -> Value {
    Value::Array(
        problems
            .iter()
            .map(|p| json!({ "path": p.path, "message": p.message }))
            .collect(),
    )
}

fn refusal_response(r: Refusal, line: Option<usize>) -> Result<Response<Body>, ApiError> {
    match r {
        Refusal::Problems(problems) => {
            let e = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Die Daten verletzen Regeln von OParl; nichts wurde gespeichert.",
                format!(
                    "{} problem(s){}: {}",
                    problems.len(),
                    line.map(|l| format!(" in line {l}")).unwrap_or_default(),
                    problems
                        .iter()
                        .map(|p| format!("{}: {}", p.path, p.message))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            );
            let mut body = e.body();
            body["server:problems"] = problems_body(&problems);
            Ok(super::json_response(e.status, &body))
        }
        Refusal::Api(e) => Err(e),
        Refusal::Db(e) => Err(e.into()),
    }
}
