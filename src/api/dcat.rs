//! `GET {base}/dcat`: the DCAT-AP.de catalogue (built by `crate::dcat`) as
//! JSON-LD (`application/ld+json`, the default) or Turtle (`text/turtle`),
//! negotiated by `Accept` (RFC 9110 §12.5.1); an `Accept` that admits
//! neither gets 406 with the Error object.
//!
//! The catalogue shows the store and the dump files, which change apart
//! from it. Its ETag is computed from both (the store's revision, and each
//! dump's revision, SHA-256 and build time) and the representation, before
//! anything is loaded, so a revalidation (`If-None-Match`) is a 304 at the
//! cost of one query; the last rendering of each representation is kept
//! under its ETag and served again until either changes.

use super::error::ApiError;
use super::http_cache::{Conditions, Tag};
use super::{AppState, Body};
use crate::dumps::DumpFile;
use crate::store::read;
use bytes::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};
use std::collections::HashMap;
use std::sync::Mutex;

/// The last rendering of each representation: (ETag, bytes).
#[derive(Default)]
pub(super) struct Kept(Mutex<HashMap<Representation, (String, Bytes)>>);

impl Kept {
    fn get(&self, representation: Representation, etag: &str) -> Option<Bytes> {
        let kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        kept.get(&representation)
            .filter(|(tag, _)| tag == etag)
            .map(|(_, bytes)| bytes.clone())
    }

    fn put(&self, representation: Representation, etag: String, bytes: Bytes) {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        kept.insert(representation, (etag, bytes));
    }
}

/// The representations of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Representation {
    JsonLd,
    Turtle,
}

impl Representation {
    /// In the order of preference when the client has none.
    const ALL: [Representation; 2] = [Representation::JsonLd, Representation::Turtle];

    fn content_type(self) -> &'static str {
        match self {
            Representation::JsonLd => "application/ld+json; charset=utf-8",
            Representation::Turtle => "text/turtle; charset=utf-8",
        }
    }

    /// The media types it answers to. JSON-LD is JSON, so a client that
    /// asks for JSON gets it.
    fn media_types(self) -> &'static [&'static str] {
        match self {
            Representation::JsonLd => &["application/ld+json", "application/json"],
            Representation::Turtle => &["text/turtle"],
        }
    }

    /// A short name for cache keys and ETags.
    pub fn name(self) -> &'static str {
        match self {
            Representation::JsonLd => "jsonld",
            Representation::Turtle => "turtle",
        }
    }
}

/// The representation an `Accept` value asks for; None when it admits
/// none of them. Each representation gets the quality of the most specific
/// media range that matches one of its media types (RFC 9110 §12.5.1); the
/// highest quality wins, a tie goes to JSON-LD. No `Accept` at all (or an
/// empty one) accepts anything.
pub fn negotiate(accept: Option<&str>) -> Option<Representation> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Some(Representation::JsonLd);
    };
    super::negotiate::Accept::parse(accept)
        .best(Representation::ALL.iter().map(|r| (*r, r.media_types())))
}

