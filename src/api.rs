//! The HTTP API: takes a request, answers it. Routing is in `route`, query
//! parsing in `query`, the full-text search in `search`, the Error object
//! in `error`, File bytes in `files`, the body type of every answer in
//! `body`, and the authenticated writes (POST, PUT, PATCH, DELETE) in
//! `write`, which bypass everything else here. Which representation a
//! request gets (JSON, or an HTML page for browsers) is decided once, in
//! `negotiate`; pages are loaded in `pages` and rendered by `crate::html`.
//! Every JSON answer, errors included, carries `Content-Type:
//! application/json; charset=utf-8` and `Access-Control-Allow-Origin: *`.

pub mod body;
pub mod cache;
pub mod changes;
pub mod dcat;
pub mod dump;
pub mod error;
mod feeds;
pub mod files;
mod flights;
pub mod http_cache;
pub mod negotiate;
mod pages;
pub mod probes;
pub mod query;
pub mod route;
pub mod search;
pub mod sitemap;
pub mod write;

use crate::db::{AnyConnection, Db};
use crate::model::{Kind, ListKind};
use crate::render::{self, Options};
use crate::store::{read, ListFilter, ObjectHead, ObjectRow};
use crate::urls::Urls;
use bytes::{BufMut, Bytes, BytesMut};
use cache::{Cache, ObjectKey, PageKey, Recent};
use error::ApiError;
use http_cache::{Conditions, Tag};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use negotiate::Format;
use query::ListQuery;
use route::{Resolved, Route};
use serde_json::{json, Value};
use std::sync::Arc;

pub use body::Body;

/// Longest request target we answer; longer ones get a 414 with the Error
/// object. RFC 9110 (section 4.1) recommends accepting at least 8,000
/// octets, and harvesters do send long filtered list URLs. hyper lets
/// targets of up to 65,534 octets through on HTTP/1.1 (and answers a bare
/// 414 beyond), and up to its 16 KB header list on HTTP/2.
pub const MAX_URI_LENGTH: usize = 8192;

/// What every request handler shares.
pub struct AppState {
    pub db: Db,
    pub urls: Urls,
    /// Rendered standalone objects.
    objects: Cache<ObjectKey>,
    /// Finished (and compressed) answers by ETag and coding.
    answers: Cache<PageKey>,
    /// Whole answers by request target with the database version they were
    /// read at; also served without asking while younger than `max_stale`.
    recent: Cache<String, Recent>,
    /// Loads of whole answers in flight, shared by the requests that miss
    /// the same one at the same version.
    flights: flights::Flights,
    max_stale: std::time::Duration,
    /// The bulk dumps, when this server builds them.
    pub dumps: Option<Arc<crate::dumps::Dumps>>,
    /// Longest time an answer may take before it becomes a 503.
    time_limit: std::time::Duration,
    /// What the DCAT-AP.de catalogue takes from settings.
    pub dcat: crate::dcat::DcatSettings,
    /// The catalogue as last rendered, per representation (see `dcat`).
    catalogue: dcat::Kept,
    /// The write API's settings and its count of failed authentications.
    pub writes: write::WriteState,
}

impl AppState {
    /// The state of a server on this database under this base URL, with
    /// caches of `cache_bytes` in all.
    pub fn new(db: Db, urls: Urls, cache_bytes: usize) -> AppState {
        AppState {
            db,
            urls,
            objects: Cache::new(cache_bytes / 2),
            answers: Cache::new(cache_bytes / 4),
            recent: Cache::new(cache_bytes / 4),
            flights: flights::Flights::default(),
            max_stale: std::time::Duration::ZERO,
            dumps: None,
            time_limit: DEFAULT_TIME_LIMIT,
            dcat: crate::dcat::DcatSettings::default(),
            catalogue: dcat::Kept::default(),
            writes: write::WriteState::default(),
        }
    }

    /// Take writes with these settings (see `write`).
    pub fn with_writes(mut self, settings: write::WriteSettings) -> AppState {
        self.writes = write::WriteState::new(settings);
        self
    }

