//! HTML pages for people, rendered from what the store loaded: the same
//! URLs as the API, chosen by content negotiation (`api::negotiate`).
//! What a page shows is loaded by `api::pages` (queries only); the modules
//! here render it (no queries: they take the loaded values and return the
//! page's text):
//! one object in `object`, lists and search results in `lists`, the start
//! page in `start`, the frame of every page and the stylesheet in
//! `layout`, German words and date formats in `words`.
//!
//! The pages use no script, no font and no image from anywhere: a visitor's
//! browser asks this server alone.

pub mod layout;
pub mod lists;
pub mod object;
pub mod start;
pub mod words;

use crate::model::Kind;
use maud::{html, Markup};
use serde_json::Value;
use std::collections::HashMap;

/// What a page says about an object it refers to: its kind and a short
/// readable name, by URL.
#[derive(Debug, Default, Clone)]
pub struct Labels(HashMap<String, Label>);

#[derive(Debug, Clone)]
pub struct Label {
    pub kind: Kind,
    pub text: String,
    pub deleted: bool,
    /// The object's JSON, for pages that show more of it than its name
    /// (the role of a Membership, the Paper of a Consultation).
    pub value: Value,
}

impl Labels {
    pub fn insert(&mut self, url: String, label: Label) {
        self.0.insert(url, label);
    }

    pub fn get(&self, url: &str) -> Option<&Label> {
        self.0.get(url)
    }

    /// A link to the object at this URL, named by its label (the URL
    /// itself for an object this server does not hold).
    pub fn link(&self, url: &str) -> Markup {
        match self.0.get(url) {
            Some(l) if l.deleted => html! { a href=(url) { (l.text) } " " span.tag { "gelöscht" } },
            Some(l) => html! { a href=(url) { (l.text) } },
            None => html! { a href=(url) { (url) } },
        }
    }

    /// Links to the objects at these URLs, as a list (or the one link).
    pub fn links(&self, urls: &[&str]) -> Markup {
        match urls {
            [] => html! {},
            [one] => self.link(one),
            many => html! { ul { @for url in many { li { (self.link(url)) } } } },
        }
    }
}

/// The readable name of an object from its JSON: what a person would call
/// it (a Paper by reference and title, a Meeting by name and day).
pub fn label_of(kind: Kind, value: &Value) -> String {
    let s = |k: &str| value.get(k).and_then(Value::as_str).unwrap_or("").trim();
    let text = match kind {
        Kind::Paper => join(&[s("reference"), s("name")], " "),
        Kind::Meeting => {
            let day = words::date(s("start"));
            match (s("name"), day.is_empty()) {
                ("", _) => day,
                (name, true) => name.to_string(),
                (name, false) => format!("{name} am {day}"),
            }
        }
        Kind::AgendaItem => join(&[s("number"), s("name")], " "),
        Kind::Person => {
            let full = join(&[s("title"), s("givenName"), s("familyName")], " ");
            if s("name").is_empty() {
                full
            } else {
                s("name").to_string()
            }
        }
        Kind::File => {
            if s("name").is_empty() {
                s("fileName").to_string()
            } else {
                s("name").to_string()
            }
        }
        Kind::Location => {
            if s("description").is_empty() {
                join(&[s("streetAddress"), s("locality")], ", ")
            } else {
                s("description").to_string()
            }
        }
        Kind::Membership => s("role").to_string(),
        Kind::Consultation => s("role").to_string(),
        _ => s("name").to_string(),
    };
    if text.is_empty() {
        format!("{} {}", words::kind(kind), id_number(value))
    } else {
        text
    }
}

/// The number at the end of an object's id, for objects without a name.
fn id_number(value: &Value) -> &str {
    value
        .get("id")
        .and_then(Value::as_str)
        .and_then(|id| id.rsplit('/').next())
        .unwrap_or("")
}

fn join(parts: &[&str], sep: &str) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(sep)
}
