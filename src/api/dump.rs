//! Serving the bulk dumps (built by `crate::dumps`): the latest file of the
//! whole store or of one Body, with `Content-Length`, a strong ETag from its
//! SHA-256, `Repr-Digest` (RFC 9530), the revision it shows in
//! `Dump-Revision`, and single-range requests so that a broken download
//! resumes (`If-Range` with the ETag guards against a newer dump).

use super::error::ApiError;
use super::files::{byte_headers, requested_range};
use super::http_cache::Conditions;
use super::{AppState, Body};
use crate::model::Kind;
use crate::store::read;
use bytes::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};
use std::io::{Read, Seek, SeekFrom};

pub(super) async fn serve(
    state: &AppState,
    body: Option<i64>,
    headers: &HeaderMap,
) -> Result<Response<Body>, ApiError> {
    let url = state.urls.dump(body);
    let Some(dumps) = &state.dumps else {
        return Err(ApiError::not_found(url));
    };
    if let Some(pk) = body {
        let head = state.db.run(move |conn| read::head(conn, pk)).await?;
        if head.is_none_or(|h| h.kind != Kind::Body.code() || h.deleted) {
            return Err(ApiError::not_found(url));
        }
    }
    let Some(file) = dumps.get(body) else {
        let e = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Der Gesamtabzug wird gerade erstellt. Bitte später erneut versuchen.",
            format!("{url}: no dump has been built yet"),
        );
        let mut response = super::error_response(&e);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        return Ok(response);
    };
    let etag = format!("\"{}\"", &file.sha256[..32]);
    let mut response = Response::new(Body::default());
    let h = response.headers_mut();
    let value = |s: &str| HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static("-"));
    byte_headers(h, &etag);
    h.insert("dump-revision", value(&file.revision.to_string()));
    h.insert(
        "repr-digest",
        value(&format!("sha-256=:{}:", base64(&hex_bytes(&file.sha256)))),
    );
    if Conditions::of(headers).fresh(&etag, None) {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        return Ok(response);
    }
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/gzip"),
    );
    let name = match body {
        Some(pk) => format!("oparl-body-{pk}-r{}.jsonl.gz", file.revision),
        None => format!("oparl-r{}.jsonl.gz", file.revision),
    };
    h.insert(
        header::CONTENT_DISPOSITION,
        value(&format!("attachment; filename=\"{name}\"")),
    );
    let if_range = headers
        .get(header::IF_RANGE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v == etag);
    let (status, start, len) = requested_range(h, headers, file.size, if_range);
    // The file is read as it was opened: a newer dump renamed over it
    // meanwhile does not mix into this answer.
    let path = file.path.clone();
    let bytes = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
        let mut f = std::fs::File::open(&path)?;
        f.seek(SeekFrom::Start(start))?;
        let mut out = vec![0; len as usize];
        f.read_exact(&mut out)?;
        Ok(out)
    })
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Der Gesamtabzug ist nicht lesbar.",
            e.to_string(),
        )
    })?
    .map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Der Gesamtabzug wird gerade erneuert. Bitte erneut versuchen.",
            format!("{}: {e}", file.path.display()),
        )
    })?;
    h.insert(header::CONTENT_LENGTH, value(&bytes.len().to_string()));
    *response.status_mut() = status;
    *response.body_mut() = Body::new(Bytes::from(bytes));
    Ok(response)
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect()
}

/// Standard base64 with padding (RFC 4648 §4), for `Repr-Digest`.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_of_rfc_4648_test_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(super::base64(input.as_bytes()), expected);
        }
    }
}
