//! The catalogue as Turtle (RDF 1.1 Turtle, W3C Recommendation of
//! 25 February 2014): the same graph as its JSON-LD, written from the JSON-LD
//! document that `dcat::catalog` builds.
//!
//! That document has one shape, and only that shape is read here: a
//! `@context` of prefixes only, a `@graph` of node objects, and as values
//! plain strings, `{"@id"}` references, `{"@value", "@language"}` and
//! `{"@value", "@type"}` literals, nested node objects (with an `@id`: a
//! node of their own, written once as a block of its own; without: a blank
//! node written in place as `[ ... ]`) and arrays of these. Compact IRIs are
//! expanded with the context's prefixes and written back as prefixed names
//! where the local part allows it, as JSON-LD expands them (JSON-LD 1.1,
//! section 4.1.5 "Compact IRIs"), so both documents name the same terms.

use serde_json::{Map, Value};
use std::collections::HashSet;
use std::fmt::Write;

const XSD: &str = "http://www.w3.org/2001/XMLSchema#";

/// The document as Turtle.
pub fn write(doc: &Value) -> String {
    let prefixes: Vec<(String, String)> = doc["@context"]
        .as_object()
        .map(|c| {
            c.iter()
                .filter_map(|(p, v)| Some((p.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let w = Terms { prefixes };
    let mut out = String::new();
    for (prefix, iri) in &w.prefixes {
        let _ = writeln!(out, "@prefix {prefix}: {} .", w.bracketed(iri));
    }
    // Nodes with an `@id`, in order: the graph's, then those nested in them.
    let mut queue: std::collections::VecDeque<&Map<String, Value>> = doc["@graph"]
        .as_array()
        .map(|g| g.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    // A node embedded in several places (the publisher) has the same
    // triples each time: written once.
    let mut written: HashSet<String> = HashSet::new();
    let mut unnamed = 0;
    while let Some(node) = queue.pop_front() {
        let subject = match node.get("@id").and_then(Value::as_str) {
            Some(id) => w.node_id(id),
            None => {
                unnamed += 1;
                format!("_:node{unnamed}")
            }
        };
        let mut block = subject;
        let mut nested = Vec::new();
        w.properties(node, 1, &mut block, &mut nested);
        block.push_str(" .\n");
        queue.extend(nested);
        if written.insert(block.clone()) {
            out.push('\n');
            out.push_str(&block);
        }
    }
    out
}

/// How terms are written under the document's prefixes.
struct Terms {
    prefixes: Vec<(String, String)>,
}

impl Terms {
    /// A compact IRI expanded with the context's prefixes; anything else as
    /// it is. `prefix://...` is never a compact IRI.
    fn expand(&self, term: &str) -> String {
        if let Some((prefix, rest)) = term.split_once(':') {
            if !rest.starts_with("//") {
                if let Some((_, iri)) = self.prefixes.iter().find(|(p, _)| p == prefix) {
                    return format!("{iri}{rest}");
                }
            }
        }
        term.to_string()
    }

    /// A full IRI as a prefixed name where one fits, else `<...>`.
    fn iri(&self, iri: &str) -> String {
        let best = self
            .prefixes
            .iter()
            .filter_map(|(p, ns)| Some((p, iri.strip_prefix(ns.as_str())?)))
            .filter(|(_, local)| plain_local(local))
            .min_by_key(|(_, local)| local.len());
        match best {
            Some((prefix, local)) => format!("{prefix}:{local}"),
            None => self.bracketed(iri),
        }
    }

    /// `<iri>`. A character an IRIREF may not hold (Turtle grammar rule 18)
    /// is percent-encoded; the catalogue's IRIs are parsed URLs and hold
    /// none, so this only keeps a stray one from breaking the document.
    fn bracketed(&self, iri: &str) -> String {
        let mut out = String::with_capacity(iri.len() + 2);
        out.push('<');
        for c in iri.chars() {
            if c <= ' ' || "<>\"{}|^`\\".contains(c) {
                let mut buf = [0; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "%{b:02X}");
                }
            } else {
                out.push(c);
            }
        }
        out.push('>');
        out
    }

    /// The term of an `@id`: a blank node label as it is, else an IRI.
    fn node_id(&self, id: &str) -> String {
        match id.strip_prefix("_:") {
            Some(label) if plain_local(label) && !label.is_empty() => id.to_string(),
            // A label Turtle cannot hold as it is, spelt in hex.
            Some(label) => format!("_:x{}", crate::text::hex(label.as_bytes())),
            None => self.iri(&self.expand(id)),
        }
    }

    /// `a` and the predicate-object list of a node, each predicate on a
    /// line of its own at `depth`. Nested nodes with an `@id` are referred
    /// to and handed back in `nested`.
    fn properties<'a>(
        &self,
        node: &'a Map<String, Value>,
        depth: usize,
        out: &mut String,
        nested: &mut Vec<&'a Map<String, Value>>,
    ) {
        let indent = "    ".repeat(depth);
        let mut first = true;
        let mut predicate = |out: &mut String, name: &str| {
            out.push_str(if first { "\n" } else { " ;\n" });
            first = false;
            out.push_str(&indent);
            out.push_str(name);
            out.push(' ');
        };
        let types: Vec<&Value> = match node.get("@type") {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(t) => vec![t],
            None => Vec::new(),
        };
        let types: Vec<String> = types
            .into_iter()
            .filter_map(Value::as_str)
            .map(|t| self.iri(&self.expand(t)))
            .collect();
        if !types.is_empty() {
            predicate(out, "a");
            out.push_str(&types.join(", "));
        }
        for (key, value) in node {
            if key.starts_with('@') {
                continue;
            }
            let values: Vec<&Value> = match value {
                Value::Array(a) => a.iter().filter(|v| !v.is_null()).collect(),
                Value::Null => Vec::new(),
                v => vec![v],
            };
            if values.is_empty() {
                continue;
            }
            predicate(out, &self.iri(&self.expand(key)));
            for (i, v) in values.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                self.object(v, depth, out, nested);
            }
        }
    }

    /// One object of a triple.
    fn object<'a>(
        &self,
        value: &'a Value,
        depth: usize,
        out: &mut String,
        nested: &mut Vec<&'a Map<String, Value>>,
    ) {
        match value {
            Value::String(s) => out.push_str(&literal(s)),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => out.push_str(&self.number(n, None)),
            Value::Object(o) if o.contains_key("@value") => {
                let datatype = o
                    .get("@type")
                    .and_then(Value::as_str)
                    .map(|t| self.expand(t));
                match &o["@value"] {
                    Value::Number(n) => out.push_str(&self.number(n, datatype.as_deref())),
                    Value::Bool(b) => {
                        let dt = datatype.unwrap_or_else(|| format!("{XSD}boolean"));
                        let _ = write!(out, "{}^^{}", literal(&b.to_string()), self.iri(&dt));
                    }
                    v => {
                        let text = v.as_str().unwrap_or_default();
                        out.push_str(&literal(text));
                        if let Some(dt) = datatype {
                            out.push_str("^^");
                            out.push_str(&self.iri(&dt));
                        } else if let Some(lang) = o.get("@language").and_then(Value::as_str) {
                            if language_tag(lang) {
                                out.push('@');
                                out.push_str(lang);
                            }
                        }
                    }
                }
            }
            Value::Object(o) => match o.get("@id").and_then(Value::as_str) {
                Some(id) => {
                    out.push_str(&self.node_id(id));
                    if o.keys().any(|k| k != "@id") {
                        nested.push(o);
                    }
                }
                None => {
                    out.push('[');
                    self.properties(o, depth + 1, out, nested);
                    out.push('\n');
                    out.push_str(&"    ".repeat(depth));
                    out.push(']');
                }
            },
            // Not produced by the catalogue (arrays are unfolded above).
            Value::Array(_) | Value::Null => out.push_str(&literal("")),
        }
    }

    /// A JSON number as JSON-LD turns it into a literal (JSON-LD 1.1
    /// Processing Algorithms, "Object to RDF Conversion"): an integer in
    /// its decimal form, typed as given or `xsd:integer`; any other number
    /// as a canonical `xsd:double`.
    fn number(&self, n: &serde_json::Number, datatype: Option<&str>) -> String {
        let double = format!("{XSD}double");
        match (
            n.as_i64()
                .map(|i| i.to_string())
                .or(n.as_u64().map(|u| u.to_string())),
            datatype,
        ) {
            (Some(int), Some(dt)) if dt != double => format!("{}^^{}", literal(&int), self.iri(dt)),
            (Some(int), None) => int,
            _ => {
                let f = n.as_f64().unwrap_or_default();
                let dt = datatype.unwrap_or(&double);
                format!("{}^^{}", literal(&canonical_double(f)), self.iri(dt))
            }
        }
    }
}

/// `1.5E0`, `1.0E3`: the canonical form JSON-LD gives a double.
fn canonical_double(f: f64) -> String {
    let text = format!("{f:E}");
    match text.split_once('E') {
        Some((mantissa, exp)) if !mantissa.contains('.') => format!("{mantissa}.0E{exp}"),
        _ => text,
    }
}

/// Whether a local name (or blank node label) can be written as it is: a
/// conservative part of Turtle's PN_LOCAL (letters, digits, `_` and `-`,
/// not starting with `-`), so that no escape is ever needed.
fn plain_local(local: &str) -> bool {
    local
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && !local.starts_with('-')
}

/// A BCP 47 tag as Turtle's LANGTAG admits it.
fn language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    parts
        .next()
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphabetic()))
        && parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A string as a Turtle STRING_LITERAL_QUOTE: the quote, the backslash and
