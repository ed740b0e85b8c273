//! Serving the bulk dumps (built by `crate::dumps`): the latest file of the
//! whole store or of one Body, with `Content-Length`, a strong ETag from its
//! SHA-256, `Repr-Digest` (RFC 9530), the revision it shows in
//! `Dump-Revision`, and single-range requests so that a broken download
//! resumes (`If-Range` with the ETag guards against a newer dump).
//!
//! The file is opened once at the start and streamed from that handle in
//! chunks (`Body::file`), so the memory a download takes does not grow with
//! the dump, and a newer dump renamed over the path meanwhile does not mix
//! in. A dump is gzip already: it is sent as it is, never coded again.

use super::error::ApiError;
use super::files::{byte_headers, requested_range};
use super::http_cache::Conditions;
use super::{AppState, Body};
use crate::dumps::{DumpFile, Dumps};
use crate::model::Kind;
use crate::store::read;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};

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
    let Some((file, handle)) = open_latest(dumps, body).await? else {
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
    h.insert(header::CONTENT_LENGTH, value(&len.to_string()));
    *response.status_mut() = status;
    *response.body_mut() = Body::file(handle, start, len);
    Ok(response)
}

/// The latest dump and its file, opened. A dump renamed over the path
/// between looking it up and opening it shows as a length other than the
/// one looked up; then both are done again.
async fn open_latest(
    dumps: &Dumps,
    body: Option<i64>,
) -> Result<Option<(DumpFile, std::fs::File)>, ApiError> {
    let mut last_error = String::new();
    for _ in 0..3 {
        let Some(file) = dumps.get(body) else {
            return Ok(None);
        };
        let path = file.path.clone();
        let opened = tokio::task::spawn_blocking(move || {
            let handle = std::fs::File::open(&path)?;
            let length = handle.metadata()?.len();
            Ok::<_, std::io::Error>((handle, length))
        })
        .await
        .map_err(std::io::Error::other)
        .and_then(|opened| opened);
        match opened {
            Ok((handle, length)) if length == file.size => return Ok(Some((file, handle))),
            Ok((_, length)) => {
                last_error = format!(
                    "{}: {length} bytes, not {} (replaced meanwhile)",
                    file.path.display(),
                    file.size
                )
            }
            Err(e) => last_error = format!("{}: {e}", file.path.display()),
        }
    }
    Err(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Der Gesamtabzug wird gerade erneuert. Bitte erneut versuchen.",
        last_error,
    ))
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
