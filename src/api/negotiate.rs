//! Content negotiation: which representation of a resource a request gets.
//! Worked out once per request ([`Wants::of`]) and then asked per route
//! ([`Wants::pick`]), since routes offer different representations (a
//! Meeting also as a calendar, a list of papers also as a feed).
//!
//! The rule (RFC 9110 §12.5.1): each offered representation gets the
//! quality of the most specific media range of `Accept` that matches one
//! of its media types; the highest wins and a tie goes to JSON. So every
//! API client (no `Accept`, `*/*`, `application/json`) keeps getting JSON,
//! and a browser, which ranks `text/html` above `*/*`, gets a page.
//! `?format=json|html|atom|ics` overrides `Accept`.

use super::error::ApiError;
use hyper::header::{self, HeaderMap};

/// The representations the server renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Json,
    Html,
    Atom,
    Calendar,
}

impl Format {
    /// The value of `?format=` that asks for it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Html => "html",
            Format::Atom => "atom",
            Format::Calendar => "ics",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            Format::Html => "text/html; charset=utf-8",
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Calendar => "text/calendar; charset=utf-8",
        }
    }

    /// The media types it answers to.
    fn media_types(self) -> &'static [&'static str] {
        match self {
            Format::Json => &["application/json"],
            Format::Html => &["text/html", "application/xhtml+xml"],
            Format::Atom => &["application/atom+xml"],
            Format::Calendar => &["text/calendar"],
        }
    }

    fn by_name(name: &str) -> Option<Format> {
        [Format::Json, Format::Html, Format::Atom, Format::Calendar]
            .into_iter()
            .find(|f| f.name() == name)
    }
}

/// An `Accept` value, read range by range when asked: a browser sends it
/// with every request, and taking it apart into owned pieces cost more
/// than the rest of a cached answer.
#[derive(Debug, Clone, Default)]
pub struct Accept(String);

impl Accept {
    /// Every `Accept` header of a request, as one list; None when there is
    /// none or it is empty (which accepts anything).
    pub fn of(headers: &HeaderMap) -> Option<Accept> {
        let mut values = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok());
        let first = values.next()?;
        let mut joined = first.to_string();
        for more in values {
            joined.push(',');
            joined.push_str(more);
        }
        (!joined.trim().is_empty()).then(|| Accept::parse(&joined))
    }

    pub fn parse(value: &str) -> Accept {
        Accept(value.to_string())
    }

    /// (type, subtype, quality) of each media range.
    fn ranges(&self) -> impl Iterator<Item = (&str, &str, f32)> {
        self.0.split(',').filter_map(|part| {
            let mut params = part.split(';');
            let (ty, sub) = params.next()?.trim().split_once('/')?;
            let q = params
                .filter_map(|p| {
                    let p = p.trim();
                    p.strip_prefix("q=").or(p.strip_prefix("Q="))
                })
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0)
                .clamp(0.0, 1.0);
            Some((ty.trim(), sub.trim(), q))
        })
    }

    /// The quality of a media type: that of the most specific range that
    /// matches it (media types compare without regard to case), 0 when
    /// none does.
    pub fn quality(&self, media_type: &str) -> f32 {
        let (ty, sub) = media_type.split_once('/').unwrap_or((media_type, ""));
        self.ranges()
            .filter_map(|(t, s, q)| {
                let t_is = t.eq_ignore_ascii_case(ty);
                if t_is && s.eq_ignore_ascii_case(sub) {
                    Some((3, q))
                } else if t_is && s == "*" {
                    Some((2, q))
                } else if t == "*" && s == "*" {
                    Some((1, q))
                } else {
                    None
                }
            })
            .max_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)))
            .map_or(0.0, |(_, q)| q)
    }

    /// The best of these media types by quality, None when none is
    /// acceptable; a tie goes to the earlier one.
    pub fn best<'a, T>(&self, offered: impl IntoIterator<Item = (T, &'a [&'a str])>) -> Option<T> {
        let mut best: Option<(T, f32)> = None;
        for (item, types) in offered {
            let q = types.iter().map(|m| self.quality(m)).fold(0.0, f32::max);
            if q > 0.0 && best.as_ref().is_none_or(|(_, b)| q > *b) {
                best = Some((item, q));
            }
        }
        best.map(|(item, _)| item)
    }
}

/// What a request asks for, before the route is known.
#[derive(Debug, Clone, Default)]
pub struct Wants {
    accept: Option<Accept>,
    /// `?format=`, when given (and known).
    forced: Option<Format>,
    /// `?format=` with a value no route offers.
    unknown: Option<String>,
}

