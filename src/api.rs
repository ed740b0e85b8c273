//! The HTTP API: takes a request, answers it. Routing is in `route`, query
//! parsing in `query`, the Error object in `error`, File bytes in `files`.
//! Every JSON answer, errors included, carries `Content-Type:
//! application/json; charset=utf-8` and `Access-Control-Allow-Origin: *`.

pub mod error;
pub mod files;
pub mod query;
pub mod route;

use crate::db::{AnyConnection, Db};
use crate::model::{Kind, ListKind};
use crate::render::{self, Options};
use crate::store::read;
use crate::urls::Urls;
use bytes::Bytes;
use error::ApiError;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use query::ListQuery;
use route::{Resolved, Route};
use serde_json::{json, Value};
use std::sync::Arc;

/// The body type of every answer.
pub type Body = Full<Bytes>;

/// Longest request target we read; longer ones get a 414.
const MAX_URI_LENGTH: usize = 4096;

/// What every request handler shares.
#[derive(Debug)]
pub struct AppState {
    pub db: Db,
    pub urls: Urls,
}

/// Answer one request.
pub async fn handle<B>(state: Arc<AppState>, req: Request<B>) -> Response<Body> {
    let head = req.method() == Method::HEAD;
    let mut response = match answer(&state, &req).await {
        Ok(response) => response,
        Err(e) => error_response(&e),
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

async fn answer<B>(state: &Arc<AppState>, req: &Request<B>) -> Result<Response<Body>, ApiError> {
    match *req.method() {
        Method::GET | Method::HEAD => {}
        Method::OPTIONS => return Ok(options_response()),
        ref other => return Err(ApiError::method_not_allowed(other)),
    }
    let uri = req.uri();
    if uri.to_string().len() > MAX_URI_LENGTH {
        return Err(ApiError::new(
            StatusCode::URI_TOO_LONG,
            "Die angeforderte Adresse ist zu lang.",
            format!("request targets are limited to {MAX_URI_LENGTH} bytes"),
        ));
    }
    let route = match route::resolve(&state.urls, uri.path()) {
        Resolved::Found(route) => route,
        Resolved::Redirect(url) => return Ok(redirect(&url, uri.query())),
        Resolved::NotFound => return Err(ApiError::not_found(uri.path())),
    };
    let query = uri.query().map(str::to_string);
    match route {
        Route::FileContent(pk, disposition) => {
            files::serve(state, pk, disposition, req.headers()).await
        }
        Route::List(list, owner) => {
            let q = ListQuery::parse(query.as_deref())?;
            let st = Arc::clone(state);
            let page = run(&state.db, move |conn| {
                list_page(conn, &st.urls, list, owner, &q)
            })
            .await?;
            Ok(json_response(StatusCode::OK, &page))
        }
        Route::System | Route::Object(..) => {
            let omit_internal = ListQuery::parse_object(query.as_deref())?;
            let st = Arc::clone(state);
            let object = run(&state.db, move |conn| {
                one_object(conn, &st.urls, route, omit_internal)
            })
            .await?;
            Ok(json_response(StatusCode::OK, &object))
        }
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
    urls: &Urls,
    route: Route,
    omit_internal: bool,
) -> Result<Value, ApiError> {
    let row = match route {
        Route::System => read::system(conn)?,
        Route::Object(kind, pk) => read::object(conn, pk)?.filter(|row| row.kind() == kind),
        _ => None,
    };
    let row = row.ok_or_else(|| ApiError::not_found(route.url(urls)))?;
    let opts = Options { omit_internal };
    Ok(render::standalone(conn, urls, vec![row], opts)?.remove(0))
}

/// One page of a list: `{data, pagination, links}` (digest §5.1).
fn list_page(
    conn: &mut AnyConnection,
    urls: &Urls,
    list: ListKind,
    owner: i64,
    q: &ListQuery,
) -> Result<Value, ApiError> {
    let owner_kind = match list {
        ListKind::Bodies => None,
        ListKind::Body(_) => Some(Kind::Body),
        ListKind::OrganizationMeetings | ListKind::OrganizationConsultations => {
            Some(Kind::Organization)
        }
    };
    if let Some(kind) = owner_kind {
        if !read::object(conn, owner)?.is_some_and(|row| row.kind() == kind) {
            return Err(ApiError::not_found(urls.list(list, owner)));
        }
    }
    let size = q.page_size();
    let mut rows = read::list_page(conn, list, Some(owner), &q.filter, q.after, size + 1)?;
    let more = rows.len() as i64 > size;
    rows.truncate(size as usize);
    let last = rows.last().map(|r| r.pk);
    let data = render::standalone(
        conn,
        urls,
        rows,
        Options {
            omit_internal: q.omit_internal,
        },
    )?;
    let first = urls.list(list, owner);
    let mut links = serde_json::Map::new();
    links.insert(
        "first".into(),
        format!("{first}{}", q.to_query_string(None)).into(),
    );
    links.insert(
        "self".into(),
        format!("{first}{}", q.to_query_string(q.after)).into(),
    );
    if more {
        links.insert(
            "next".into(),
            format!("{first}{}", q.to_query_string(last)).into(),
        );
    }
    Ok(json!({
        "data": data,
        "pagination": { "elementsPerPage": size },
        "links": links,
    }))
}

/// A JSON answer with the headers every JSON answer carries.
pub fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    let bytes = serde_json::to_vec(value).expect("a JSON value always serialises");
    let length = HeaderValue::from(bytes.len());
    let mut response = Response::new(Body::new(Bytes::from(bytes)));
    *response.status_mut() = status;
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
    response
}

/// 301 to the canonical spelling, keeping the query string. No body: an
/// Error object may only come with an error status.
fn redirect(url: &str, query: Option<&str>) -> Response<Body> {
    let target = match query {
        Some(q) => format!("{url}?{q}"),
        None => url.to_string(),
    };
    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::MOVED_PERMANENTLY;
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if let Ok(value) = HeaderValue::from_str(&target) {
        h.insert(header::LOCATION, value);
    }
    response
}

/// CORS preflight and plain OPTIONS: what may be asked, no body. No
/// `Access-Control-Allow-Methods` (digest §8.3: SHOULD NOT be set).
fn options_response() -> Response<Body> {
    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let h = response.headers_mut();
    h.insert(
        header::ALLOW,
        HeaderValue::from_static("GET, HEAD, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
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