    /// Serve the dumps these build (see `crate::dumps::keep_current`).
    pub fn with_dumps(mut self, dumps: Arc<crate::dumps::Dumps>) -> AppState {
        self.dumps = Some(dumps);
        self.urls = self.urls.with_dumps();
        self
    }

    /// Answer 503 with `Retry-After` when an answer is not ready within
    /// this time (a slow query, a database that does not answer). Open the
    /// store with `db::Limits::serving` of the same time, so that
    /// PostgreSQL drops a statement nobody waits for any more.
    pub fn with_time_limit(mut self, limit: std::time::Duration) -> AppState {
        self.time_limit = limit;
        self
    }

    /// Describe the catalogue with these settings (see `crate::dcat`).
    pub fn with_dcat(mut self, settings: crate::dcat::DcatSettings) -> AppState {
        self.dcat = settings;
        self
    }

    /// Accept answers up to this old without asking the database. A change
    /// committed by any server then shows within this bound; harvesters that
    /// sync with `modified_since` must subtract it from their start time.
    pub fn with_max_stale(mut self, bound: std::time::Duration) -> AppState {
        self.max_stale = bound;
        self
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("db", &self.db)
            .field("urls", &self.urls)
            .finish()
    }
}

/// Default of `--request-timeout-ms`.
pub const DEFAULT_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// `Retry-After` of a 503, in seconds.
const RETRY_AFTER_SECS: u32 = 5;

/// Default size of the caches of rendered JSON.
pub const DEFAULT_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Answer one request.
pub async fn handle<B: write::RequestBody>(
    state: Arc<AppState>,
    req: Request<B>,
) -> Response<Body> {
    if write::is_write(req.method()) {
        return write::handle(&state, req).await;
    }
    let head = req.method() == Method::HEAD;
    let wants = negotiate::Wants::of(req.headers(), req.uri().query());
    // Work on blocking threads goes on after the limit (it cannot be
    // interrupted there), but nobody waits for it; what runs on this
    // thread is bounded by its shape (see `Db::inline`).
    let answered = tokio::time::timeout(state.time_limit, answer(&state, &req, &wants)).await;
    let mut response = match answered {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => error_answer(&state, &e, &wants),
        Err(_) => {
            tracing::warn!(uri = %req.uri(), "no answer within the time limit");
            error_answer(&state, &ApiError::time_limit(state.time_limit), &wants)
        }
    };
    if head {
        // Same headers as GET, no body (hyper keeps Content-Length).
        let length = response.headers().get(header::CONTENT_LENGTH).cloned();
        *response.body_mut() = Body::default();
        if let Some(length) = length {
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, length);
        }
    }
    response
}

