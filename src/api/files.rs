//! The bytes of a File at its `accessUrl` (inline) and `downloadUrl`
//! (attachment), with the HTTP features of spec §2.7 File access:
//! Content-Length, ETag, Last-Modified, conditional GET (304), Range (206)
//! and 410 for a deleted File.

use super::error::ApiError;
use super::http_cache::{self, Conditions};
use super::route::Disposition;
use super::{AppState, Body};
use crate::model::Kind;
use crate::store::read;
use crate::text::{ascii_fallback, hex};
use crate::time::{format_http_date, parse_http_date};
use bytes::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::{Map, Value};
use sha2::{Digest, Sha512};
use std::sync::Arc;

/// A File's bytes and what its headers are made of.
struct Content {
    bytes: Bytes,
    mime_type: String,
    file_name: String,
    etag: String,
    modified: i64,
}

pub async fn serve(
    state: &Arc<AppState>,
    pk: i64,
    disposition: Disposition,
    headers: &HeaderMap,
) -> Result<Response<Body>, ApiError> {
    let url = state.urls.file_access(pk);
    let loaded = state
        .db
        .run(move |conn| {
            let Some(row) = read::object(conn, pk)?.filter(|r| r.kind() == Kind::File) else {
                return Ok(Err(ApiError::not_found(url)));
            };
            if row.deleted {
                return Ok(Err(ApiError::gone(format!("file {url}"))));
            }
            let Some(bytes) = read::file_bytes(conn, pk)? else {
                return Ok(Err(ApiError::not_found(url)));
            };
            Ok(Ok(content(pk, &row.fields, row.modified, bytes)))
        })
        .await??;
    Ok(respond(&loaded, disposition, headers))
}

fn content(pk: i64, fields: &str, modified: i64, bytes: Vec<u8>) -> Content {
    let fields: Map<String, Value> = serde_json::from_str(fields).unwrap_or_default();
    let text = |key: &str| {
        fields
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    // The stored checksum names the bytes, if it is one: hex digits only
    // (the ETag is cut from it and goes into a header).
    let checksum = match text("sha512Checksum") {
        Some(sum) if sum.bytes().all(|b| b.is_ascii_hexdigit()) => sum.to_string(),
        _ => hex(&Sha512::digest(&bytes)),
    };
    Content {
        mime_type: text("mimeType")
            .filter(|m| HeaderValue::from_str(m).is_ok())
            .unwrap_or("application/octet-stream")
            .to_string(),
        file_name: text("fileName").map_or_else(|| format!("datei-{pk}"), str::to_string),
        etag: format!("\"{}\"", &checksum[..checksum.len().min(32)]),
        modified,
        bytes: Bytes::from(bytes),
    }
}

fn respond(c: &Content, disposition: Disposition, headers: &HeaderMap) -> Response<Body> {
    let mut response = Response::new(Body::default());
    let h = response.headers_mut();
    byte_headers(h, &c.etag);
    if let Some(t) = http_cache::validating_date(c.modified) {
        h.insert(header::LAST_MODIFIED, value(&format_http_date(t)));
    }
    if Conditions::of(headers).fresh(&c.etag, Some(c.modified)) {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        return response;
    }
    h.insert(header::CONTENT_TYPE, value(&c.mime_type));
    h.insert(
        header::CONTENT_DISPOSITION,
        value(&content_disposition(disposition, &c.file_name)),
    );
    let (status, start, len) =
        requested_range(h, headers, c.bytes.len() as u64, if_range_holds(c, headers));
    let body = c.bytes.slice(start as usize..(start + len) as usize);
    h.insert(header::CONTENT_LENGTH, value(&body.len().to_string()));
    *response.status_mut() = status;
    *response.body_mut() = Body::new(body);
    response
}

fn value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// A Range applies only while If-Range (an ETag or a date) still matches.
fn if_range_holds(c: &Content, headers: &HeaderMap) -> bool {
    match headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(v) if v.starts_with('"') => v == c.etag,
        Some(v) => {
            parse_http_date(v).is_some()
                && parse_http_date(v) == http_cache::validating_date(c.modified)
        }
    }
}

/// Headers every answer of bytes carries (File bytes, the dumps): the
/// strong ETag, `Accept-Ranges`, CORS and `Cache-Control`.
pub(crate) fn byte_headers(h: &mut HeaderMap, etag: &str) {
    h.insert(header::ETAG, value(etag));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, no-cache"),
    );
}

