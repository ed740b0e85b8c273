//! The text of a File's bytes, for `File.text` (OParl 1.1, 7.10: "Text
//! version of the file contents") and so for the full-text search: plain
//! text as it is, PDFs through `lopdf`. It runs where bytes arrive (an
//! import with `--with-files`, the write API's content upload, the demo
//! city), never while answering a read.

use lopdf::content::Content;
use lopdf::{Document, Encoding, Object, ObjectId};
use std::collections::BTreeMap;

/// What the bytes of a File gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extracted {
    /// Text, its whitespace collapsed (runs of blanks to one space, no
    /// empty lines), so that search snippets read well.
    Text(String),
    /// A readable PDF that shows no text: a scan, or drawings only.
    NoTextLayer,
    /// Bytes that claim a readable format but could not be read; why.
    Unreadable(String),
    /// A format nothing here reads (images, office documents, ...).
    NotSupported,
}

impl Extracted {
    /// The text, if any: what `File.text` gets.
    pub fn into_text(self) -> Option<String> {
        match self {
            Extracted::Text(text) => Some(text),
            _ => None,
        }
    }
}

/// Larger PDFs are not read. `lopdf` holds the whole document and its
/// objects in memory; council documents with text are rarely over a few
/// MiB, and the larger ones are mostly scans that would give nothing.
pub const MAX_PDF_BYTES: usize = 64 << 20;

/// The decompressed content of one page, and of one font's encoding data,
/// may be at most this large: a small stream that inflates without limit
/// (a "zip bomb") is then an error, not an exhausted memory.
const MAX_DECOMPRESSED_BYTES: usize = 32 << 20;

/// The text kept of one File. `File.text` is part of every File's JSON,
/// also where it is embedded in a Paper or Meeting, so it must not grow
/// without bound; the first MiB holds what a search needs of a document.
pub const MAX_TEXT_BYTES: usize = 1 << 20;

/// The text of a File's bytes, judged by its media type (parameters such as
/// `; charset=...` are ignored). A PDF served as `application/octet-stream`
/// or without a type is recognised by its `%PDF-` header.
pub fn extract(mime: &str, bytes: &[u8]) -> Extracted {
    if reads_as_pdf(mime, bytes) {
        return pdf(bytes);
    }
    if essence(mime) == "text/plain" {
        return match std::str::from_utf8(bytes) {
            Ok(text) => Extracted::Text(text.to_string()),
            Err(_) => Extracted::Unreadable("the text is not UTF-8".into()),
        };
    }
    Extracted::NotSupported
}

/// Whether [`extract`] reads these bytes as a PDF (and so gives what
/// [`pdf`] gives): a caller may read a PDF early, outside a lock, and use
/// the result when the media type is settled.
pub fn reads_as_pdf(mime: &str, bytes: &[u8]) -> bool {
    match essence(mime).as_str() {
        "application/pdf" | "application/x-pdf" => true,
        "" | "application/octet-stream" => bytes.starts_with(b"%PDF-"),
        _ => false,
    }
}

