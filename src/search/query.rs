//! The query language a citizen types, parsed into terms the index knows:
//!
//! - words: all must match (`Radweg Schule`);
//! - `"a phrase"`: these words in this order (an unclosed quote runs to the
//!   end of the query);
//! - `-word` or `-"a phrase"`: must not match;
//! - `ODER` / `OR` between two parts: either may match;
//! - the last word also finds words it begins (search as you type), when it
//!   has at least three letters and is not quoted or excluded;
//! - a word with a digit and a separator, such as `0123/2026` or
//!   `VO/2026/123`, is a phrase of its parts, and a Paper with exactly this
//!   reference comes first.
//!
//! Everything else a user may type (the engines' own operators `NEAR`, `*`,
//! `:`, `^`, parentheses, `&`, `|`, `!`) is not an operator here: every term
//! is letters and digits only, quoted when handed to the engine, so no
//! input reaches either engine's parser as syntax.

use super::text;

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 400;
/// Most words (and phrases) in one query.
const MAX_PARTS: usize = 32;
/// Shortest last word that also finds longer words.
const MIN_PREFIX_CHARS: usize = 3;

/// One thing to match: a term, a phrase of terms, or a term's prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Term(String),
    Phrase(Vec<String>),
    Prefix(String),
}

/// A parsed query: every group must match (a group matches when one of its
/// items does), no excluded item may.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub groups: Vec<Vec<Item>>,
    pub excluded: Vec<Item>,
    /// Reference keys (see `text::reference_key`) that rank a Paper first.
    pub references: Vec<String>,
}

/// Why a query cannot be run, for the Error object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError(pub String);

/// One part of the raw query before terms are made.
struct Raw {
    text: String,
    quoted: bool,
    negated: bool,
    /// Followed by whitespace or a closing quote (not typed to the end).
    closed: bool,
}

impl Query {
    pub fn parse(q: &str) -> Result<Query, QueryError> {
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError(format!(
                "the query is longer than {MAX_QUERY_CHARS} characters"
            )));
        }
        let raws = split(q);
        if raws.len() > MAX_PARTS {
            return Err(QueryError(format!(
                "the query has more than {MAX_PARTS} words"
            )));
        }
        let mut query = Query::default();
        let mut join_next = false;
        let last = raws.len().saturating_sub(1);
        for (i, raw) in raws.iter().enumerate() {
            if !raw.quoted && !raw.negated && matches!(raw.text.as_str(), "ODER" | "OR") {
                join_next = !query.groups.is_empty();
                continue;
            }
            let terms: Vec<String> = text::terms(&raw.text).collect();
            if terms.is_empty() {
                continue;
            }
            let item = if terms.len() > 1 || raw.quoted {
                if terms.len() == 1 {
                    Item::Term(terms[0].clone())
                } else {
                    Item::Phrase(terms)
                }
            } else if i == last
                && !raw.closed
                && !raw.negated
                && raw.text.chars().filter(|c| c.is_alphanumeric()).count() >= MIN_PREFIX_CHARS
            {
                Item::Prefix(terms[0].clone())
            } else {
                Item::Term(terms[0].clone())
            };
            if !raw.quoted && raw.text.chars().any(|c| c.is_ascii_digit()) {
                let key = text::reference_key(&raw.text);
                if key.len() > 1 && !query.references.contains(&key) {
                    query.references.push(key);
                }
            }
            if raw.negated {
                query.excluded.push(item);
                join_next = false;
            } else if join_next {
                query
                    .groups
                    .last_mut()
                    .expect("join_next needs a group")
                    .push(item);
                join_next = false;
            } else {
                query.groups.push(vec![item]);
            }
        }
        if query.groups.is_empty() {
            return Err(QueryError(
                "the query needs at least one word to find (letters or digits, not only excluded)"
                    .into(),
            ));
        }
        Ok(query)
    }

    /// Every term that a hit may show, for snippets: terms and prefixes of
    /// the groups (excluded ones never show).
    pub fn shown(&self) -> Vec<Item> {
        let mut out = Vec::new();
        for item in self.groups.iter().flatten() {
            match item {
                Item::Phrase(ts) => out.extend(ts.iter().cloned().map(Item::Term)),
                other => out.push(other.clone()),
            }
        }
        out
    }

    /// The query in FTS5's syntax: every term double-quoted.
    pub fn fts5(&self) -> String {
        fn item(i: &Item) -> String {
            match i {
                Item::Term(t) => format!("\"{t}\""),
                Item::Phrase(ts) => format!("\"{}\"", ts.join(" ")),
                Item::Prefix(t) => format!("\"{t}\"*"),
            }
        }
        let any = |items: &[Item]| {
            let parts: Vec<String> = items.iter().map(item).collect();
            format!("({})", parts.join(" OR "))
        };
        let mut out: Vec<String> = self.groups.iter().map(|g| any(g)).collect();
        let mut text = out.join(" AND ");
        if !self.excluded.is_empty() {
            out = vec![text, any(&self.excluded)];
            text = out.join(" NOT ");
        }
        text
    }

    /// The query in PostgreSQL's `to_tsquery` syntax (over the `simple`
    /// configuration: the terms are stemmed already): every term quoted.
    pub fn tsquery(&self) -> String {
        fn item(i: &Item) -> String {
            match i {
                Item::Term(t) => format!("'{t}'"),
                Item::Phrase(ts) => {
                    let parts: Vec<String> = ts.iter().map(|t| format!("'{t}'")).collect();
                    format!("({})", parts.join(" <-> "))
                }
                Item::Prefix(t) => format!("'{t}':*"),
            }
        }
        let any = |items: &[Item]| {
            let parts: Vec<String> = items.iter().map(item).collect();
            format!("({})", parts.join(" | "))
        };
        let mut parts: Vec<String> = self.groups.iter().map(|g| any(g)).collect();
        if !self.excluded.is_empty() {
            parts.push(format!("!{}", any(&self.excluded)));
        }
        parts.join(" & ")
    }
}

