//! Pages of many objects: a list of the API (with its filters as a form
//! and its pages as links) and the search (with its filters, result count
//! and highlighted snippets).

use super::layout::{page, Frame};
use super::object::item_line;
use super::words;
use super::Labels;
use crate::model::Kind;
use maud::{html, Markup, PreEscaped};
use serde_json::Value;

/// The filters of a list as the form shows them (dates `yyyy-mm-dd`).
#[derive(Debug, Clone, Default)]
pub struct ListForm {
    pub action: String,
    pub created_since: String,
    pub created_until: String,
    pub modified_since: String,
    pub modified_until: String,
}

/// A page of a list: `json` is the list page as the API answers it.
pub fn list(frame: &Frame, kind: Kind, json: &Value, form: &ListForm, labels: &Labels) -> String {
    let items = data(json);
    let next = json.pointer("/links/next").and_then(Value::as_str);
    let first = json.pointer("/links/first").and_then(Value::as_str);
    let content = html! {
        form.filters method="get" action=(form.action) {
            (date_field("created_since", "Angelegt ab", &form.created_since))
            (date_field("created_until", "Angelegt bis", &form.created_until))
            (date_field("modified_since", "Geändert ab", &form.modified_since))
            (date_field("modified_until", "Geändert bis", &form.modified_until))
            button type="submit" { "Filtern" }
        }
        @if items.is_empty() {
            p.muted { "Keine Einträge." }
        } @else {
            ul {
                @for item in items {
                    li {
                        (entry(kind, item))
                        @if let Some(url) = context_of(kind, item) {
                            " – " (labels.link(url))
                        }
                    }
                }
            }
        }
        (pages(first, next, "Erste Seite", "Nächste Seite"))
    };
    page(frame, content)
}

/// What an entry of a list belongs to, named beside it: a Consultation's
/// Paper, an AgendaItem's Meeting, a Membership's Person.
pub fn context_of(kind: Kind, item: &Value) -> Option<&str> {
    let key = match kind {
        Kind::Consultation => "paper",
        Kind::AgendaItem => "meeting",
        Kind::Membership => "person",
        _ => return None,
    };
    item.get(key).and_then(Value::as_str)
}

fn entry(kind: Kind, item: &Value) -> Markup {
    if item.get("deleted").and_then(Value::as_bool) == Some(true) {
        let id = item.get("id").and_then(Value::as_str).unwrap_or("");
        return html! { a href=(id) { (words::kind(kind)) " (gelöscht)" } };
    }
    item_line(kind, item)
}

fn date_field(name: &str, text: &str, value: &str) -> Markup {
    html! {
        label for=(name) {
            (text)
            input #(name) type="date" name=(name) value=(value);
        }
    }
}

fn pages(first: Option<&str>, next: Option<&str>, first_text: &str, next_text: &str) -> Markup {
    html! {
        nav.pages aria-label="Seiten" {
            @if let Some(first) = first { a href=(first) { (first_text) } }
            @if let Some(next) = next { a href=(next) rel="next" { (next_text) } }
        }
    }
}

/// The search form's state.
#[derive(Debug, Clone, Default)]
pub struct SearchForm {
    pub action: String,
    pub q: String,
    /// Type names checked (none: all).
    pub types: Vec<String>,
    pub sort_by_date: bool,
    pub date_since: String,
    pub date_until: String,
    /// Hidden parameters kept (the Body, the Organization).
    pub kept: Vec<(String, String)>,
}

/// The types a search can be narrowed to, with their German names.
const SEARCH_TYPES: [(Kind, &str); 6] = [
    (Kind::Paper, "Drucksachen"),
    (Kind::Meeting, "Sitzungen"),
    (Kind::AgendaItem, "Tagesordnungspunkte"),
    (Kind::File, "Dateien"),
    (Kind::Person, "Personen"),
    (Kind::Organization, "Gremien"),
];

/// The search page: the form, and the hits of `json` (the API's answer)
/// when a query was given.
pub fn search(frame: &Frame, json: Option<&Value>, form: &SearchForm) -> String {
    let content = html! {
        form.filters role="search" method="get" action=(form.action) {
            label for="suche" {
                "Suchbegriffe"
                input #suche type="search" name="q" value=(form.q) required;
            }
            fieldset {
                legend { "Nur" }
                @for (kind, text) in SEARCH_TYPES {
                    @let id = format!("typ-{}", kind.name());
                    input #(id) type="checkbox" name="type" value=(kind.name())
                        checked[form.types.iter().any(|t| t == kind.name())];
                    label for=(id) { (text) } " "
                }
            }
            (date_field("date_since", "Datum ab", &form.date_since))
            (date_field("date_until", "Datum bis", &form.date_until))
            label for="sortierung" {
                "Sortierung"
                select #sortierung name="sort" {
                    option value="relevance" selected[!form.sort_by_date] { "Relevanz" }
                    option value="date" selected[form.sort_by_date] { "Datum" }
                }
            }
            @for (name, value) in &form.kept {
                input type="hidden" name=(name) value=(value);
            }
            button type="submit" { "Suchen" }
        }
        @if let Some(json) = json { (hits(json)) }
    };
    page(frame, content)
}

fn hits(json: &Value) -> Markup {
    let items = data(json);
    let total = json
        .pointer("/pagination/totalElements")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let next = json.pointer("/links/next").and_then(Value::as_str);
    html! {
        p role="status" {
            @match total {
                0 => "Keine Treffer.",
                1 => "1 Treffer",
                n => { (n) " Treffer" }
            }
        }
        ul.hits {
            @for item in items {
                @let kind = kind_of(item);
                li {
                    span.tag { (words::kind(kind)) } " "
                    (item_line(kind, item))
                    @if let Some(snippet) = item.get(crate::api::search::SNIPPET_PROPERTY).and_then(Value::as_str) {
                        // Escaped by the search, with the words found in <mark>.
                        br; span.snippet { (PreEscaped(snippet)) }
                    }
                }
            }
        }
        (pages(None, next, "", "Weitere Treffer"))
    }
}

/// A page of the change feed: each changed object with its kind, newest
/// last (the feed's order), and the way on.
pub fn changes(frame: &Frame, json: &Value) -> String {
    let items = data(json);
    let next = json.pointer("/links/next").and_then(Value::as_str);
    let content = html! {
        p {
            "Jede Änderung am Datenbestand, in der Reihenfolge, in der sie gespeichert wurde. "
            "Für Programme: dieselbe Adresse liefert JSON."
        }
        @if items.is_empty() {
            p.muted { "Keine Änderungen." }
        } @else {
            ol {
                @for item in items {
                    @let kind = kind_of(item);
                    li {
                        span.tag { (words::kind(kind)) } " "
                        (entry(kind, item))
                        @if let Some(m) = item.get("modified").and_then(Value::as_str) {
                            " " span.meta { "geändert " (words::date_time(m)) }
                        }
                    }
                }
            }
        }
        (pages(None, next, "", "Weitere Änderungen"))
    };
    page(frame, content)
}

fn kind_of(item: &Value) -> Kind {
    item.get("type")
        .and_then(Value::as_str)
        .and_then(Kind::from_type_uri)
        .unwrap_or(Kind::Paper)
}

/// The entries of a list page (`data`), none when it has no such member.
fn data(json: &Value) -> &[Value] {
    json.get("data")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}