/// line breaks as the escapes of Turtle section 6.4 (ECHAR), other control
/// characters as `\uXXXX` (UCHAR); everything else, non-ASCII included,
/// as it is (a Turtle document is UTF-8).
pub fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn awkward_strings_are_escaped_exactly() {
        assert_eq!(
            literal("Rat \"Nord\"\\Süd\nzweite Zeile\r\tTab\u{8}\u{c}\u{1}\u{7f}ß✓"),
            "\"Rat \\\"Nord\\\"\\\\Süd\\nzweite Zeile\\r\\tTab\\b\\f\\u0001\\u007Fß✓\""
        );
        assert_eq!(literal(""), "\"\"");
        assert_eq!(literal("'single'"), "\"'single'\"");
    }

    #[test]
    fn a_small_graph_is_written_exactly() {
        let doc = json!({
            "@context": {
                "dct": "http://purl.org/dc/terms/",
                "xsd": "http://www.w3.org/2001/XMLSchema#",
                "ex": "http://example.org/ns#",
            },
            "@graph": [{
                "@id": "http://example.org/a",
                "@type": "ex:Thing",
                "dct:title": { "@value": "Stadt \"Süd\"\n", "@language": "de" },
                "dct:identifier": "http://example.org/a",
                "ex:size": { "@value": 42, "@type": "xsd:nonNegativeInteger" },
                "ex:day": { "@value": "2024-01-31", "@type": "xsd:date" },
                "ex:link": [{ "@id": "http://example.org/b c" }, { "@id": "ex:local" }],
                "ex:by": { "@id": "_:pub", "@type": "ex:Agent", "ex:name": "P" },
                "ex:again": { "@id": "_:pub", "@type": "ex:Agent", "ex:name": "P" },
                "ex:period": { "@type": "ex:Period", "ex:n": 3 },
                "http://other.example/p": { "@id": "http://other.example/x.y" },
            }],
        });
        let expected = "\
@prefix dct: <http://purl.org/dc/terms/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex: <http://example.org/ns#> .

<http://example.org/a>
    a ex:Thing ;
    dct:title \"Stadt \\\"Süd\\\"\\n\"@de ;
    dct:identifier \"http://example.org/a\" ;
    ex:size \"42\"^^xsd:nonNegativeInteger ;
    ex:day \"2024-01-31\"^^xsd:date ;
    ex:link <http://example.org/b%20c>, ex:local ;
    ex:by _:pub ;
    ex:again _:pub ;
    ex:period [
        a ex:Period ;
        ex:n 3
    ] ;
    <http://other.example/p> <http://other.example/x.y> .

_:pub
    a ex:Agent ;
    ex:name \"P\" .
";
        assert_eq!(write(&doc), expected);
    }
}