fn essence(mime: &str) -> String {
    mime.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Whether a media type (or, without one, the bytes) says PDF: the files
/// an import counts when they give no text.
pub fn is_pdf(mime: &str, bytes: &[u8]) -> bool {
    let essence = mime.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/pdf")
        || essence.eq_ignore_ascii_case("application/x-pdf")
        || bytes.starts_with(b"%PDF-")
}

/// The text of bytes read as a PDF.
pub fn pdf(bytes: &[u8]) -> Extracted {
    if bytes.len() > MAX_PDF_BYTES {
        return Extracted::Unreadable(format!(
            "{} bytes, more than the {} MiB read for text",
            bytes.len(),
            MAX_PDF_BYTES >> 20
        ));
    }
    // A PDF reader meets every kind of broken input; one that panics on a
    // File's bytes must not take the import or the request with it.
    match std::panic::catch_unwind(|| pdf_text(bytes)) {
        Ok(Ok(raw)) => {
            let text = normalize(&raw);
            if text.is_empty() {
                Extracted::NoTextLayer
            } else {
                Extracted::Text(text)
            }
        }
        Ok(Err(e)) => Extracted::Unreadable(format!("not a readable PDF: {e}")),
        Err(panic) => Extracted::Unreadable(format!(
            "the PDF reader failed: {}",
            crate::text::panic_message(panic.as_ref())
        )),
    }
}

/// The text shown on every page, in content-stream order, a line break
/// where the text position moves to another line. A page that cannot be
/// read is an error only when no page gave any text.
fn pdf_text(bytes: &[u8]) -> Result<String, String> {
    let doc = Document::load_mem(bytes).map_err(|e| e.to_string())?;
    let pages = doc.get_pages();
    // `lopdf` makes do with what it finds of a broken file; one without a
    // single page is not a document at all.
    if pages.is_empty() {
        return Err("no pages".into());
    }
    let mut out = String::new();
    let mut first_error = None;
    for page in pages.into_values() {
        if let Err(e) = page_text(&doc, page, &mut out) {
            first_error.get_or_insert(e.to_string());
        }
        out.push('\n');
        if out.len() > MAX_TEXT_BYTES {
            break;
        }
    }
    match first_error {
        Some(e) if out.trim().is_empty() => Err(e),
        _ => Ok(out),
    }
}

/// The text-showing operators of one page's content (PDF 32000-1, 9.4):
/// `Tj`, `TJ`, `'` and `"` show strings in the current font's encoding;
/// `Td`, `TD`, `Tm`, `T*` and `ET` move or end the text position.
fn page_text(doc: &Document, page: ObjectId, out: &mut String) -> Result<(), lopdf::Error> {
    // A page named in the tree but missing (a truncated file) is an error,
    // not a page without text.
    doc.get_dictionary(page)?;
    let encodings: BTreeMap<Vec<u8>, Encoding> = doc
        .get_page_fonts(page)?
        .into_iter()
        .filter_map(|(name, font)| {
            font.get_font_encoding_with_limit(doc, MAX_DECOMPRESSED_BYTES)
                .ok()
                .map(|e| (name, e))
        })
        .collect();
    let content = Content::decode(&doc.get_page_content_with_limit(page, MAX_DECOMPRESSED_BYTES)?)?;
    let mut font: Option<&Encoding> = None;
    for op in &content.operations {
        let operands = op.operands.as_slice();
        match op.operator.as_str() {
            "Tf" => {
                font = operands
                    .first()
                    .and_then(|o| o.as_name().ok())
                    .and_then(|name| encodings.get(name));
            }
            "Tj" => show(out, font, operands),
            "'" => {
                out.push('\n');
                show(out, font, operands);
            }
            "\"" => {
                out.push('\n');
                show(out, font, operands.get(2..).unwrap_or_default());
            }
            "TJ" => {
                for item in operands.iter().filter_map(|o| o.as_array().ok()).flatten() {
                    match item {
                        // A gap wider than a fifth of the font size (the
                        // number is in thousandths of it, negative moves
                        // right) separates words.
                        Object::Integer(_) | Object::Real(_)
                            if item.as_float().is_ok_and(|gap| gap < -200.0) =>
                        {
                            out.push(' ');
                        }
                        _ => show(out, font, std::slice::from_ref(item)),
                    }
                }
            }
            // A move along the line alone (`0` vertical) keeps the line.
            "Td" | "TD" => match operands.get(1).and_then(|o| o.as_float().ok()) {
                Some(0.0) => out.push(' '),
                _ => out.push('\n'),
            },
            "Tm" | "T*" | "ET" => out.push('\n'),
            _ => {}
        }
        if out.len() > MAX_TEXT_BYTES {
            break;
        }
    }
    Ok(())
}

/// Append the strings among `operands`, decoded with the current font's
/// encoding; text in a font we have no encoding for is left out.
fn show(out: &mut String, font: Option<&Encoding>, operands: &[Object]) {
    let Some(encoding) = font else {
        return;
    };
    for operand in operands {
        if let Object::String(bytes, _) = operand {
            if let Ok(text) = Document::decode_text(encoding, bytes) {
                out.push_str(&text);
            }
        }
    }
}

/// Runs of blanks become one space, lines are trimmed, empty lines and
/// control characters go, and the result is cut to [`MAX_TEXT_BYTES`] at a
/// character boundary.
fn normalize(raw: &str) -> String {
    let mut out = String::new();
    for line in raw.lines() {
        let mut words = line
            .split(|c: char| c.is_whitespace() || c.is_control())
            .filter(|w| !w.is_empty())
            .peekable();
        if words.peek().is_none() {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        for (i, word) in words.enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(word);
        }
        if out.len() >= MAX_TEXT_BYTES {
            break;
        }
    }
    if out.len() > MAX_TEXT_BYTES {
        let mut cut = MAX_TEXT_BYTES;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_text_of_a_winansi_helvetica_pdf() {
        let pdf = crate::demo::pdf::document(
            "Übersicht der Straßenbäume",
            &[
                "Die Bürgerinnen   und Bürger".into(),
                "„Grünfläche“ – Maßnahme".into(),
            ],
        );
        assert_eq!(
            extract("application/pdf", &pdf),
            Extracted::Text(
                "Übersicht der Straßenbäume\nDie Bürgerinnen und Bürger\n„Grünfläche“ – Maßnahme"
                    .into()
            )
        );
        // Without a type, or as octet-stream, the header tells.
        assert!(matches!(extract("", &pdf), Extracted::Text(_)));
        assert!(matches!(
            extract("application/octet-stream", &pdf),
            Extracted::Text(_)
        ));
        assert!(matches!(
            extract("application/PDF; name=x.pdf", &pdf),
            Extracted::Text(_)
        ));
    }

    #[test]
    fn garbage_and_truncated_pdfs_are_unreadable_not_panics() {
        for bytes in [
            b"not a pdf at all".to_vec(),
            b"%PDF-1.4\n1 0 obj << /Type /Catalog".to_vec(),
            Vec::new(),
            crate::demo::pdf::document("Haushalt", &["Satzung".into()])[..120].to_vec(),
        ] {
            let got = extract("application/pdf", &bytes);
            assert!(
                matches!(got, Extracted::Unreadable(_)),
                "{got:?} for {:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }

    #[test]
    fn oversized_pdfs_are_not_read() {
        let mut big = b"%PDF-1.4\n".to_vec();
        big.resize(MAX_PDF_BYTES + 1, b' ');
        assert!(matches!(
            extract("application/pdf", &big),
            Extracted::Unreadable(reason) if reason.contains("MiB")
        ));
    }

    #[test]
    fn plain_text_stays_as_it_is_and_other_types_are_not_read() {
        assert_eq!(
            extract("text/plain; charset=utf-8", "a  b\n\nc".as_bytes()),
            Extracted::Text("a  b\n\nc".into())
        );
        assert!(matches!(
            extract("text/plain", b"\xff\xfe"),
            Extracted::Unreadable(_)
        ));
        assert_eq!(extract("image/png", b"%PDF-"), Extracted::NotSupported);
    }

    #[test]
    fn whitespace_is_collapsed_and_long_text_cut_on_a_character() {
        assert_eq!(normalize("  a \t b\u{0}c \n\n \n d  "), "a b c\nd");
        let long = "ä".repeat(MAX_TEXT_BYTES);
        let cut = normalize(&long);
        assert!(cut.len() <= MAX_TEXT_BYTES && cut.len() > MAX_TEXT_BYTES - 2);
    }
}
