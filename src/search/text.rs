//! Words of a text as the index keeps them: split at everything that is
//! neither letter nor digit, lowercased, folded (umlauts and other Latin
//! diacritics to the base letter, ß to ss, so that "Strasse" meets "Straße")
//! and stemmed with the Snowball German stemmer ("Anträge" and "Antrag"
//! become one term). The index and the query go through the same functions,
//! on both backends, so both find the same.

use rust_stemmers::{Algorithm, Stemmer};
use std::sync::OnceLock;

/// Words longer than this are cut (a URL or a run of garbage in a PDF's
/// text is no word anyone types).
const MAX_WORD_CHARS: usize = 48;

fn stemmer() -> &'static Stemmer {
    static STEMMER: OnceLock<Stemmer> = OnceLock::new();
    STEMMER.get_or_init(|| Stemmer::create(Algorithm::German))
}

/// The words of a text, as they stand (for snippets: the byte range of
/// each word in `text`).
pub fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(move |w| (w.as_ptr() as usize - text.as_ptr() as usize, w))
}

/// Lowercase, umlauts and diacritics folded to the base letter, ß to ss.
pub fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars().take(MAX_WORD_CHARS) {
        for c in c.to_lowercase() {
            match c {
                'ß' => out.push_str("ss"),
                'ä' | 'à' | 'á' | 'â' | 'ã' | 'å' => out.push('a'),
                'ö' | 'ò' | 'ó' | 'ô' | 'õ' | 'ø' => out.push('o'),
                'ü' | 'ù' | 'ú' | 'û' => out.push('u'),
                'é' | 'è' | 'ê' | 'ë' => out.push('e'),
                'í' | 'ì' | 'î' | 'ï' => out.push('i'),
                'ç' => out.push('c'),
                'ñ' => out.push('n'),
                c => out.push(c),
            }
        }
    }
    out
}

/// The index term of one word: folded, then stemmed.
pub fn term(word: &str) -> String {
    let folded = fold(word);
    stemmer().stem(&folded).into_owned()
}

/// The terms of a text, in order.
pub fn terms(text: &str) -> impl Iterator<Item = String> + '_ {
    words(text).map(|(_, w)| term(w))
}

/// The terms of a text joined by spaces, as the index stores them, at most
/// `max` of them.
pub fn indexed(pieces: &[String], max: usize) -> String {
    let mut out = String::new();
    for t in pieces.iter().flat_map(|p| terms(p)).take(max) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&t);
    }
    out
}

/// The key a paper's reference is found by: its letters and digits,
/// folded, e.g. `VO/2026/123` → `vo2026123`.
pub fn reference_key(reference: &str) -> String {
    words(reference).map(|(_, w)| fold(w)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_words_meet_their_forms() {
        assert_eq!(term("Anträge"), term("Antrag"));
        assert_eq!(term("Radwege"), term("Radweg"));
        assert_eq!(term("Straße"), term("Strasse"));
        assert_eq!(term("Schloßberg"), term("Schlossberg"));
        assert_eq!(term("STADT"), term("stadt"));
        assert_eq!(reference_key("VO/2026/123"), "vo2026123");
        let w: Vec<_> = words("a-b (c)").collect();
        assert_eq!(w, vec![(0, "a"), (2, "b"), (5, "c")]);
    }
}
