//! The page of one object: what matters most about its kind first (a
//! Meeting's agenda, a Paper's documents and consultations, a Person's
//! memberships), then every other field it has, named in German. Deleted
//! objects get a page that says so (status 200, as their JSON).

use super::layout::{page, Frame};
use super::words;
use super::{label_of, Labels};
use crate::model::Kind;
use maud::{html, Markup};
use serde_json::{Map, Value};

/// A list of related objects shown on a page: (kind, light values with
/// `id` and their own fields), and a link to all of them.
#[derive(Debug, Clone)]
pub struct Section {
    pub title: String,
    pub kind: Kind,
    pub items: Vec<Value>,
    pub more: Option<(String, String)>,
    /// What to say when there are none.
    pub empty: &'static str,
}

/// Members never listed among the facts: the id, type and name (the page
/// is about them; the name is its title), and what the frame shows.
const ALWAYS_HIDDEN: [&str; 6] = ["id", "type", "name", "body", "deleted", "web"];

/// The members a kind's own part of the page shows.
fn shown_first(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Paper => &[
            "reference",
            "paperType",
            "date",
            "underDirectionOf",
            "originatorPerson",
            "originatorOrganization",
            "mainFile",
            "auxiliaryFile",
            "consultation",
        ],
        Kind::Meeting => &[
            "start",
            "end",
            "meetingState",
            "cancelled",
            "location",
            "organization",
            "agendaItem",
            "invitation",
            "resultsProtocol",
            "verbatimProtocol",
            "auxiliaryFile",
            "participant",
        ],
        Kind::Person => &[
            "formOfAddress",
            "title",
            "givenName",
            "familyName",
            "affix",
            "status",
            "membership",
        ],
        Kind::Organization => &[
            "shortName",
            "organizationType",
            "classification",
            "membership",
        ],
        Kind::Body => &[
            "organization",
            "person",
            "meeting",
            "paper",
            "agendaItem",
            "consultation",
            "file",
            "locationList",
            "legislativeTermList",
            "membership",
        ],
        Kind::File => &[
            "fileName",
            "mimeType",
            "size",
            "date",
            "accessUrl",
            "downloadUrl",
            "text",
        ],
        _ => &[],
    }
}

/// The page of a live object.
pub fn live(
    frame: &Frame,
    kind: Kind,
    value: &Value,
    labels: &Labels,
    sections: &[Section],
) -> String {
    let Some(members) = value.as_object() else {
        return page(frame, html! {});
    };
    let own = match kind {
        Kind::Paper => paper(members, labels),
        Kind::Meeting => meeting(members, labels),
        Kind::Person => person(members, labels),
        Kind::Organization => organization(members, labels),
        Kind::File => file(members, value),
        Kind::Body => body(members),
        _ => html! {},
    };
    let first = shown_first(kind);
    let rest: Vec<(&String, &Value)> = members
        .iter()
        .filter(|(k, v)| {
            // Vendor properties are addresses for programs (the feed, the
            // search, the calendar); the page links what people use.
            !(ALWAYS_HIDDEN.contains(&k.as_str())
                || first.contains(&k.as_str())
                || k.starts_with(crate::model::VENDOR_PREFIX)
                || is_empty(v))
        })
        .collect();
    let content = html! {
        @if kind == Kind::Meeting && flag(members, "cancelled") {
            p.cancelled { "Diese Sitzung wurde abgesagt." }
        }
        (own)
        @if !rest.is_empty() {
            h2 { "Angaben" }
            dl.facts {
                @for (key, v) in &rest {
                    dt { (words::field(key)) }
                    dd { (any_value(key, v, labels)) }
                }
            }
        }
        @for s in sections { (section(s)) }
    };
    page(frame, content)
}

/// The page of a deleted object.
pub fn tombstone(frame: &Frame, value: &Value) -> String {
    let when = value
        .get("modified")
        .and_then(Value::as_str)
        .map(words::date_time)
        .unwrap_or_default();
    page(
        frame,
        html! {
            p { "Dieses Objekt wurde am " (when) " gelöscht." }
            p { a href=(frame.start) { "Zur Startseite" } }
        },
    )
}

/// A list of related objects.
pub fn section(s: &Section) -> Markup {
    html! {
        h2 { (s.title) }
        @if s.items.is_empty() {
            p.muted { (s.empty) }
        } @else {
            ul {
                @for item in &s.items {
                    li { (item_line(s.kind, item)) }
                }
            }
        }
        @if let Some((url, text)) = &s.more {
            p { a href=(url) { (text) } }
        }
    }
}

