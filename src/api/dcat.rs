//! `GET {base}/dcat`: the DCAT-AP.de catalogue (built by `crate::dcat`) as
//! JSON-LD, `application/ld+json`. The catalogue lists the dump files as
//! they are at the moment, so it is read afresh for every request.

use super::error::ApiError;
use super::{AppState, Body};
use bytes::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};

pub(super) async fn serve(
    state: &AppState,
    _headers: &HeaderMap,
) -> Result<Response<Body>, ApiError> {
    let mut input = state.db.run(crate::dcat::load).await?;
    if let Some(dumps) = &state.dumps {
        for key in std::iter::once(None).chain(input.bodies.iter().map(|b| Some(b.pk))) {
            if let Some(file) = dumps.get(key) {
                input.dumps.insert(key, file);
            }
        }
    }
    let graph = crate::dcat::catalog(&state.urls, &state.dcat, &input);
    let bytes = serde_json::to_vec_pretty(&graph).expect("a JSON value always serialises");
    let mut response = super::json_bytes(StatusCode::OK, Bytes::from(bytes));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/ld+json; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}