/// The steps of an answer: the method, the paths outside the API, the
/// route, the representation, the whole-answer cache, loading and
/// rendering, and the headers (in `finish`).
async fn answer<B>(
    state: &Arc<AppState>,
    req: &Request<B>,
    wants: &negotiate::Wants,
) -> Result<Response<Body>, ApiError> {
    match *req.method() {
        Method::GET | Method::HEAD => {}
        Method::OPTIONS => {
            return Ok(write::preflight(state, req.headers()).unwrap_or_else(options_response))
        }
        ref other => return Err(ApiError::method_not_allowed(other)),
    }
    let uri = req.uri();
    if let Some(response) = outside_the_api(state, uri.path()).await? {
        return Ok(response);
    }
    let uri_text = uri.to_string();
    if uri_text.len() > MAX_URI_LENGTH {
        return Err(ApiError::new(
            StatusCode::URI_TOO_LONG,
            "Die angeforderte Adresse ist zu lang.",
            format!("request targets are limited to {MAX_URI_LENGTH} bytes"),
        ));
    }
    let route = match route::resolve(&state.urls, uri.path()) {
        Resolved::Found(route) => route,
        Resolved::Redirect(url) => return Ok(redirect(&url, uri.query())),
        // The host's root, when the API lives below it: the start page
        // for a browser, the System for everyone else.
        Resolved::NotFound if uri.path() == "/" => {
            if wants.pick(&[Format::Json, Format::Html])? == Format::Html {
                Route::System
            } else {
                return Ok(found(&state.urls.system()));
            }
        }
        Resolved::NotFound => return Err(ApiError::not_found(uri.path())),
    };
    let format = wants.pick(feeds::offered(route))?;
    // Routes with caching of their own: File bytes and dumps are files,
    // the catalogue shows the dump files too, which change apart from the
    // database (see `dcat`).
    match route {
        Route::FileUpload(_) | Route::Batch => {
            return Err(ApiError::method_not_allowed(req.method()))
        }
        Route::FileContent(pk, disposition) => {
            return files::serve(state, pk, disposition, req.headers()).await
        }
        Route::Dump(body) => return dump::serve(state, body, req.headers()).await,
        Route::Dcat => return dcat::serve(state, req.headers()).await,
        _ => {}
    }
    let conditions = Conditions::of(req.headers());
    // JSON answers are kept under their target alone, as before pages
    // existed; every other representation under its name and the target.
    let target = match format {
        Format::Json => uri_text,
        other => format!("{} {uri_text}", other.name()),
    };
    let asked = std::time::Instant::now();
    let version = match kept_answer(state, &target, asked).await? {
        Kept::Current(r) => {
            let outcome = kept_outcome(r, &conditions);
            return Ok(finish(state, outcome, req.headers(), format));
        }
        Kept::None(version) => version,
    };
    // Requests that miss the same answer at the same version share a load.
    let lead = match state.flights.join(&target, &version) {
        flights::Role::Wait(waiting) => match flights::landed(waiting).await {
            Some(r) => {
                let outcome = kept_outcome(r, &conditions);
                return Ok(finish(state, outcome, req.headers(), format));
            }
            None => None,
        },
        flights::Role::Lead(lead) => Some(lead),
        flights::Role::Alone => None,
    };
    let query = negotiate::without_format(uri.query());
    let outcome = load_and_render(state, route, format, query, conditions).await?;
    if let Outcome::Body {
        bytes,
        etag,
        modified,
    } = &outcome
    {
        let recent = Recent {
            at: asked,
            version,
            etag: etag.clone(),
            modified: *modified,
            bytes: bytes.clone(),
        };
        if let Some(lead) = lead {
            lead.land(&recent);
        }
        state.recent.put(target, recent);
    }
    Ok(finish(state, outcome, req.headers(), format))
}

/// A kept answer as this request's outcome: 304 when its copy is current.
fn kept_outcome(r: Recent, conditions: &Conditions) -> Outcome {
    if conditions.fresh(&r.etag, r.modified) {
        Outcome::Fresh {
            etag: r.etag,
            modified: r.modified,
        }
    } else {
        Outcome::Body {
            bytes: r.bytes,
            etag: r.etag,
            modified: r.modified,
        }
    }
}

/// The answers at paths outside the base URL: probes, the pages' assets,
/// and what search engines read.
async fn outside_the_api(
    state: &Arc<AppState>,
    path: &str,
) -> Result<Option<Response<Body>>, ApiError> {
    let xml = "application/xml; charset=utf-8";
    Ok(Some(match path {
        probes::HEALTH => probes::answer(state, false).await,
        probes::READY => probes::answer(state, true).await,
        probes::METRICS => probes::metrics(state).await,
        path if path == *crate::html::layout::STYLE_PATH => {
            asset("text/css; charset=utf-8", crate::html::layout::STYLE)
        }
        path if path == *crate::html::layout::ICON_PATH => {
            asset("image/svg+xml", crate::html::layout::ICON)
        }
        "/robots.txt" => text_response("text/plain; charset=utf-8", sitemap::robots(state)),
        sitemap::INDEX_PATH => {
            let st = Arc::clone(state);
            text_response(xml, run(&state.db, move |c| sitemap::index(c, &st)).await?)
        }
        path => match sitemap::part_of(path) {
            Some(n) => {
                let st = Arc::clone(state);
                match run(&state.db, move |c| sitemap::part(c, &st, n)).await? {
                    Some(text) => text_response(xml, text),
                    None => return Err(ApiError::not_found(path)),
                }
            }
            None => return Ok(None),
        },
    }))
}