/// The 406 for an `Accept` we cannot serve.
fn not_acceptable(accept: &str) -> Response<Body> {
    let e = ApiError::new(
        StatusCode::NOT_ACCEPTABLE,
        "Der Datenkatalog ist nur als JSON-LD oder Turtle erhältlich.",
        format!("Accept: {accept} admits neither application/ld+json nor text/turtle"),
    );
    let mut response = super::error_response(&e);
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

pub(super) async fn serve(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Response<Body>, ApiError> {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let given = headers
        .contains_key(header::ACCEPT)
        .then_some(accept.as_str());
    let Some(representation) = negotiate(given) else {
        return Ok(not_acceptable(&accept));
    };
    // The revision is read before the catalogue is loaded: what is loaded
    // is at least as new as the key it is kept under, and a later change
    // makes a new key.
    let revision = state.db.run(read::revision).await?;
    let files = state.dumps.as_ref().map(|d| d.all()).unwrap_or_default();
    let etag = etag(state, representation, revision, &files);
    if Conditions::of(headers).fresh(&etag, None) {
        let mut response = super::bare(StatusCode::NOT_MODIFIED);
        catalogue_headers(response.headers_mut(), &etag);
        return Ok(response);
    }
    let bytes = match state.catalogue.get(representation, &etag) {
        Some(bytes) => bytes,
        None => {
            let bytes = render(state, representation, files).await?;
            state
                .catalogue
                .put(representation, etag.clone(), bytes.clone());
            bytes
        }
    };
    let mut response = super::json_bytes(StatusCode::OK, bytes);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(representation.content_type()),
    );
    catalogue_headers(h, &etag);
    Ok(response)
}

/// The ETag of the catalogue in one representation: the store's revision,
/// every dump file, and the settings it is built with.
fn etag(
    state: &AppState,
    representation: Representation,
    revision: i64,
    files: &HashMap<Option<i64>, DumpFile>,
) -> String {
    let mut tag = Tag::new(&state.urls.system())
        .add("dcat")
        .add(representation.name())
        .add(format!("{:?}", state.dcat))
        .number(revision);
    let mut files: Vec<_> = files.iter().collect();
    files.sort_by_key(|(body, _)| **body);
    for (body, file) in files {
        tag = tag
            .number(body.unwrap_or(0))
            .number(file.revision)
            .add(&file.sha256)
            .number(file.built);
    }
    tag.finish()
}

/// Load and render the catalogue.
async fn render(
    state: &AppState,
    representation: Representation,
    mut files: HashMap<Option<i64>, DumpFile>,
) -> Result<Bytes, ApiError> {
    let mut input = state.db.run(crate::dcat::load).await?;
    // Only the dumps of the whole store and of the Bodies it describes.
    for key in std::iter::once(None).chain(input.bodies.iter().map(|b| Some(b.pk))) {
        if let Some(file) = files.remove(&key) {
            input.dumps.insert(key, file);
        }
    }
    let graph = crate::dcat::catalog(&state.urls, &state.dcat, &input);
    let bytes = match representation {
        Representation::JsonLd => {
            serde_json::to_vec_pretty(&graph).expect("a JSON value always serialises")
        }
        Representation::Turtle => crate::dcat::turtle::write(&graph).into_bytes(),
    };
    Ok(Bytes::from(bytes))
}

/// What a 200 and a 304 of the catalogue both carry. `no-cache`: a cache
/// may keep it but must ask again, since a new dump changes it.
fn catalogue_headers(h: &mut HeaderMap, etag: &str) {
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
}

#[cfg(test)]
mod tests {
    use super::{negotiate, Representation::*};

    #[test]
    fn accept_picks_the_representation() {
        for (accept, expected) in [
            (None, Some(JsonLd)),
            (Some(""), Some(JsonLd)),
            (Some("*/*"), Some(JsonLd)),
            (Some("text/turtle"), Some(Turtle)),
            (Some("text/*"), Some(Turtle)),
            (Some("TEXT/Turtle; charset=utf-8"), Some(Turtle)),
            (Some("application/ld+json"), Some(JsonLd)),
            (Some("application/json"), Some(JsonLd)),
            (Some("application/*"), Some(JsonLd)),
            (Some("application/ld+json;q=0.5, text/turtle"), Some(Turtle)),
            (Some("text/turtle;q=0.5, */*;q=0.6"), Some(JsonLd)),
            (Some("text/turtle, */*;q=0"), Some(Turtle)),
            (Some("*/*;q=0.1, text/turtle;q=0"), Some(JsonLd)),
            // A browser: HTML first, anything else after it.
            (
                Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
                Some(JsonLd),
            ),
            (Some("text/html"), None),
            (Some("application/rdf+xml, text/n3"), None),
            (Some("text/turtle;q=0"), None),
            (Some("*/*;q=0"), None),
        ] {
            assert_eq!(negotiate(accept), expected, "{accept:?}");
        }
    }
}
