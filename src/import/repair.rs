//! Repairs of the defects an importer meets in real vendors' endpoints: each
//! function fixes one kind of defect in a source value and says whether
//! it did, so the caller can count it under a [`Repair`] and the store only
//! ever holds values in OParl 1.1 form.

use crate::time::{is_date, is_datetime};
use chrono::{DateTime, FixedOffset, NaiveDateTime, SecondsFormat};
use serde_json::{Map, Value};

/// The kinds of repair, as named in the import report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Repair {
    TombstoneWithoutType,
    TombstoneInUnfilteredList,
    MissingType,
    CoordinatesSwapped,
    BareGeometry,
    PaddedString,
    EmptyValue,
    DateTimeForm,
    DateTimeForDate,
    MimeType,
    AgendaItemOrder,
    DuplicateId,
    SchemeMixture,
    MissingTimes,
    SingleValueForArray,
    ModifiedNotAdvanced,
    FilterUnsupported,
    VanishedWithoutTombstone,
    OrphanedChildDeleted,
    DanglingReference,
    ReferenceToDeleted,
    WrongTargetType,
    UnknownBody,
    TombstoneWithoutBody,
    MeetingEndBeforeStart,
    RequiredReferenceFetched,
    RequiredReferenceKept,
}

impl Repair {
    /// The name used in the report and the summary.
    pub fn name(self) -> &'static str {
        match self {
            Repair::TombstoneWithoutType => "tombstone without type",
            Repair::TombstoneInUnfilteredList => "tombstone in an unfiltered list",
            Repair::MissingType => "object without type (taken from its list or field)",
            Repair::CoordinatesSwapped => "latitude/longitude swapped",
            Repair::BareGeometry => "bare geometry or incomplete GeoJSON Feature",
            Repair::PaddedString => "leading/trailing or no-break spaces",
            Repair::EmptyValue => "empty string, null or empty array dropped",
            Repair::DateTimeForm => "date-time with Z, fraction or no offset",
            Repair::DateTimeForDate => "date-time where a date belongs",
            Repair::MimeType => "mime type without a slash",
            Repair::AgendaItemOrder => {
                "AgendaItem.order missing or not its index from 0 (renumbered)"
            }
            Repair::DuplicateId => "the same id served twice with different content",
            Repair::SchemeMixture => "http and https spellings of one id",
            Repair::MissingTimes => {
                "created/modified missing (taken from the parent or the import)"
            }
            Repair::SingleValueForArray => "single value where an array belongs",
            Repair::ModifiedNotAdvanced => "content changed but modified did not advance",
            Repair::FilterUnsupported => "modified_since not answered (list read in full)",
            Repair::VanishedWithoutTombstone => "vanished at the source without a tombstone",
            Repair::OrphanedChildDeleted => {
                "embedded object dropped by its parent without a tombstone"
            }
            Repair::DanglingReference => "reference to an object the source never served (dropped)",
            Repair::ReferenceToDeleted => "reference from a live object to a deleted one (dropped)",
            Repair::WrongTargetType => "reference to an object of the wrong type (dropped)",
            Repair::UnknownBody => "body unknown (taken from the source's only Body)",
            Repair::TombstoneWithoutBody => {
                "tombstone of an object never imported, without a Body (not kept)"
            }
            Repair::MeetingEndBeforeStart => "Meeting.end before its start on the same day (dropped)",
            Repair::RequiredReferenceFetched => {
                "required reference to an object in no list (fetched at its URL)"
            }
            Repair::RequiredReferenceKept => {
                "required reference to an object the source never served (kept pointing at the source)"
            }
        }
    }
}

/// Strip whitespace and no-break spaces from both ends of every string, and
/// drop empty strings, nulls and empty arrays, recursively. Returns the
/// counts (padded, emptied).
pub fn clean_strings(value: &mut Value) -> (u32, u32) {
    let mut padded = 0;
    let mut emptied = 0;
    clean(value, &mut padded, &mut emptied);
    (padded, emptied)
}

fn clean(value: &mut Value, padded: &mut u32, emptied: &mut u32) {
    match value {
        Value::String(s) => {
            let trimmed = s.trim_matches(|c: char| c.is_whitespace() || c == '\u{a0}');
            if trimmed.len() != s.len() {
                *s = trimmed.to_string();
                *padded += 1;
            }
        }
        Value::Array(items) => {
            items.iter_mut().for_each(|v| clean(v, padded, emptied));
            let before = items.len();
            items.retain(is_present);
            *emptied += (before - items.len()) as u32;
        }
        Value::Object(map) => {
            map.values_mut().for_each(|v| clean(v, padded, emptied));
            let before = map.len();
            map.retain(|_, v| is_present(v));
            *emptied += (before - map.len()) as u32;
        }
        _ => {}
    }
}

fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => true,
    }
}

/// Parse a source date-time leniently (`Z`, fractions, a missing offset
/// read as UTC, a space instead of `T`). Returns the instant and whether the
/// text was not already in OParl form.
pub fn parse_datetime(text: &str) -> Option<(DateTime<FixedOffset>, bool)> {
    if is_datetime(text) {
        return DateTime::parse_from_rfc3339(text).ok().map(|t| (t, false));
    }
    let normalised = text.trim().replacen(' ', "T", 1);
    if let Ok(t) = DateTime::parse_from_rfc3339(&normalised) {
        return Some((t, true));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(&normalised, format) {
            return Some((naive.and_utc().fixed_offset(), true));
        }
    }
    None
}

/// Rewrite a date-time attribute into `yyyy-mm-ddThh:mm:ss±hh:mm`, keeping
/// the source's offset. Returns true when it changed.
pub fn datetime_field(value: &mut Value) -> bool {
    let Value::String(text) = value else {
        return false;
    };
    match parse_datetime(text) {
        Some((t, true)) => {
            *text = t.to_rfc3339_opts(SecondsFormat::Secs, false);
            true
        }
        _ => false,
    }
}

/// Cut a date-time sent where a date belongs down to its date (in the
/// source's own offset). Returns true when it changed.
pub fn date_field(value: &mut Value) -> bool {
    let Value::String(text) = value else {
        return false;
    };
    if is_date(text) {
        return false;
    }
    match parse_datetime(text) {
        Some((t, _)) => {
            *text = t.date_naive().format("%Y-%m-%d").to_string();
            true
        }
        None => false,
    }
}

/// Give a bare file type (`pdf`, `.docx`) its mime type. Returns true when
/// it changed.
pub fn mime_type(value: &mut Value) -> bool {
    let Value::String(text) = value else {
        return false;
    };
    if text.contains('/') {
        return false;
    }
    let ext = text.trim_start_matches('.').to_ascii_lowercase();
    let mime = match ext.as_str() {
        "pdf" => "application/pdf",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ppt" => "application/vnd.ms-powerpoint",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt" => "application/vnd.oasis.opendocument.text",
        "ods" => "application/vnd.oasis.opendocument.spreadsheet",
        "rtf" => "application/rtf",
        "txt" => "text/plain",
        "htm" | "html" => "text/html",
        "xml" => "application/xml",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "tif" | "tiff" => "image/tiff",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    };
    *text = mime.to_string();
    true
}

/// A Meeting's `end` that lies before its `start` on the same day, as some
/// endpoints send a meeting without a known end (midnight of the meeting
/// day, i.e. a date without a time). Returns that `end`; `map` holds the
/// values in OParl form already. An end on another day is left alone: it may
/// be a typo in either value, and nothing tells which.
pub fn end_before_start_of_same_day(map: &Map<String, Value>) -> Option<String> {
    let start = map.get("start")?.as_str()?;
    let end = map.get("end")?.as_str()?;
    let (start_at, _) = parse_datetime(start)?;
    let (end_at, _) = parse_datetime(end)?;
    (end_at < start_at && end_at.date_naive() == start_at.date_naive()).then(|| end.to_string())
}

/// What [`geojson`] changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct GeoRepair {
    pub wrapped: bool,
    pub swapped: bool,
}

/// Make `Location.geojson` a GeoJSON Feature with positions in
/// longitude/latitude order.
///
/// A bare geometry (`{"type":"Point",...}`) is wrapped into a Feature.
/// Swapped positions are recognised from the first position of the
/// geometry: a first value outside ±180 or a second outside ±90 cannot be
/// longitude/latitude; and since OParl is used by German councils, a
/// position whose first value lies in Germany's latitude band (47–55.1)
/// and second in its longitude band (5.8–15.1) is taken as swapped, as no
/// place in that longitude/latitude box is in a German-speaking country.
pub fn geojson(value: &mut Value) -> GeoRepair {
    let mut out = GeoRepair::default();
    let Value::Object(map) = value else {
        return out;
    };
    let kind = map.get("type").and_then(Value::as_str).unwrap_or("");
    if kind != "Feature" && kind != "FeatureCollection" && map.contains_key("coordinates") {
        let geometry = std::mem::take(map);
        map.insert("type".into(), "Feature".into());
        map.insert("geometry".into(), Value::Object(geometry));
        map.insert("properties".into(), Value::Object(Map::new()));
        out.wrapped = true;
    }
    if map.get("type").and_then(Value::as_str) == Some("Feature") && !map.contains_key("properties")
    {
        // GeoJSON requires the member (RFC 7946 §3.2).
        map.insert("properties".into(), Value::Object(Map::new()));
        out.wrapped = true;
    }
    if let Some(Value::Object(geometry)) = map.get_mut("geometry") {
        if let Some(coords) = geometry.get_mut("coordinates") {
            if first_position(coords).is_some_and(|(a, b)| looks_swapped(a, b)) {
                swap_positions(coords);
                out.swapped = true;
            }
        }
    }
    out
}

