//! HTTP caching and compression of JSON answers: strong ETags computed from
//! what the answer shows (so a 304 needs no rendering), Last-Modified where
//! one time exists, `Cache-Control: public, no-cache` (proxies may keep an
//! answer but must revalidate it), and gzip or brotli by Accept-Encoding,
//! with `Vary: Accept-Encoding`.

use hyper::header::{self, HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};
use std::io::Write;

/// Builds an ETag from the parts an answer's bytes depend on.
pub struct Tag(Sha256);

impl Tag {
    /// Every tag starts from the software version and the base URL: both
    /// change the bytes of every answer.
    pub fn new(base: &str) -> Tag {
        let mut h = Sha256::new();
        h.update(env!("CARGO_PKG_VERSION").as_bytes());
        h.update(base.as_bytes());
        Tag(h)
    }

    // A step of a builder, not arithmetic: no `Add` to implement.
    #[allow(clippy::should_implement_trait)]
    pub fn add(mut self, part: impl AsRef<[u8]>) -> Tag {
        self.0.update(part.as_ref());
        self.0.update([0]);
        self
    }

    pub fn number(self, n: i64) -> Tag {
        self.add(n.to_le_bytes())
    }

    /// The quoted strong ETag.
    pub fn finish(self) -> String {
        let digest = self.0.finalize();
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        format!("\"{hex}\"")
    }
}

/// What a request asks about the copy it already holds: the one
/// implementation of conditional requests, for JSON answers and File bytes.
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    if_none_match: Option<String>,
    if_modified_since: Option<i64>,
}

impl Conditions {
    pub fn of(headers: &HeaderMap) -> Conditions {
        Conditions {
            if_none_match: headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            if_modified_since: headers
                .get(header::IF_MODIFIED_SINCE)
                .and_then(|v| v.to_str().ok())
                .and_then(crate::time::parse_http_date),
        }
    }

    /// Whether the client's copy is current (RFC 9110 §13.2.2:
    /// If-None-Match wins over If-Modified-Since).
    ///
    /// A time has one-second resolution: a copy dated the second the
    /// object last changed in may predate a second change in that same
    /// second, so a date counts only once that second is over (see
    /// [`validating_date`]).
    pub fn fresh(&self, etag: &str, modified: Option<i64>) -> bool {
        if let Some(tags) = &self.if_none_match {
            return names(tags, etag);
        }
        matches!(
            (self.if_modified_since, modified.and_then(validating_date)),
            (Some(since), Some(m)) if m <= since
        )
    }
}

/// Whether an If-None-Match value names this ETag (or `*`). A compressed
/// variant's tag carries a suffix; it matches its identity tag too.
fn names(tags: &str, etag: &str) -> bool {
    let bare = etag.trim_matches('"');
    tags.split(',')
        .map(|t| t.trim().trim_start_matches("W/").trim_matches('"'))
        .any(|t| {
            t == "*"
                || t == bare
                || t.strip_prefix(bare)
                    .is_some_and(|rest| rest == "-br" || rest == "-gzip")
        })
}

/// The coding to answer with: brotli if asked for, else gzip, else none.
pub fn choose_coding(headers: &HeaderMap) -> &'static str {
    let accepted = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut br = false;
    let mut gzip = false;
    for part in accepted.split(',') {
        let mut it = part.split(';');
        let name = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let refused = it.any(|p| {
            let p = p.trim().replace(' ', "");
            p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
        });
        if refused {
            continue;
        }
        match name.as_str() {
            "br" => br = true,
            "gzip" | "x-gzip" => gzip = true,
            "*" => br = true,
            _ => {}
        }
    }
    if br {
        "br"
    } else if gzip {
        "gzip"
    } else {
        "identity"
    }
}

/// Small answers are not worth compressing.
pub const MIN_COMPRESS: usize = 512;

/// Compress `body` with a coding from [`choose_coding`].
pub fn compress(body: &[u8], coding: &str) -> Vec<u8> {
    match coding {
        "br" => {
            let mut out = Vec::with_capacity(body.len() / 4);
            {
                // Quality 5 compresses JSON far better than gzip at a cost
                // that still suits answering on the fly.
                let mut w = brotli::CompressorWriter::new(&mut out, 16 * 1024, 5, 22);
                w.write_all(body).expect("writing to memory");
            }
            out
        }
        "gzip" => {
            let mut w = flate2::write::GzEncoder::new(
                Vec::with_capacity(body.len() / 4),
                flate2::Compression::fast(),
            );
            w.write_all(body).expect("writing to memory");
            w.finish().expect("writing to memory")
        }
        _ => body.to_vec(),
    }
}