impl Wants {
    pub fn of(headers: &HeaderMap, query: Option<&str>) -> Wants {
        let mut wants = Wants {
            accept: Accept::of(headers),
            ..Wants::default()
        };
        let format = query.and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "format")
                .map(|(_, v)| v.into_owned())
        });
        if let Some(value) = format {
            match Format::by_name(&value) {
                Some(f) => wants.forced = Some(f),
                None => wants.unknown = Some(value),
            }
        }
        wants
    }

    /// The representation of a route that offers these (JSON always, and
    /// first). `?format=` with one it does not offer is a 400 naming them.
    pub fn pick(&self, offered: &[Format]) -> Result<Format, ApiError> {
        let names = || {
            let names: Vec<&str> = offered.iter().map(|f| f.name()).collect();
            format!("this address offers {}", names.join(", "))
        };
        if let Some(value) = &self.unknown {
            return Err(ApiError::bad_parameter(
                "format",
                format!("`{value}` is unknown: {}", names()),
            ));
        }
        if let Some(forced) = self.forced {
            return if offered.contains(&forced) {
                Ok(forced)
            } else {
                Err(ApiError::bad_parameter(
                    "format",
                    format!("`{}` is not offered here: {}", forced.name(), names()),
                ))
            };
        }
        let Some(accept) = &self.accept else {
            return Ok(Format::Json);
        };
        Ok(accept
            .best(offered.iter().map(|f| (*f, f.media_types())))
            .unwrap_or(Format::Json))
    }

    /// Whether an error is best shown as a page: what a browser gets.
    pub fn page(&self) -> bool {
        match self.forced {
            Some(f) => f == Format::Html,
            None => matches!(self.pick(&[Format::Json, Format::Html]), Ok(Format::Html)),
        }
    }
}

/// A query string without its `format` parameters, for the parsers of the
/// routes (some refuse parameters they do not know): `format` is read here
/// and nowhere else. The query as it was when it holds no `format`.
pub fn without_format(query: Option<&str>) -> Option<String> {
    let query = query?;
    let pairs = || url::form_urlencoded::parse(query.as_bytes());
    if !pairs().any(|(k, _)| k == "format") {
        return Some(query.to_string());
    }
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs().filter(|(k, _)| k != "format") {
        out.append_pair(&k, &v);
    }
    Some(out.finish()).filter(|q| !q.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn wants(accept: Option<&str>, query: Option<&str>) -> Wants {
        let mut headers = HeaderMap::new();
        if let Some(a) = accept {
            headers.insert(header::ACCEPT, HeaderValue::from_str(a).unwrap());
        }
        Wants::of(&headers, query)
    }

    #[test]
    fn browsers_get_pages_and_everyone_else_json() {
        let all = [Format::Json, Format::Html, Format::Atom, Format::Calendar];
        let firefox = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        let chromium = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,\
                        image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7";
        for (accept, expected) in [
            (None, Format::Json),
            (Some("*/*"), Format::Json),
            (Some("application/json"), Format::Json),
            (Some("application/json, text/html;q=0.5"), Format::Json),
            (Some("text/html"), Format::Html),
            (Some(firefox), Format::Html),
            (Some(chromium), Format::Html),
            (Some("application/atom+xml"), Format::Atom),
            (Some("text/calendar"), Format::Calendar),
            (Some("image/png"), Format::Json),
        ] {
            assert_eq!(
                wants(accept, None).pick(&all).ok(),
                Some(expected),
                "{accept:?}"
            );
        }
        // Not offered here: the best of what is.
        assert_eq!(
            wants(Some("text/calendar"), None)
                .pick(&[Format::Json, Format::Html])
                .ok(),
            Some(Format::Json)
        );
        assert!(wants(Some(firefox), None).page());
        assert!(!wants(Some("*/*"), None).page());
    }

    #[test]
    fn format_is_taken_out_of_the_query_for_the_routes() {
        assert_eq!(without_format(None), None);
        assert_eq!(
            without_format(Some("q=a%20b&limit=5")).as_deref(),
            Some("q=a%20b&limit=5")
        );
        assert_eq!(
            without_format(Some("q=Rad&format=atom&limit=5")).as_deref(),
            Some("q=Rad&limit=5")
        );
        assert_eq!(without_format(Some("format=html")), None);
    }

    #[test]
    fn format_parameter_overrides_accept() {
        let offered = [Format::Json, Format::Html];
        assert_eq!(
            wants(Some("text/html"), Some("format=json"))
                .pick(&offered)
                .ok(),
            Some(Format::Json)
        );
        assert_eq!(
            wants(None, Some("limit=5&format=html")).pick(&offered).ok(),
            Some(Format::Html)
        );
        assert!(wants(None, Some("format=ics")).pick(&offered).is_err());
        assert!(wants(None, Some("format=pdf")).pick(&offered).is_err());
        assert!(wants(None, Some("format=html")).page());
    }
}
