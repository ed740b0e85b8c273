//! Meetings as iCalendar (RFC 5545): one Meeting, or the calendar of a
//! Body's or an Organization's meetings that a citizen subscribes to.
//! Rendered from what `api::pages` loaded; no queries here.
//!
//! What makes a subscription follow changes: each event's UID is the
//! Meeting's URL (stable for ever), SEQUENCE is the store's revision of
//! the Meeting (it grows with every change of the meeting, its agenda or
//! its files), LAST-MODIFIED and DTSTAMP its `modified`, and a cancelled
//! meeting stays in the calendar with `STATUS:CANCELLED`.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// One meeting as an event.
#[derive(Debug, Clone, Default)]
pub struct Event {
    /// The Meeting's URL: UID and URL of the event (a browser opening it
    /// gets the meeting's page).
    pub url: String,
    /// What the meeting is called.
    pub summary: String,
    /// Unix seconds.
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub location: Option<String>,
    pub description: Option<String>,
    pub cancelled: bool,
    pub sequence: i64,
    /// Unix seconds.
    pub modified: i64,
}

/// A calendar of these events under this name.
pub fn calendar(name: &str, events: &[Event]) -> String {
    let mut out = String::with_capacity(1024 + events.len() * 512);
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//OParl-Server//Sitzungskalender//DE");
    line(&mut out, "CALSCALE:GREGORIAN");
    line(&mut out, "METHOD:PUBLISH");
    line(&mut out, &format!("X-WR-CALNAME:{}", escape(name)));
    line(&mut out, "X-WR-TIMEZONE:Europe/Berlin");
    for l in VTIMEZONE {
        line(&mut out, l);
    }
    for e in events.iter().filter(|e| e.start.is_some()) {
        event(&mut out, e);
    }
    line(&mut out, "END:VCALENDAR");
    out
}

/// Europe/Berlin since 1996: CET, and CEST from the last Sunday of March
/// to the last Sunday of October (EU summer time).
const VTIMEZONE: [&str; 17] = [
    "BEGIN:VTIMEZONE",
    "TZID:Europe/Berlin",
    "BEGIN:DAYLIGHT",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "TZNAME:CEST",
    "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "END:DAYLIGHT",
    "BEGIN:STANDARD",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "TZNAME:CET",
    "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "END:STANDARD",
    "END:VTIMEZONE",
];

fn event(out: &mut String, e: &Event) {
    line(out, "BEGIN:VEVENT");
    line(out, &format!("UID:{}", e.url));
    line(out, &format!("DTSTAMP:{}", utc(e.modified)));
    line(out, &format!("LAST-MODIFIED:{}", utc(e.modified)));
    line(out, &format!("SEQUENCE:{}", e.sequence.max(0)));
    if let Some(start) = e.start {
        line(
            out,
            &format!("DTSTART;TZID=Europe/Berlin:{}", berlin(start)),
        );
        // Without an end, an event of two hours: a calendar needs one to
        // show a block, and a council meeting rarely takes less.
        let end = e.end.filter(|end| *end > start).unwrap_or(start + 7200);
        line(out, &format!("DTEND;TZID=Europe/Berlin:{}", berlin(end)));
    }
    line(out, &format!("SUMMARY:{}", escape(&e.summary)));
    if let Some(l) = &e.location {
        line(out, &format!("LOCATION:{}", escape(l)));
    }
    if let Some(d) = &e.description {
        line(out, &format!("DESCRIPTION:{}", escape(d)));
    }
    line(out, &format!("URL:{}", e.url));
    line(
        out,
        if e.cancelled {
            "STATUS:CANCELLED"
        } else {
            "STATUS:CONFIRMED"
        },
    );
    line(out, "END:VEVENT");
}

/// A content line, folded after 75 octets (RFC 5545 §3.1) at a character
/// boundary, ended with CRLF.
fn line(out: &mut String, text: &str) {
    let mut width = 0;
    for c in text.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

/// TEXT values (RFC 5545 §3.3.11): backslash, semicolon, comma and line
/// breaks escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

fn utc(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// A moment as local time in Berlin (the rule of [`VTIMEZONE`]).
fn berlin(secs: i64) -> String {
    let t = DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or_default();
    let year = t.year();
    // Summer time begins and ends at 01:00 UTC on the last Sundays.
    let begins = last_sunday(year, 3);
    let ends = last_sunday(year, 10);
    let offset = if t >= begins && t < ends { 2 } else { 1 };
    (t.naive_utc() + Duration::hours(offset))
        .format("%Y%m%dT%H%M%S")
        .to_string()
}

/// 01:00 UTC on the last Sunday of a month.
fn last_sunday(year: i32, month: u32) -> DateTime<Utc> {
    let first_of_next = NaiveDate::from_ymd_opt(year, month + 1, 1).unwrap_or_default();
    let last = first_of_next.pred_opt().unwrap_or_default();
    let back = last.weekday().num_days_from_sunday();
    let day = last - Duration::days(i64::from(back));
    let at: NaiveDateTime = day.and_hms_opt(1, 0, 0).unwrap_or_default();
    Utc.from_utc_datetime(&at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berlin_time_follows_summer_time() {
        // 2026: summer time from 29 March to 25 October.
        let winter = DateTime::parse_from_rfc3339("2026-01-15T16:00:00Z").unwrap();
        let summer = DateTime::parse_from_rfc3339("2026-07-01T15:30:00Z").unwrap();
        let before = DateTime::parse_from_rfc3339("2026-03-29T00:59:59Z").unwrap();
        let after = DateTime::parse_from_rfc3339("2026-03-29T01:00:00Z").unwrap();
        assert_eq!(berlin(winter.timestamp()), "20260115T170000");
        assert_eq!(berlin(summer.timestamp()), "20260701T173000");
        assert_eq!(berlin(before.timestamp()), "20260329T015959");
        assert_eq!(berlin(after.timestamp()), "20260329T030000");
        let back = DateTime::parse_from_rfc3339("2026-10-25T01:00:00Z").unwrap();
        assert_eq!(berlin(back.timestamp()), "20261025T020000");
    }

    #[test]
    fn lines_are_escaped_and_folded() {
        let e = Event {
            url: "https://ris.example/oparl/meeting/1".into(),
            summary: "Rat; Sitzung, öffentlich\nTeil 2".into(),
            start: Some(1_700_000_000),
            description: Some("ä".repeat(100)),
            ..Event::default()
        };
        let text = calendar("Rat", &[e]);
        assert!(text.contains("SUMMARY:Rat\\; Sitzung\\, öffentlich\\nTeil 2\r\n"));
        for l in text.split("\r\n") {
            assert!(l.len() <= 75, "{l}");
        }
        assert!(text.contains("\r\n ä"));
        assert!(text.ends_with("END:VCALENDAR\r\n"));
    }
}
