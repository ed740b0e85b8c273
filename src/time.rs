//! Time values: the store keeps Unix seconds (UTC); the API writes the OParl
//! date-time form `yyyy-mm-ddThh:mm:ss+00:00` and reads filter values
//! leniently.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// The current time in whole seconds.
pub fn now() -> i64 {
    Utc::now().timestamp()
}

/// Write a stored time as an OParl date-time: whole seconds and an explicit
/// `+00:00`, never `Z`, which the spec's date-time pattern does not allow
/// (spec §2.4 JSON output).
pub fn format_datetime(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// Write a time as an HTTP date (RFC 9110 IMF-fixdate). Spelled out rather
/// than through a strftime pattern, which chrono parses anew on every call:
/// this runs for every answer that has a `Last-Modified`.
pub fn format_http_date(secs: i64) -> String {
    use chrono::{Datelike, Timelike};
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or_default();
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[t.weekday().num_days_from_monday() as usize],
        t.day(),
        MONTHS[t.month0() as usize],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Read an HTTP date as sent in `If-Modified-Since`.
pub fn parse_http_date(value: &str) -> Option<i64> {
    DateTime::parse_from_rfc2822(value.trim())
        .ok()
        .map(|t| t.timestamp())
}

/// Read a filter value such as `modified_since`. Accepts RFC 3339 with a
/// numeric offset or `Z`, fractional seconds, a lowercase `t`/`z`, and a `+`
/// that arrived decoded as a space (a client that did not percent-encode it).
/// Fractions are dropped: stored times are whole seconds, and rounding down
/// keeps inclusive bounds from ever losing an object.
pub fn parse_filter(value: &str) -> Result<i64, String> {
    let mut text = value.trim_start().to_string();
    // `2024-01-01T00:00:00 01:00`: the `+` became a space on the way.
    if let Some(pos) = text.rfind(' ') {
        if pos >= 19 {
            text.replace_range(pos..pos + 1, "+");
        }
    }
    let parsed = DateTime::parse_from_rfc3339(&text).map_err(|_| {
        format!(
            "`{value}` is not a date-time; expected the form 2024-01-31T23:59:59+01:00 \
             (percent-encode the `+` as %2B)"
        )
    })?;
    Ok(parsed.timestamp())
}

/// Whether a string is an OParl date `yyyy-mm-dd`.
pub fn is_date(value: &str) -> bool {
    value.len() == 10 && NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok()
}

/// Whether a string is an OParl date-time `yyyy-mm-ddThh:mm:ss±hh:mm`.
pub fn is_datetime(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() == 25
        && (b[19] == b'+' || b[19] == b'-')
        && b[10] == b'T'
        && DateTime::parse_from_rfc3339(value).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_numeric_offset() {
        assert_eq!(format_datetime(0), "1970-01-01T00:00:00+00:00");
        assert!(is_datetime(&format_datetime(1_700_000_000)));
        assert_eq!(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            format_http_date(1_794_739_425),
            "Sun, 15 Nov 2026 10:43:45 GMT"
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:10 GMT"), Some(10));
    }

    #[test]
    fn parses_filters_leniently() {
        let t = 1_388_530_800; // 2014-01-01T00:00:00+01:00
        assert_eq!(parse_filter("2014-01-01T00:00:00+01:00"), Ok(t));
        assert_eq!(parse_filter("2014-01-01T00:00:00 01:00"), Ok(t));
        assert_eq!(parse_filter("2013-12-31T23:00:00Z"), Ok(t));
        assert_eq!(parse_filter("2013-12-31t23:00:00z"), Ok(t));
        assert_eq!(parse_filter("2013-12-31T23:00:00.999Z"), Ok(t));
        assert_eq!(parse_filter("2013-12-31T22:00:00-01:00"), Ok(t));
        for bad in [
            "",
            "yesterday",
            "2014-01-01",
            "2014-01-01T00:00:00",
            "2014-13-01T00:00:00Z",
            "' OR 1=1 --",
        ] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn recognises_formats() {
        assert!(is_date("2024-02-29"));
        assert!(!is_date("2023-02-29"));
        assert!(!is_date("2024-1-1"));
        assert!(is_datetime("2024-01-01T10:00:00+01:00"));
        assert!(!is_datetime("2024-01-01T10:00:00Z"));
        assert!(!is_datetime("2024-01-01T10:00:00.5+01:00"));
    }
}