/// What the whole-answer cache holds for a target.
enum Kept {
    /// An answer read at the database's current version.
    Current(Recent),
    /// None that is current; the version the database is at (the answer
    /// about to be made is kept under it).
    None(crate::db::version::Version),
}

/// A whole answer read at the database's current version is served again
/// as it is: nothing has been committed since (see db::version). With
/// `--max-stale-ms`, one confirmed current recently enough is served
/// without asking. `asked` precedes the question, so an answer's age is
/// never understated.
async fn kept_answer(
    state: &AppState,
    target: &String,
    asked: std::time::Instant,
) -> Result<Kept, ApiError> {
    let kept = state.recent.get(target);
    let bounded = !state.max_stale.is_zero();
    if let Some(r) = kept
        .as_ref()
        .filter(|r| bounded && r.at.elapsed() < state.max_stale)
    {
        return Ok(Kept::Current(r.clone()));
    }
    let now = state.db.version().await?;
    match kept.filter(|r| r.version == now) {
        Some(r) => {
            if bounded {
                // Confirmed current as of `asked`: young again.
                let mut confirmed = r.clone();
                confirmed.at = asked;
                state.recent.put(target.clone(), confirmed);
            }
            Ok(Kept::Current(r))
        }
        None => Ok(Kept::None(now)),
    }
}

/// Load what the route shows and render it in the chosen representation:
/// a page, a calendar or feed, or JSON (answered on this thread when every
/// object it shows is cached, see `Db::inline`; otherwise, or on
/// PostgreSQL, on a blocking thread with a full rendering).
async fn load_and_render(
    state: &Arc<AppState>,
    route: Route,
    format: Format,
    query: Option<String>,
    conditions: Conditions,
) -> Result<Outcome, ApiError> {
    let st = Arc::clone(state);
    match route {
        _ if format == Format::Html => {
            run(&state.db, move |conn| {
                pages::page(conn, &st, route, query.as_deref(), &conditions)
            })
            .await
        }
        _ if format != Format::Json => {
            run(&state.db, move |conn| {
                feeds::answer(conn, &st, route, format, query.as_deref(), &conditions)
            })
            .await
        }
        Route::Search => {
            let q = search::SearchQuery::parse(query.as_deref())?;
            run(&state.db, move |conn| {
                search::page(conn, &st, &q, &conditions)
            })
            .await
        }
        Route::Changes => {
            let q = changes::ChangesQuery::parse(query.as_deref())?;
            run(&state.db, move |conn| {
                changes::page(conn, &st, &q, &conditions)
            })
            .await
        }
        Route::List(list, owner) => {
            let q = ListQuery::parse(query.as_deref())?;
            // Only a plain page of the Bodies or of a Body's list: an index
            // range scan from the cursor that stops after the page, however
            // deep the cursor. A filtered page may scan far, an Organization's
            // list skips its deleted entries one by one: both wait on a
            // blocking thread, where the time limit can give up on them.
            let bounded = q.filter == ListFilter::default()
                && matches!(list, ListKind::Bodies | ListKind::Body(_));
            let hot = bounded.then(|| {
                state.db.inline(|conn| {
                    list_page(
                        conn,
                        state,
                        list,
                        owner,
                        &q,
                        &conditions,
                        Rendering::CachedOnly,
                    )
                })
            });
            match hot_outcome(hot.flatten())? {
                Some(outcome) => Ok(outcome),
                None => Ok(run(&state.db, move |conn| {
                    list_page(conn, &st, list, owner, &q, &conditions, Rendering::Full)
                })
                .await?
                .expect("a full rendering always answers")),
            }
        }
        Route::System | Route::Object(..) => {
            let omit = ListQuery::parse_object(query.as_deref())?;
            let hot = state.db.inline(|conn| {
                one_object(conn, state, route, omit, &conditions, Rendering::CachedOnly)
            });
            match hot_outcome(hot)? {
                Some(outcome) => Ok(outcome),
                None => Ok(run(&state.db, move |conn| {
                    one_object(conn, &st, route, omit, &conditions, Rendering::Full)
                })
                .await?
                .expect("a full rendering always answers")),
            }
        }
        other => Err(ApiError::not_found(other.url(&state.urls))),
    }
}

