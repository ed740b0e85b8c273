//! Feeds (Atom, RFC 4287): the newest papers of a Body or an Organization,
//! the meetings of a Body or an Organization, and any search. Rendered
//! from what `api::pages` loaded; no queries here.
//!
//! An entry's id is the object's URL (stable for ever), its `updated` the
//! object's `modified`, so a feed reader shows a changed paper again; each
//! entry links to the page and to the JSON.

use chrono::{DateTime, SecondsFormat, Utc};

/// One object as an entry.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    /// The object's URL: id and link of the entry.
    pub url: String,
    pub title: String,
    /// Unix seconds.
    pub updated: i64,
    pub published: Option<i64>,
    /// Plain text.
    pub summary: Option<String>,
}

/// What a feed says of itself.
#[derive(Debug, Clone, Default)]
pub struct Feed {
    /// The feed's own URL: its id and `self` link.
    pub url: String,
    pub title: String,
    /// The page the feed follows, for people.
    pub page: String,
    /// Who publishes it (the System's name).
    pub author: String,
}

pub fn feed(feed: &Feed, entries: &[Entry]) -> String {
    let updated = entries.iter().map(|e| e.updated).max().unwrap_or(0);
    let mut out = String::with_capacity(1024 + entries.len() * 600);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"de\">\n");
    element(&mut out, "id", &feed.url);
    element(&mut out, "title", &feed.title);
    element(&mut out, "updated", &time(updated));
    out.push_str(&format!(
        "<link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n",
        escape(&feed.url)
    ));
    out.push_str(&format!(
        "<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
        escape(&feed.page)
    ));
    out.push_str("<author>");
    element(&mut out, "name", &feed.author);
    out.push_str("</author>\n");
    out.push_str("<generator>OParl-Server</generator>\n");
    for e in entries {
        out.push_str("<entry>\n");
        element(&mut out, "id", &e.url);
        element(&mut out, "title", &e.title);
        element(&mut out, "updated", &time(e.updated));
        if let Some(p) = e.published {
            element(&mut out, "published", &time(p));
        }
        out.push_str(&format!(
            "<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
            escape(&e.url)
        ));
        out.push_str(&format!(
            "<link rel=\"alternate\" type=\"application/json\" href=\"{}?format=json\"/>\n",
            escape(&e.url)
        ));
        if let Some(s) = &e.summary {
            element(&mut out, "summary", s);
        }
        out.push_str("</entry>\n");
    }
    out.push_str("</feed>\n");
    out
}

fn element(out: &mut String, name: &str, text: &str) {
    out.push_str(&format!("<{name}>{}</{name}>\n", escape(text)));
}

/// Text for XML: the five special characters escaped, and characters XML
/// 1.0 does not allow left out.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// An RFC 3339 time (RFC 4287 §3.3).
fn time(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_times_are_rfc3339() {
        let text = feed(
            &Feed {
                url: "https://x/search?q=a&format=atom".into(),
                title: "Suche <Radweg>".into(),
                page: "https://x/search?q=a".into(),
                author: "Stadt".into(),
            },
            &[Entry {
                url: "https://x/paper/1".into(),
                title: "A & B\u{1}".into(),
                updated: 1_700_000_000,
                ..Entry::default()
            }],
        );
        assert!(text.contains("<title>Suche &lt;Radweg&gt;</title>"));
        assert!(text.contains("href=\"https://x/search?q=a&amp;format=atom\""));
        assert!(text.contains("<title>A &amp; B</title>"));
        assert!(text.contains("<updated>2023-11-14T22:13:20Z</updated>"));
    }
}
