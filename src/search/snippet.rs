//! The highlighted snippet of a hit (`server:snippet`): a short piece of
//! the first of its texts that shows a word of the query, HTML-escaped,
//! with each such word in `<mark>…</mark>` and `…` where the text was cut.
//! Made from the object's texts as they stand, not from the index (which
//! holds stems), for the few hits of one page.

use super::document::Document;
use super::query::Item;
use super::text;

/// Characters shown before the first marked word, and in all.
const BEFORE: usize = 60;
const LENGTH: usize = 200;

/// The snippet of a document for these items of the query; None when it
/// has no text at all.
pub fn snippet(doc: &Document, shown: &[Item]) -> Option<String> {
    let matches = |word: &str| {
        let term = text::term(word);
        shown.iter().any(|i| match i {
            Item::Term(t) => *t == term,
            Item::Prefix(p) => {
                term.starts_with(p.as_str()) || text::fold(word).starts_with(p.as_str())
            }
            Item::Phrase(_) => false,
        })
    };
    let pieces = || doc.head.iter().chain(&doc.body);
    let (piece, first) = pieces()
        .find_map(|p| {
            text::words(p)
                .find(|(_, w)| matches(w))
                .map(|(at, _)| (p, at))
        })
        .or_else(|| pieces().find(|p| !p.trim().is_empty()).map(|p| (p, 0)))?;
    // A window around the first match, cut at character boundaries.
    let start = floor_char(piece, first.saturating_sub(BEFORE));
    let start = if start > 0 {
        // Begin at a word.
        piece[start..]
            .find(char::is_whitespace)
            .map_or(start, |i| start + i + 1)
            .min(first)
    } else {
        0
    };
    let end = floor_char(piece, (start + LENGTH).min(piece.len()));
    let window = &piece[start..end];
    let mut out = String::with_capacity(window.len() + 32);
    if start > 0 {
        out.push('…');
    }
    let mut last = 0;
    for (at, word) in text::words(window) {
        if matches(word) {
            escape(&mut out, &window[last..at]);
            out.push_str("<mark>");
            escape(&mut out, word);
            out.push_str("</mark>");
            last = at + word.len();
        }
    }
    escape(&mut out, &window[last..]);
    if end < piece.len() {
        out.push('…');
    }
    Some(out.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn escape(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    #[test]
    fn marks_the_words_found_and_escapes_the_rest() {
        let doc = Document {
            pk: 1,
            kind: Kind::Paper,
            date: None,
            reference: None,
            head: vec!["Radwege <am> Schloßberg".into()],
            body: vec![],
        };
        let shown = vec![
            Item::Term(text::term("Schlossberg")),
            Item::Prefix("rad".into()),
        ];
        assert_eq!(
            snippet(&doc, &shown).unwrap(),
            "<mark>Radwege</mark> &lt;am&gt; <mark>Schloßberg</mark>"
        );
    }
}