/// What part of `total` bytes a request asks for: (status, first byte,
/// length), with `Content-Range` set where it applies. A `Range` counts
/// only while `If-Range` still names these bytes (`if_range_holds`).
pub(crate) fn requested_range(
    h: &mut HeaderMap,
    headers: &HeaderMap,
    total: u64,
    if_range_holds: bool,
) -> (StatusCode, u64, u64) {
    let range = headers
        .get(header::RANGE)
        .filter(|_| if_range_holds)
        .and_then(|v| v.to_str().ok())
        .map(|v| parse_range(v, total));
    match range {
        Some(RangeOutcome::Satisfiable(start, end)) => {
            h.insert(
                header::CONTENT_RANGE,
                value(&format!("bytes {start}-{end}/{total}")),
            );
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        Some(RangeOutcome::Unsatisfiable) => {
            h.insert(header::CONTENT_RANGE, value(&format!("bytes */{total}")));
            (StatusCode::RANGE_NOT_SATISFIABLE, 0, 0)
        }
        Some(RangeOutcome::Ignored) | None => (StatusCode::OK, 0, total),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum RangeOutcome {
    /// First and last byte, inclusive.
    Satisfiable(u64, u64),
    Unsatisfiable,
    /// Several ranges or a unit we do not know: the whole file is sent.
    Ignored,
}

/// One `bytes=` range: `a-b`, `a-` or `-n`.
fn parse_range(header: &str, total: u64) -> RangeOutcome {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeOutcome::Ignored;
    };
    if spec.contains(',') {
        return RangeOutcome::Ignored;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeOutcome::Ignored;
    };
    let (a, b) = (a.trim(), b.trim());
    let number = |s: &str| s.parse::<u64>().ok();
    let (start, end) = match (a.is_empty(), b.is_empty()) {
        (false, _) => {
            let Some(start) = number(a) else {
                return RangeOutcome::Ignored;
            };
            let end = if b.is_empty() {
                Some(u64::MAX)
            } else {
                number(b)
            };
            let Some(end) = end else {
                return RangeOutcome::Ignored;
            };
            if end < start {
                return RangeOutcome::Ignored;
            }
            (start, end.min(total.saturating_sub(1)))
        }
        (true, false) => {
            let Some(n) = number(b) else {
                return RangeOutcome::Ignored;
            };
            if n == 0 {
                return RangeOutcome::Unsatisfiable;
            }
            (total.saturating_sub(n), total.saturating_sub(1))
        }
        (true, true) => return RangeOutcome::Ignored,
    };
    if start >= total {
        return RangeOutcome::Unsatisfiable;
    }
    RangeOutcome::Satisfiable(start, end)
}

/// `inline` for accessUrl (never `attachment`), `attachment` first for
/// downloadUrl (spec §2.7; rules 61 and 63 of `oparl check`). The name goes
/// twice: as an ASCII fallback and, for umlauts and the like, RFC 8187
/// encoded.
pub fn content_disposition(disposition: Disposition, file_name: &str) -> String {
    let kind = match disposition {
        Disposition::Access => "inline",
        Disposition::Download => "attachment",
    };
    let ascii = ascii_fallback(file_name);
    if ascii == file_name {
        format!("{kind}; filename=\"{ascii}\"")
    } else {
        format!(
            "{kind}; filename=\"{ascii}\"; filename*=UTF-8''{}",
            rfc8187(file_name)
        )
    }
}

fn rfc8187(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(
            parse_range("bytes=0-9", 100),
            RangeOutcome::Satisfiable(0, 9)
        );
        assert_eq!(
            parse_range("bytes=90-", 100),
            RangeOutcome::Satisfiable(90, 99)
        );
        assert_eq!(
            parse_range("bytes=-10", 100),
            RangeOutcome::Satisfiable(90, 99)
        );
        assert_eq!(
            parse_range("bytes=95-200", 100),
            RangeOutcome::Satisfiable(95, 99)
        );
        assert_eq!(parse_range("bytes=100-", 100), RangeOutcome::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), RangeOutcome::Ignored);
        assert_eq!(parse_range("items=0-1", 100), RangeOutcome::Ignored);
        assert_eq!(parse_range("bytes=x-1", 100), RangeOutcome::Ignored);
    }

    #[test]
    fn dispositions_survive_umlauts() {
        assert_eq!(
            content_disposition(Disposition::Download, "Straßenbau Übersicht.pdf"),
            "attachment; filename=\"Strassenbau Uebersicht.pdf\"; filename*=UTF-8''Stra%C3%9Fenbau%20%C3%9Cbersicht.pdf"
        );
        assert_eq!(
            content_disposition(Disposition::Access, "a.pdf"),
            "inline; filename=\"a.pdf\""
        );
    }
}