/// The ETag of a coded variant.
pub fn coded_etag(etag: &str, coding: &str) -> String {
    match coding {
        "identity" => etag.to_string(),
        c => format!("\"{}-{c}\"", etag.trim_matches('"')),
    }
}

/// A modification time that may serve as a validator: one whose second is
/// over. While it lasts, another change can follow with the same time, so
/// a `Last-Modified` of it would let a client keep a stale copy (RFC 9110
/// §8.8.2.2 makes such a date a weak validator); the ETag, which keys on
/// the store's revision, still validates exactly.
pub fn validating_date(modified: i64) -> Option<i64> {
    (modified < crate::time::now()).then_some(modified)
}

/// Headers every cacheable JSON answer carries. `Last-Modified` only once
/// its second is over (see [`validating_date`]).
pub fn set_cache_headers(h: &mut HeaderMap, etag: &str, last_modified: Option<i64>) {
    // The values of the last answer on this thread, kept: a hot object is
    // answered many times in a row, and formatting the date and copying
    // the tag into a header value were a tenth of such an answer's work.
    struct Last {
        etag: String,
        etag_value: Option<HeaderValue>,
        date: i64,
        date_value: Option<HeaderValue>,
    }
    thread_local! {
        static LAST: std::cell::RefCell<Last> = const {
            std::cell::RefCell::new(Last { etag: String::new(), etag_value: None, date: i64::MIN, date_value: None })
        };
    }
    let date = last_modified.and_then(validating_date);
    let (tag, date) = LAST.with(|last| {
        let last = &mut *last.borrow_mut();
        if last.etag != etag || last.etag_value.is_none() {
            last.etag = etag.to_string();
            last.etag_value = HeaderValue::from_str(etag).ok();
        }
        let date = date.and_then(|t| {
            if last.date != t || last.date_value.is_none() {
                last.date = t;
                last.date_value = HeaderValue::from_str(&crate::time::format_http_date(t)).ok();
            }
            last.date_value.clone()
        });
        (last.etag_value.clone(), date)
    });
    if let Some(v) = tag {
        h.insert(header::ETAG, v);
    }
    if let Some(v) = date {
        h.insert(header::LAST_MODIFIED, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, no-cache"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
        h
    }

    #[test]
    fn codings() {
        assert_eq!(
            choose_coding(&headers("accept-encoding", "gzip, deflate, br")),
            "br"
        );
        assert_eq!(choose_coding(&headers("accept-encoding", "gzip")), "gzip");
        assert_eq!(
            choose_coding(&headers("accept-encoding", "br;q=0, gzip")),
            "gzip"
        );
        assert_eq!(choose_coding(&HeaderMap::new()), "identity");
        assert_eq!(
            choose_coding(&headers("accept-encoding", "identity")),
            "identity"
        );
    }

    #[test]
    fn etags_match_their_variants() {
        let tag = Tag::new("b").number(1).finish();
        let fresh = |h: HeaderMap| Conditions::of(&h).fresh(&tag, None);
        assert!(fresh(headers("if-none-match", &tag)));
        assert!(fresh(headers("if-none-match", &coded_etag(&tag, "br"))));
        assert!(fresh(headers("if-none-match", "*")));
        assert!(!fresh(headers("if-none-match", "\"other\"")));
        let since = Conditions::of(&headers(
            "if-modified-since",
            "Thu, 01 Jan 1970 00:00:10 GMT",
        ));
        assert!(since.fresh(&tag, Some(10)) && !since.fresh(&tag, Some(11)));
        assert_ne!(tag, Tag::new("b").number(2).finish());
    }

    #[test]
    fn compressed_bodies_round_trip() {
        use std::io::Read;
        let body = serde_json::to_vec(&serde_json::json!({"data": vec!["Straße"; 200]})).unwrap();
        let gz = compress(&body, "gzip");
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, body);
        let br = compress(&body, "br");
        let mut out = Vec::new();
        brotli::Decompressor::new(&br[..], 4096)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, body);
        assert!(br.len() < body.len() / 5);
    }
}
