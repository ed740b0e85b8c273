//! The query parameters of a list (spec §2.5, filters): the four date
//! filters, `omit_internal`, `limit`, and our page cursor `after`. Parsed
//! once, validated once, and written back in one fixed order so every link
//! of a list carries exactly the filters in force (spec §2.5; rule 39 of
//! `oparl check`) in one canonical form.

use super::error::ApiError;
use crate::store::ListFilter;
use crate::time::{format_datetime, parse_filter};
use url::form_urlencoded;

/// Page size when the client asks for none.
pub const DEFAULT_LIMIT: i64 = 100;
/// The largest page we hand out; larger `limit`s are capped to it.
pub const MAX_LIMIT: i64 = 1000;

/// A parsed list query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub filter: ListFilter,
    pub omit_internal: bool,
    /// The page size the client asked for (capped), if it asked.
    pub limit: Option<i64>,
    /// The cursor: the pk of the last object of the previous page.
    pub after: Option<i64>,
}

impl ListQuery {
    /// Parse a raw query string. Unknown parameters are ignored; a known one
    /// with a malformed value, or given twice, is an error naming it.
    pub fn parse(raw: Option<&str>) -> Result<ListQuery, ApiError> {
        let mut q = ListQuery::default();
        let mut seen: Vec<String> = Vec::new();
        for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            let known = matches!(
                key.as_ref(),
                "created_since"
                    | "created_until"
                    | "modified_since"
                    | "modified_until"
                    | "omit_internal"
                    | "limit"
                    | "after"
            );
            if !known {
                continue;
            }
            if seen.iter().any(|k| *k == key) {
                return Err(ApiError::bad_parameter(&key, "given more than once"));
            }
            seen.push(key.to_string());
            let time = || parse_filter(&value).map_err(|e| ApiError::bad_parameter(&key, e));
            match key.as_ref() {
                "created_since" => q.filter.created_since = Some(time()?),
                "created_until" => q.filter.created_until = Some(time()?),
                "modified_since" => q.filter.modified_since = Some(time()?),
                "modified_until" => q.filter.modified_until = Some(time()?),
                "omit_internal" => q.omit_internal = parse_bool(&key, &value)?,
                "limit" => q.limit = Some(parse_limit(&value)?),
                _ => q.after = Some(parse_cursor(&value)?),
            }
        }
        Ok(q)
    }

    /// Only `omit_internal` matters for a single object; the rest is ignored.
    pub fn parse_object(raw: Option<&str>) -> Result<bool, ApiError> {
        for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            if key == "omit_internal" {
                return parse_bool(&key, &value);
            }
        }
        Ok(false)
    }

    /// The page size in force.
    pub fn page_size(&self) -> i64 {
        self.limit.unwrap_or(DEFAULT_LIMIT)
    }

    /// The canonical query string of this query with the given cursor, empty
    /// or starting with `?`. The order is fixed: created_since,
    /// created_until, modified_since, modified_until, omit_internal, limit,
    /// after.
    pub fn to_query_string(&self, after: Option<i64>) -> String {
        let f = &self.filter;
        let mut pairs: Vec<(&str, String)> = Vec::new();
        let times = [
            ("created_since", f.created_since),
            ("created_until", f.created_until),
            ("modified_since", f.modified_since),
            ("modified_until", f.modified_until),
        ];
        for (name, value) in times {
            if let Some(t) = value {
                pairs.push((name, format_datetime(t)));
            }
        }
        if self.omit_internal {
            pairs.push(("omit_internal", "true".into()));
        }
        if let Some(limit) = self.limit {
            pairs.push(("limit", limit.to_string()));
        }
        if let Some(after) = after {
            pairs.push(("after", after.to_string()));
        }
        if pairs.is_empty() {
            return String::new();
        }
        let mut out = form_urlencoded::Serializer::for_suffix(String::from("?"), 1);
        for (name, value) in pairs {
            out.append_pair(name, &value);
        }
        out.finish()
    }
}

fn parse_bool(key: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ApiError::bad_parameter(
            key,
            format!("`{value}` is neither true nor false"),
        )),
    }
}

/// `limit`: a positive integer; anything above [`MAX_LIMIT`] is capped.
pub(crate) fn parse_limit(value: &str) -> Result<i64, ApiError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_parameter(
            "limit",
            format!("`{value}` is not a positive integer"),
        ));
    }
    let digits = value.trim_start_matches('0');
    if digits.is_empty() {
        return Err(ApiError::bad_parameter("limit", "must be at least 1"));
    }
    Ok(digits
        .parse::<i64>()
        .map_or(MAX_LIMIT, |n| n.min(MAX_LIMIT)))
}

fn parse_cursor(value: &str) -> Result<i64, ApiError> {
    value
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0 && value.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            ApiError::bad_parameter(
                "after",
                format!("`{value}` is not a page cursor of this server"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_order_and_encoding() {
        let raw = "after=5&limit=20&foo=bar&omit_internal=true&modified_since=2014-01-01T00:00:00 01:00&created_until=2015-01-01T00%3A00%3A00Z";
        let q = ListQuery::parse(Some(raw)).unwrap();
        assert_eq!(
            q.to_query_string(Some(9)),
            "?created_until=2015-01-01T00%3A00%3A00%2B00%3A00&modified_since=2013-12-31T23%3A00%3A00%2B00%3A00&omit_internal=true&limit=20&after=9"
        );
        assert_eq!(ListQuery::parse(None).unwrap().to_query_string(None), "");
    }

    #[test]
    fn limits() {
        let limit = |v: &str| ListQuery::parse(Some(&format!("limit={v}"))).map(|q| q.page_size());
        assert_eq!(limit("7").unwrap(), 7);
        assert_eq!(limit("1000").unwrap(), 1000);
        assert_eq!(limit("1001").unwrap(), 1000);
        assert_eq!(limit("99999999999999999999999999").unwrap(), 1000);
        for bad in ["0", "-1", "abc", "", "1.5", "+5", "10%20OR%201=1"] {
            assert!(limit(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn malformed_values_are_errors() {
        for raw in [
            "modified_since=gestern",
            "after=abc",
            "after=-3",
            "omit_internal=yes",
            "limit=1&limit=2",
        ] {
            assert!(ListQuery::parse(Some(raw)).is_err(), "{raw}");
        }
    }
}