/// One object in a list: a link named by its label, and its date.
pub fn item_line(kind: Kind, item: &Value) -> Markup {
    let id = item.get("id").and_then(Value::as_str).unwrap_or("");
    let day = match kind {
        Kind::Meeting => item
            .get("start")
            .and_then(Value::as_str)
            .map(words::date_time),
        Kind::Paper | Kind::File => item.get("date").and_then(Value::as_str).map(words::date),
        _ => None,
    };
    // A meeting in a list by its name; its day and time follow.
    let name = item
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty());
    let text = match (kind, name) {
        (Kind::Meeting, Some(name)) => name.to_string(),
        _ => label_of(kind, item),
    };
    html! {
        a href=(id) { (text) }
        @if let Some(day) = day.filter(|d| !d.is_empty() && !text.contains(d.as_str())) {
            " " span.meta { "(" (day) ")" }
        }
        @if item.get("cancelled").and_then(Value::as_bool) == Some(true) {
            " " span.cancelled { "abgesagt" }
        }
    }
}

fn paper(m: &Map<String, Value>, labels: &Labels) -> Markup {
    let files: Vec<&Value> = m
        .get("mainFile")
        .into_iter()
        .chain(array(m, "auxiliaryFile"))
        .collect();
    let consultations = array(m, "consultation");
    html! {
        (facts(m, &["reference", "paperType", "date", "underDirectionOf",
            "originatorPerson", "originatorOrganization"], labels))
        h2 { "Dokumente" }
        (files_table(&files))
        h2 { "Beratungsfolge" }
        @if consultations.is_empty() {
            p.muted { "Keine Beratungen verzeichnet." }
        } @else {
            table {
                thead { tr { th scope="col" { "Gremium" } th scope="col" { "Sitzung" }
                    th scope="col" { "Tagesordnungspunkt" } th scope="col" { "Rolle" } } }
                tbody {
                    @for c in consultations {
                        tr {
                            td { (labels.links(&strings(c, "organization"))) }
                            td { @if let Some(u) = text(c, "meeting") { (labels.link(u)) } }
                            td { @if let Some(u) = text(c, "agendaItem") { (labels.link(u)) } }
                            td {
                                (text(c, "role").unwrap_or(""))
                                @if c.get("authoritative").and_then(Value::as_bool) == Some(true) {
                                    " " span.tag { "beschließend" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn meeting(m: &Map<String, Value>, labels: &Labels) -> Markup {
    let mut items = array(m, "agendaItem");
    items.sort_by_key(|i| i.get("order").and_then(Value::as_i64).unwrap_or(i64::MAX));
    let files: Vec<&Value> = ["invitation", "resultsProtocol", "verbatimProtocol"]
        .iter()
        .filter_map(|k| m.get(*k))
        .chain(array(m, "auxiliaryFile"))
        .collect();
    html! {
        (facts(m, &["start", "end", "meetingState", "location", "organization"], labels))
        h2 { "Tagesordnung" }
        @if items.is_empty() {
            p.muted { "Keine Tagesordnung veröffentlicht." }
        } @else {
            ol.agenda {
                @for item in items { li { (agenda_item(item, labels)) } }
            }
        }
        h2 { "Dokumente" }
        (files_table(&files))
        @let participants = strings_of(m, "participant");
        @if !participants.is_empty() {
            h2 { "Teilnehmende" }
            (labels.links(&participants))
        }
    }
}

fn agenda_item(item: &Value, labels: &Labels) -> Markup {
    let id = text(item, "id").unwrap_or("");
    let public = item.get("public").and_then(Value::as_bool) != Some(false);
    // The Paper the item deals with, through its Consultation.
    let paper = text(item, "consultation")
        .and_then(|c| labels.get(c))
        .and_then(|l| l.value.get("paper"))
        .and_then(Value::as_str);
    let files: Vec<&Value> = item
        .get("resolutionFile")
        .into_iter()
        .chain(
            item.get("auxiliaryFile")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        )
        .collect();
    html! {
        strong { a href=(id) { (label_of(Kind::AgendaItem, item)) } }
        @if !public { " " span.tag { "nicht öffentlich" } }
        @if let Some(paper) = paper { br; "Drucksache: " (labels.link(paper)) }
        @if let Some(result) = text(item, "result") { br; "Ergebnis: " (result) }
        @if let Some(resolution) = text(item, "resolutionText") { p { (resolution) } }
        @if !files.is_empty() {
            ul { @for f in files { li { (file_line(f)) } } }
        }
    }
}

fn person(m: &Map<String, Value>, labels: &Labels) -> Markup {
    let memberships = array(m, "membership");
    html! {
        (facts(m, &["formOfAddress", "title", "givenName", "familyName", "affix", "status"], labels))
        h2 { "Mitgliedschaften" }
        @if memberships.is_empty() {
            p.muted { "Keine Mitgliedschaften verzeichnet." }
        } @else {
            table {
                thead { tr { th scope="col" { "Gremium" } th scope="col" { "Rolle" }
                    th scope="col" { "Von" } th scope="col" { "Bis" } th scope="col" { "Stimmberechtigt" } } }
                tbody {
                    @for ms in memberships {
                        tr {
                            td { @if let Some(o) = text(ms, "organization") { (labels.link(o)) } }
                            td { (text(ms, "role").unwrap_or("Mitglied")) }
                            td { (text(ms, "startDate").map(words::date).unwrap_or_default()) }
                            td { (text(ms, "endDate").map(words::date).unwrap_or_default()) }
                            td { (ms.get("votingRight").and_then(Value::as_bool).map_or("", words::yes_no)) }
                        }
                    }
                }
            }
        }
    }
}

fn organization(m: &Map<String, Value>, labels: &Labels) -> Markup {
    let memberships = strings_of(m, "membership");
    let consultations = m.get("consultation").and_then(Value::as_str);
    html! {
        (facts(m, &["shortName", "organizationType", "classification"], labels))
        @if let Some(url) = consultations {
            p { a href=(url) { "Alle Beratungen des Gremiums" } }
        }
        h2 { "Mitglieder" }
        @if memberships.is_empty() {
            p.muted { "Keine Mitglieder verzeichnet." }
        } @else {
            table {
                thead { tr { th scope="col" { "Person" } th scope="col" { "Rolle" }
                    th scope="col" { "Von" } th scope="col" { "Bis" } } }
                tbody {
                    @for url in memberships {
                        @let ms = labels.get(url).map(|l| &l.value);
                        tr {
                            td { @if let Some(p) = ms.and_then(|v| text(v, "person")) { (labels.link(p)) } }
                            td { (ms.and_then(|v| text(v, "role")).unwrap_or("Mitglied")) }
                            td { (ms.and_then(|v| text(v, "startDate")).map(words::date).unwrap_or_default()) }
                            td { (ms.and_then(|v| text(v, "endDate")).map(words::date).unwrap_or_default()) }
                        }
                    }
                }
            }
        }
    }
}

/// A File's page: `m` are the members of `v`.
fn file(m: &Map<String, Value>, v: &Value) -> Markup {
    let body = text(v, "text").unwrap_or("");
    html! {
        (facts(m, &["fileName", "mimeType", "size", "date"], &Labels::default()))
        p { (file_line(v)) }
        @if !body.is_empty() {
            h2 { "Text" }
            details {
                summary { "Text der Datei anzeigen" }
                p.filetext { (body) }
            }
        }
    }
}

/// Links to every list of a Body, named by what they hold.
fn body(m: &Map<String, Value>) -> Markup {
    let lists: Vec<(&str, &str)> = crate::model::BODY_LISTS
        .iter()
        .filter_map(|(field, kind)| Some((words::kinds(*kind), m.get(*field)?.as_str()?)))
        .collect();
    html! {
        h2 { "Alle Listen" }
        ul { @for (name, url) in lists { li { a href=(url) { (name) } } } }
    }
}

/// A table of files: name (to the File's page), size, download.
fn files_table(files: &[&Value]) -> Markup {
    html! {
        @if files.is_empty() {
            p.muted { "Keine Dokumente." }
        } @else {
            ul { @for f in files { li { (file_line(f)) } } }
        }
    }
}

/// A file: its page, its type and size, and the link to its bytes.
fn file_line(f: &Value) -> Markup {
    let id = text(f, "id").unwrap_or("");
    let download = text(f, "downloadUrl").or(text(f, "accessUrl"));
    let mime = text(f, "mimeType").map(|m| match m {
        "application/pdf" => "PDF",
        "text/plain" => "Text",
        other => other,
    });
    let size = f.get("size").and_then(Value::as_u64).map(words::size);
    html! {
        a href=(id) { (label_of(Kind::File, f)) }
        @if mime.is_some() || size.is_some() {
            " " span.meta { "(" (mime.unwrap_or("")) @if mime.is_some() && size.is_some() { ", " } (size.unwrap_or_default()) ")" }
        }
        @if let Some(url) = download {
            " – " a href=(url) download { "Herunterladen" }
        }
    }
}

/// A definition list of these members, in this order, where present.
fn facts(m: &Map<String, Value>, keys: &[&str], labels: &Labels) -> Markup {
    let present: Vec<(&str, &Value)> = keys
        .iter()
        .filter_map(|k| m.get(*k).filter(|v| !is_empty(v)).map(|v| (*k, v)))
        .collect();
    html! {
        @if !present.is_empty() {
            dl.facts {
                @for (key, v) in present {
                    dt { (words::field(key)) }
                    dd { (any_value(key, v, labels)) }
                }
            }
        }
    }
}

/// Any member's value, readable: dates the German way, URLs as links
/// named by their objects, embedded objects as links to their pages.
fn any_value(key: &str, v: &Value, labels: &Labels) -> Markup {
    match v {
        Value::Bool(b) => html! { (words::yes_no(*b)) },
        Value::Number(n) if key == "size" => html! { (words::size(n.as_u64().unwrap_or(0))) },
        Value::Number(n) => html! { (n.to_string()) },
        Value::String(s) => string_value(key, s, labels),
        Value::Array(items) => html! {
            @if items.iter().all(|i| !i.is_object()) && items.len() <= 1 {
                @for i in items { (any_value(key, i, labels)) }
            } @else {
                ul { @for i in items { li { (any_value(key, i, labels)) } } }
            }
        },
        Value::Object(o) if key == "geojson" => coordinates(o),
        Value::Object(o) => match o.get("id").and_then(Value::as_str) {
            Some(id) => {
                let kind = o
                    .get("type")
                    .and_then(Value::as_str)
                    .and_then(Kind::from_type_uri)
                    .unwrap_or(Kind::File);
                html! { a href=(id) { (label_of(kind, v)) } }
            }
            None => html! {
                dl.facts { @for (k, x) in o { dt { (words::field(k)) } dd { (any_value(k, x, labels)) } } }
            },
        },
        Value::Null => html! {},
    }
}

fn string_value(key: &str, s: &str, labels: &Labels) -> Markup {
    if s.starts_with("http://") || s.starts_with("https://") {
        return labels.link(s);
    }
    if let Some(address) = s.strip_prefix("mailto:").or((key == "email").then_some(s)) {
        return html! { a href={ "mailto:" (address) } { (address) } };
    }
    match key {
        "start" | "end" | "created" | "modified" | "oparlSince" | "licenseValidSince" => {
            html! { time datetime=(s) { (words::date_time(s)) } }
        }
        "date" | "startDate" | "endDate" => html! { time datetime=(s) { (words::date(s)) } },
        "gender" => html! { (words::gender(s)) },
        _ => html! { (s) },
    }
}

/// A GeoJSON point as coordinates with a link to a map (a link, not an
/// embedded map: showing one would make the visitor's browser ask a map
/// server).
fn coordinates(o: &Map<String, Value>) -> Markup {
    let point = o
        .get("geometry")
        .and_then(|g| g.get("coordinates"))
        .or(o.get("coordinates"))
        .and_then(Value::as_array)
        .and_then(|c| Some((c.first()?.as_f64()?, c.get(1)?.as_f64()?)));
    match point {
        Some((lon, lat)) => html! {
            (format!("{lat:.5}° N, {lon:.5}° O")) " – "
            a href=(format!("https://www.openstreetmap.org/?mlat={lat:.6}&mlon={lon:.6}#map=17/{lat:.6}/{lon:.6}")) {
                "Auf OpenStreetMap ansehen"
            }
        },
        None => html! { span.muted { "Geometrie ohne Punkt" } },
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn flag(m: &Map<String, Value>, key: &str) -> bool {
    m.get(key).and_then(Value::as_bool) == Some(true)
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn array<'a>(m: &'a Map<String, Value>, key: &str) -> Vec<&'a Value> {
    m.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

fn strings_of<'a>(m: &'a Map<String, Value>, key: &str) -> Vec<&'a str> {
    array(m, key)
        .into_iter()
        .filter_map(Value::as_str)
        .collect()
}

fn strings<'a>(v: &'a Value, key: &str) -> Vec<&'a str> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}