/// Split the raw query into words and quoted phrases, each maybe negated.
fn split(q: &str) -> Vec<Raw> {
    let mut out = Vec::new();
    let mut chars = q.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else { break };
        let negated = first == '-';
        if negated {
            chars.next();
        }
        let mut text = String::new();
        let quoted = chars.next_if_eq(&'"').is_some();
        let closed = if quoted {
            let mut closed = false;
            for c in chars.by_ref() {
                if c == '"' {
                    closed = true;
                    break;
                }
                text.push(c);
            }
            closed
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '"') {
                text.push(c);
            }
            chars.peek().is_some()
        };
        out.push(Raw {
            text,
            quoted,
            negated,
            closed,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(w: &str) -> Item {
        Item::Term(text::term(w))
    }

    #[test]
    fn the_language() {
        let q = Query::parse("Radweg \"neue Schule\" -Bahnhof Anträge ODER Antrag Stad").unwrap();
        assert_eq!(q.groups.len(), 4);
        assert_eq!(q.groups[0], vec![t("Radweg")]);
        assert_eq!(
            q.groups[1],
            vec![Item::Phrase(vec![text::term("neue"), text::term("Schule")])]
        );
        assert_eq!(q.groups[2], vec![t("Anträge"), t("Antrag")]);
        assert_eq!(q.groups[3], vec![Item::Prefix(text::term("Stad"))]);
        assert_eq!(q.excluded, vec![t("Bahnhof")]);
        assert_eq!(
            Query::parse("VO/2026/123").unwrap().references,
            vec!["vo2026123".to_string()]
        );
    }

    #[test]
    fn hostile_input_is_words_or_an_error() {
        for bad in ["", "   ", "-foo", "* : ^ ( ) & | !", "\"", "-\"a b\""] {
            assert!(Query::parse(bad).is_err(), "{bad}");
        }
        let long = "a ".repeat(300);
        assert!(Query::parse(&long).is_err());
        for odd in [
            "NEAR(a b)",
            "a:b^2",
            "(rad",
            "\"unclosed phrase",
            "a & b | !c",
            "OR rad",
        ] {
            let q = Query::parse(odd).unwrap();
            for item in q.groups.iter().flatten().chain(&q.excluded) {
                let terms = match item {
                    Item::Term(t) | Item::Prefix(t) => vec![t.clone()],
                    Item::Phrase(ts) => ts.clone(),
                };
                for t in terms {
                    assert!(
                        !t.is_empty() && t.chars().all(char::is_alphanumeric),
                        "{odd}: {t}"
                    );
                }
            }
        }
    }
}