/// A JSON answer before coding: its identity bytes, or "not modified".
enum Outcome {
    Fresh {
        etag: String,
        modified: Option<i64>,
    },
    Body {
        bytes: Bytes,
        etag: String,
        modified: Option<i64>,
    },
}

impl Outcome {
    /// The outcome of a rendering that shows many objects (a page, a
    /// calendar, a feed): its ETag hashes its bytes, which is exact
    /// without listing what it shows.
    fn hashed(urls: &Urls, format: Format, bytes: Bytes, conditions: &Conditions) -> Outcome {
        let etag = Tag::new(urls.system().as_str())
            .add(format.name())
            .add(&bytes)
            .finish();
        if conditions.fresh(&etag, None) {
            Outcome::Fresh {
                etag,
                modified: None,
            }
        } else {
            Outcome::Body {
                bytes,
                etag,
                modified: None,
            }
        }
    }
}

/// Whether an answer may read and render objects the cache lacks, or must
/// give up (None) so that it is answered again on a blocking thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rendering {
    Full,
    CachedOnly,
}

/// What an inline attempt gave: an answer, a client error (404 and the
/// like, final), or None to ask again on a blocking thread, also after a
/// server error (the inline connection never waits for a lock).
fn hot_outcome(
    hot: Option<Result<Option<Outcome>, ApiError>>,
) -> Result<Option<Outcome>, ApiError> {
    match hot {
        Some(Err(e)) if e.status.is_server_error() => Ok(None),
        Some(result) => result,
        None => Ok(None),
    }
}

/// Run database work whose own errors are API errors.
async fn run<T, F>(db: &Db, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut AnyConnection) -> Result<T, ApiError> + Send + 'static,
{
    db.run(move |conn| Ok(f(conn))).await?
}

/// The System object or one object at its id.
fn one_object(
    conn: &mut AnyConnection,
    state: &AppState,
    route: Route,
    omit_internal: bool,
    conditions: &Conditions,
    rendering: Rendering,
) -> Result<Option<Outcome>, ApiError> {
    let urls = &state.urls;
    let head = match route {
        Route::System => read::system(conn)?.map(|r| head_of(&r)),
        Route::Object(kind, pk) => read::head(conn, pk)?.filter(|h| h.kind() == kind),
        _ => None,
    };
    let head = head.ok_or_else(|| ApiError::not_found(route.url(urls)))?;
    // The object's JSON changes exactly when its revision does (store::write
    // re-stamps everything whose JSON shows a change), so this tag is exact.
    let etag = Tag::new(urls.system().as_str())
        .add("object")
        .number(head.pk)
        .number(head.revision)
        .add([u8::from(omit_internal)])
        .finish();
    let modified = Some(head.modified);
    if conditions.fresh(&etag, modified) {
        return Ok(Some(Outcome::Fresh { etag, modified }));
    }
    let Some(mut bytes) = rendered(conn, state, &[head], omit_internal, rendering)? else {
        return Ok(None);
    };
    Ok(Some(Outcome::Body {
        bytes: bytes.remove(0),
        etag,
        modified,
    }))
}

fn head_of(r: &ObjectRow) -> ObjectHead {
    ObjectHead {
        pk: r.pk,
        kind: r.kind,
        body_pk: r.body_pk,
        created: r.created,
        modified: r.modified,
        deleted: r.deleted,
        revision: r.revision,
    }
}

/// The standalone JSON of these objects, in order, from the cache where it
/// holds them; the others are read and rendered in one batch (or, with
/// `CachedOnly`, None is returned).
fn rendered(
    conn: &mut AnyConnection,
    state: &AppState,
    heads: &[ObjectHead],
    omit: bool,
    rendering: Rendering,
) -> Result<Option<Vec<Bytes>>, ApiError> {
    rendered_from(conn, state, heads, omit, rendering, None)
}