fn first_position(coords: &Value) -> Option<(f64, f64)> {
    match coords.as_array()?.as_slice() {
        [Value::Array(_), ..] => first_position(&coords[0]),
        [a, b, ..] => Some((a.as_f64()?, b.as_f64()?)),
        _ => None,
    }
}

fn looks_swapped(first: f64, second: f64) -> bool {
    if first.abs() > 180.0 || second.abs() > 90.0 {
        // Cannot be longitude, latitude; swapped only if the other way fits.
        return first.abs() <= 90.0 && second.abs() <= 180.0;
    }
    (47.0..=55.1).contains(&first) && (5.8..=15.1).contains(&second)
}

fn swap_positions(coords: &mut Value) {
    let Some(items) = coords.as_array_mut() else {
        return;
    };
    if items.first().is_some_and(Value::is_array) {
        items.iter_mut().for_each(swap_positions);
    } else if items.len() >= 2 {
        items.swap(0, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_are_trimmed_and_empties_dropped() {
        let mut v =
            json!({"postalCode": "52393\u{a0}", "number": "", "keyword": ["a ", " "], "x": null});
        assert_eq!(clean_strings(&mut v), (3, 3));
        assert_eq!(v, json!({"postalCode": "52393", "keyword": ["a"]}));
    }

    #[test]
    fn date_times_take_oparl_form() {
        let mut v = json!("2020-01-02T03:04:05.678Z");
        assert!(datetime_field(&mut v));
        assert_eq!(v, json!("2020-01-02T03:04:05+00:00"));
        let mut v = json!("2020-01-02T03:04:05+01:00");
        assert!(!datetime_field(&mut v));
        let mut v = json!("2020-01-02 03:04:05");
        assert!(datetime_field(&mut v));
        assert_eq!(v, json!("2020-01-02T03:04:05+00:00"));
        let mut d = json!("2020-01-02T23:30:00-02:00");
        assert!(date_field(&mut d));
        assert_eq!(d, json!("2020-01-02"));
    }

    #[test]
    fn a_meeting_end_at_midnight_before_its_start_is_found() {
        let meeting = |start: &str, end: &str| {
            let v = json!({"start": start, "end": end});
            end_before_start_of_same_day(v.as_object().unwrap())
        };
        assert_eq!(
            meeting("2023-03-14T18:00:00+01:00", "2023-03-14T00:00:00+01:00").as_deref(),
            Some("2023-03-14T00:00:00+01:00")
        );
        assert_eq!(
            meeting("2023-03-14T18:00:00+01:00", "2023-03-14T21:00:00+01:00"),
            None
        );
        // Before the start, but on the day before: not this defect.
        assert_eq!(
            meeting("2023-03-14T18:00:00+01:00", "2023-03-13T21:00:00+01:00"),
            None
        );
    }

    #[test]
    fn mime_types_get_a_slash() {
        let mut v = json!("pdf");
        assert!(mime_type(&mut v));
        assert_eq!(v, json!("application/pdf"));
        let mut v = json!("text/html");
        assert!(!mime_type(&mut v));
    }

    #[test]
    fn geometry_is_wrapped_and_unswapped() {
        let mut v = json!({"type": "Point", "coordinates": [50.72, 6.39]});
        let r = geojson(&mut v);
        assert!(r.wrapped && r.swapped);
        assert_eq!(v["type"], "Feature");
        assert_eq!(v["geometry"]["coordinates"], json!([6.39, 50.72]));
        let mut ok = json!({"type": "Feature", "properties": {},
            "geometry": {"type": "Point", "coordinates": [6.39, 50.72]}});
        assert_eq!(geojson(&mut ok), GeoRepair::default());
        let mut bare =
            json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.39, 50.72]}});
        assert!(geojson(&mut bare).wrapped);
        assert_eq!(bare["properties"], json!({}));
        let mut poly = json!({"type": "Feature", "geometry": {"type": "Polygon",
            "coordinates": [[[50.0, 7.0], [50.1, 7.1], [50.0, 7.0]]]}});
        assert!(geojson(&mut poly).swapped);
        assert_eq!(poly["geometry"]["coordinates"][0][1], json!([7.1, 50.1]));
    }
}