/// [`rendered`] for heads whose whole rows the caller has read already
/// (the change feed's): those that are not cached are rendered from them
/// instead of being read again.
fn rendered_from(
    conn: &mut AnyConnection,
    state: &AppState,
    heads: &[ObjectHead],
    omit: bool,
    rendering: Rendering,
    rows_read: Option<Vec<ObjectRow>>,
) -> Result<Option<Vec<Bytes>>, ApiError> {
    let key = |h: &ObjectHead| (h.pk, h.revision, omit);
    let mut out: Vec<Option<Bytes>> = heads.iter().map(|h| state.objects.get(&key(h))).collect();
    let missing: Vec<i64> = heads
        .iter()
        .zip(&out)
        .filter(|(_, hit)| hit.is_none())
        .map(|(h, _)| h.pk)
        .collect();
    if !missing.is_empty() && rendering == Rendering::CachedOnly {
        return Ok(None);
    }
    if !missing.is_empty() {
        let mut rows = match rows_read {
            Some(mut rows) => {
                let wanted: std::collections::HashSet<i64> = missing.iter().copied().collect();
                rows.retain(|r| wanted.contains(&r.pk));
                rows
            }
            None => read::objects(conn, &missing)?,
        };
        // In the order asked for; a row changed since its head was read keeps
        // the head's key out of the cache (its bytes are newer, not older).
        let position: std::collections::HashMap<i64, usize> =
            missing.iter().enumerate().map(|(i, pk)| (*pk, i)).collect();
        rows.sort_by_key(|r| position[&r.pk]);
        let keys: Vec<ObjectKey> = rows.iter().map(|r| (r.pk, r.revision, omit)).collect();
        let values = render::standalone(
            conn,
            &state.urls,
            rows,
            Options {
                omit_internal: omit,
            },
        )?;
        let fresh: std::collections::HashMap<i64, Bytes> = keys
            .into_iter()
            .zip(values)
            .map(|(k, v)| {
                let bytes = Bytes::from(v);
                state.objects.put(k, bytes.clone());
                (k.0, bytes)
            })
            .collect();
        for (slot, h) in out.iter_mut().zip(heads) {
            if slot.is_none() {
                *slot = fresh.get(&h.pk).cloned();
            }
        }
    }
    out.into_iter()
        .zip(heads)
        .map(|(b, h)| b.ok_or_else(|| ApiError::not_found(state.urls.object(h.kind(), h.pk))))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// One page of a list: `{data, pagination, links}` (spec §2.5 pagination).
fn list_page(
    conn: &mut AnyConnection,
    state: &AppState,
    list: ListKind,
    owner: i64,
    q: &ListQuery,
    conditions: &Conditions,
    rendering: Rendering,
) -> Result<Option<Outcome>, ApiError> {
    let urls = &state.urls;
    let owner_kind = match list {
        ListKind::Bodies => None,
        ListKind::Body(_) => Some(Kind::Body),
        ListKind::OrganizationMeetings | ListKind::OrganizationConsultations => {
            Some(Kind::Organization)
        }
    };
    if let Some(kind) = owner_kind {
        if read::head(conn, owner)?.is_none_or(|h| h.kind() != kind) {
            return Err(ApiError::not_found(urls.list(list, owner)));
        }
    }
    let size = q.page_size();
    let mut rows = read::list_page(conn, list, Some(owner), &q.filter, q.after, size + 1)?;
    let more = rows.len() as i64 > size;
    rows.truncate(size as usize);
    let first = urls.list(list, owner);
    let this_page = format!("{first}{}", q.to_query_string(q.after));
    let next = more.then(|| format!("{first}{}", q.to_query_string(rows.last().map(|r| r.pk))));
    // The page shows these objects as of their revision, and its links.
    let mut tag = Tag::new(urls.system().as_str())
        .add("page")
        .add(&this_page)
        .add(next.as_deref().unwrap_or(""));
    for r in &rows {
        tag = tag
            .number(r.pk)
            .number(r.revision)
            .add([u8::from(q.omit_internal)]);
    }
    let etag = tag.finish();
    if conditions.fresh(&etag, None) {
        return Ok(Some(Outcome::Fresh {
            etag,
            modified: None,
        }));
    }
    // The whole page as it was last assembled: the tag covers every object
    // on it and its links, so the bytes are the same.
    let key = (etag.clone(), "identity");
    if let Some(bytes) = state.answers.get(&key) {
        return Ok(Some(Outcome::Body {
            bytes,
            etag,
            modified: None,
        }));
    }
    let Some(objects) = rendered(conn, state, &rows, q.omit_internal, rendering)? else {
        return Ok(None);
    };
    let links = page_links(
        format!("{first}{}", q.to_query_string(None)),
        this_page,
        next,
    );
    let tail = json!({ "pagination": { "elementsPerPage": size }, "links": links });
    let bytes = page_bytes(&objects, &tail);
    state.answers.put(key, bytes.clone());
    Ok(Some(Outcome::Body {
        bytes,
        etag,
        modified: None,
    }))
}

/// The `links` of a list page (OParl 1.1 §2.5 "Paginierung"): `first`,
/// `self`, and `next` unless this is the last page.
fn page_links(
    first: String,
    this_page: String,
    next: Option<String>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut links = serde_json::Map::new();
    links.insert("first".into(), first.into());
    links.insert("self".into(), this_page.into());
    if let Some(next) = next {
        links.insert("next".into(), next.into());
    }
    links
}

/// One member of a page's `data`: the JSON of one object, in one piece or
/// in two written one after the other (an object without its closing brace
/// and the members a feed entry adds, see `render::feed_suffix`).
trait PageEntry {
    fn pieces(&self) -> (&[u8], &[u8]);
}

impl PageEntry for Bytes {
    fn pieces(&self) -> (&[u8], &[u8]) {
        (self, &[])
    }
}

impl PageEntry for Vec<u8> {
    fn pieces(&self) -> (&[u8], &[u8]) {
        (self, &[])
    }
}

impl PageEntry for (&[u8], String) {
    fn pieces(&self) -> (&[u8], &[u8]) {
        (self.0, self.1.as_bytes())
    }
}

/// A list page's bytes: `{"data":[...]` with each entry as it is (already
/// JSON), then the members of `tail` (pagination, links, ...).
fn page_bytes(entries: &[impl PageEntry], tail: &serde_json::Value) -> Bytes {
    let tail = serde_json::to_vec(tail).expect("a JSON value always serialises");
    let mut body = BytesMut::with_capacity(
        entries
            .iter()
            .map(|e| e.pieces().0.len() + e.pieces().1.len() + 1)
            .sum::<usize>()
            + tail.len()
            + 16,
    );
    body.put_slice(b"{\"data\":[");
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 {
            body.put_u8(b',');
        }
        let (head, rest) = entry.pieces();
        body.put_slice(head);
        body.put_slice(rest);
    }
    body.put_slice(b"],");
    body.put_slice(&tail[1..]);
    body.freeze()
}

/// Turn an outcome into the answer: 304, or the body in the coding the
/// client accepts, with the cache headers and the content type of its
/// representation. `Vary: Accept` on everything that has more than one.
fn finish(
    state: &AppState,
    outcome: Outcome,
    headers: &hyper::HeaderMap,
    format: Format,
) -> Response<Body> {
    let mut response = coded(state, outcome, headers);
    let ok = response.status() == StatusCode::OK;
    let h = response.headers_mut();
    if ok && format != Format::Json {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        );
    }
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Accept-Encoding"),
    );
    response
}

fn coded(state: &AppState, outcome: Outcome, headers: &hyper::HeaderMap) -> Response<Body> {
    match outcome {
        Outcome::Fresh { etag, modified } => {
            let mut response = bare(StatusCode::NOT_MODIFIED);
            http_cache::set_cache_headers(response.headers_mut(), &etag, modified);
            response
        }
        Outcome::Body {
            bytes,
            etag,
            modified,
        } => {
            let coding = if bytes.len() >= http_cache::MIN_COMPRESS {
                http_cache::choose_coding(headers)
            } else {
                "identity"
            };
            let body = if coding == "identity" {
                bytes
            } else {
                let key = (etag.clone(), coding);
                state.answers.get(&key).unwrap_or_else(|| {
                    let coded = Bytes::from(http_cache::compress(&bytes, coding));
                    state.answers.put(key, coded.clone());
                    coded
                })
            };
            let mut response = json_bytes(StatusCode::OK, body);
            let h = response.headers_mut();
            http_cache::set_cache_headers(h, &http_cache::coded_etag(&etag, coding), modified);
            if coding != "identity" {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
            }
            response
        }
    }
}

/// A JSON answer with the headers every JSON answer carries.
pub fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    let bytes = serde_json::to_vec(value).expect("a JSON value always serialises");
    json_bytes(status, Bytes::from(bytes))
}

/// JSON bytes with the headers every JSON answer carries.
pub(crate) fn json_bytes(status: StatusCode, bytes: Bytes) -> Response<Body> {
    let length = HeaderValue::from(bytes.len());
    let mut response = Response::new(Body::new(bytes));
    *response.status_mut() = status;
    // Room for every header an answer gets (length, type, CORS, ETag,
    // Last-Modified, Cache-Control, Vary, coding) at once, instead of the
    // map growing three times on every answer.
    *response.headers_mut() = hyper::HeaderMap::with_capacity(12);
    let h = response.headers_mut();
    h.insert(header::CONTENT_LENGTH, length);
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// The Error object for an error, with its status.
pub fn error_response(e: &ApiError) -> Response<Body> {
    let mut response = json_response(e.status, &e.body());
    if e.status == StatusCode::METHOD_NOT_ALLOWED {
        response.headers_mut().insert(
            header::ALLOW,
            HeaderValue::from_static("GET, HEAD, OPTIONS"),
        );
    }
    if e.status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    }
    response
}

/// The error as the client wants it: the Error object, or for a browser a
/// page with its message and the same status.
fn error_answer(state: &AppState, e: &ApiError, wants: &negotiate::Wants) -> Response<Body> {
    let mut response = error_response(e);
    if wants.page() {
        let page = crate::html::layout::error(&state.urls, e.status.as_u16(), &e.message);
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(Format::Html.content_type()),
        );
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(page.len()));
        *response.body_mut() = Body::new(Bytes::from(page));
    }
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

/// The stylesheet or icon of the pages: its path names its content, so it
/// may be kept for a year.
fn asset(content_type: &'static str, text: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::new(Bytes::from_static(text.as_bytes())));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(text.len()));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}

/// A text answer outside the API (robots.txt, sitemaps).
fn text_response(content_type: &'static str, text: String) -> Response<Body> {
    let mut response = bare(StatusCode::OK);
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(text.len()));
    *response.body_mut() = Body::new(Bytes::from(text));
    response
}

/// 302 to where a resource is (the System from the host's root).
fn found(url: &str) -> Response<Body> {
    let mut response = bare(StatusCode::FOUND);
    if let Ok(value) = HeaderValue::from_str(url) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// An answer without a body, with the CORS header every answer carries.
fn bare(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::default());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// 301 to the canonical spelling, keeping the query string. No body: an
/// Error object may only come with an error status.
fn redirect(url: &str, query: Option<&str>) -> Response<Body> {
    let target = match query {
        Some(q) => format!("{url}?{q}"),
        None => url.to_string(),
    };
    let mut response = bare(StatusCode::MOVED_PERMANENTLY);
    let h = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&target) {
        h.insert(header::LOCATION, value);
    }
    response
}

/// CORS preflight and plain OPTIONS: what may be asked, no body. No
/// `Access-Control-Allow-Methods` (spec §2.6 CORS: SHOULD NOT be set).
fn options_response() -> Response<Body> {
    let mut response = bare(StatusCode::NO_CONTENT);
    let h = response.headers_mut();
    h.insert(
        header::ALLOW,
        HeaderValue::from_static("GET, HEAD, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    response
}
