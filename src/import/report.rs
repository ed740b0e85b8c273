//! What an import did: counts of objects, every repair and every skipped
//! input with where it was (URL or file, line, JSON path). The summary is
//! always printed; `--report FILE` writes every entry as JSON.

use super::repair::Repair;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt;

/// Where a piece of input came from: a URL or a file (with its line for
/// JSON Lines), and the JSON path inside that document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    pub source: String,
    pub line: Option<usize>,
    pub path: String,
}

impl Place {
    pub fn new(source: &str, line: Option<usize>) -> Place {
        Place {
            source: source.to_string(),
            line,
            path: "$".into(),
        }
    }

    /// The place of a member or element inside this one.
    pub fn child(&self, step: impl fmt::Display) -> Place {
        let step = step.to_string();
        let path = if step.starts_with('[') {
            format!("{}{step}", self.path)
        } else {
            format!("{}.{step}", self.path)
        };
        Place {
            source: self.source.clone(),
            line: self.line,
            path,
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line} {}", self.source, self.path),
            None => write!(f, "{} {}", self.source, self.path),
        }
    }
}

/// One repair or skip.
#[derive(Debug, Clone)]
struct Entry {
    /// "repair", "skip" or "fileText" (a PDF that gave no text).
    kind: &'static str,
    what: String,
    place: Place,
    detail: String,
}

/// The running account of one import.
#[derive(Debug, Default)]
pub struct Report {
    repairs: BTreeMap<Repair, u64>,
    skips: u64,
    /// Every entry, kept only when a report file was asked for.
    entries: Vec<Entry>,
    keep_entries: bool,
    /// The first skips, for the summary.
    first_skips: Vec<String>,
    pub created: u64,
    pub changed: u64,
    pub deleted: u64,
    pub unchanged: u64,
    pub files_stored: u64,
    /// Files whose `text` was read from their downloaded bytes.
    pub file_texts: u64,
    /// Downloaded PDFs that show no text (scans): their File has no `text`.
    pub pdf_without_text: u64,
    /// Downloaded PDFs that could not be read: their bytes are stored all
    /// the same, without `text`.
    pub pdf_unreadable: u64,
    /// The first of those PDFs, for the summary.
    first_pdf_problems: Vec<String>,
}

impl Report {
    pub fn new(keep_entries: bool) -> Report {
        Report {
            keep_entries,
            ..Report::default()
        }
    }

    pub fn repair(&mut self, repair: Repair, place: &Place, detail: impl fmt::Display) {
        self.repair_n(repair, 1, place, detail);
    }

    pub fn repair_n(&mut self, repair: Repair, n: u64, place: &Place, detail: impl fmt::Display) {
        if n == 0 {
            return;
        }
        *self.repairs.entry(repair).or_default() += n;
        if self.keep_entries {
            self.entries.push(Entry {
                kind: "repair",
                what: repair.name().into(),
                place: place.clone(),
                detail: detail.to_string(),
            });
        }
    }

    /// Input that could not be used at all.
    pub fn skip(&mut self, place: &Place, detail: impl fmt::Display) {
        self.skips += 1;
        let detail = detail.to_string();
        if self.first_skips.len() < 10 {
            self.first_skips.push(format!("{place}: {detail}"));
        }
        if self.keep_entries {
            self.entries.push(Entry {
                kind: "skip",
                what: "skipped".into(),
                place: place.clone(),
                detail,
            });
        }
    }

    /// A downloaded PDF that gave no text: `reason` is None for a readable
    /// one without a text layer. Not a skip: the File and its bytes are
    /// stored, only their text is missing.
    pub fn pdf_gave_no_text(&mut self, place: &Place, reason: Option<&str>) {
        let (what, detail) = match reason {
            None => {
                self.pdf_without_text += 1;
                ("PDF without a text layer", "no text layer".to_string())
            }
            Some(reason) => {
                self.pdf_unreadable += 1;
                ("unreadable PDF", reason.to_string())
            }
        };
        if self.first_pdf_problems.len() < 10 {
            self.first_pdf_problems.push(format!("{place}: {detail}"));
        }
        if self.keep_entries {
            self.entries.push(Entry {
                kind: "fileText",
                what: what.into(),
                place: place.clone(),
                detail,
            });
        }
    }

    /// Take over the entries of a report made on another thread.
    pub fn absorb(&mut self, other: Report) {
        for (r, n) in other.repairs {
            *self.repairs.entry(r).or_default() += n;
        }
        self.skips += other.skips;
        self.file_texts += other.file_texts;
        self.pdf_without_text += other.pdf_without_text;
        self.pdf_unreadable += other.pdf_unreadable;
        for p in other.first_pdf_problems {
            if self.first_pdf_problems.len() < 10 {
                self.first_pdf_problems.push(p);
            }
        }
        self.entries.extend(other.entries);
        for s in other.first_skips {
            if self.first_skips.len() < 10 {
                self.first_skips.push(s);
            }
        }
    }

    /// A report like this one (keeping entries or not), empty.
    pub fn empty_like(&self) -> Report {
        Report::new(self.keep_entries)
    }

    pub fn skips(&self) -> u64 {
        self.skips
    }

    pub fn repairs(&self, repair: Repair) -> u64 {
        self.repairs.get(&repair).copied().unwrap_or(0)
    }

    /// The report file: totals, and every entry.
    pub fn json(&self) -> Value {
        let repairs: serde_json::Map<String, Value> = self
            .repairs
            .iter()
            .map(|(r, n)| (r.name().to_string(), json!(n)))
            .collect();
        let entries: Vec<Value> = self
            .entries
            .iter()
            .map(|e| {
                json!({
                    "kind": e.kind,
                    "what": e.what,
                    "source": e.place.source,
                    "line": e.place.line,
                    "path": e.place.path,
                    "detail": e.detail,
                })
            })
            .collect();
        json!({
            "objects": {
                "created": self.created,
                "changed": self.changed,
                "deleted": self.deleted,
                "unchanged": self.unchanged,
            },
            "filesStored": self.files_stored,
            "fileText": {
                "read": self.file_texts,
                "pdfWithoutTextLayer": self.pdf_without_text,
                "pdfUnreadable": self.pdf_unreadable,
            },
            "repairs": repairs,
            "skips": self.skips,
            "entries": entries,
        })
    }

    /// The summary printed after every run.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "objects: {} created, {} changed, {} deleted, {} unchanged\n",
            self.created, self.changed, self.deleted, self.unchanged
        );
        if self.files_stored > 0 {
            out.push_str(&format!("file bytes stored: {}\n", self.files_stored));
        }
        if self.file_texts > 0 {
            out.push_str(&format!("file text read from bytes: {}\n", self.file_texts));
        }
        if self.pdf_without_text > 0 {
            out.push_str(&format!(
                "PDF files without a text layer: {}\n",
                self.pdf_without_text
            ));
        }
        if self.pdf_unreadable > 0 {
            out.push_str(&format!("unreadable PDF files: {}\n", self.pdf_unreadable));
        }
        for p in &self.first_pdf_problems {
            out.push_str(&format!("  {p}\n"));
        }
        if self.repairs.is_empty() {
            out.push_str("repairs: none\n");
        } else {
            out.push_str("repairs:\n");
            for (r, n) in &self.repairs {
                out.push_str(&format!("  {n:>7}  {}\n", r.name()));
            }
        }
        out.push_str(&format!("skipped: {}\n", self.skips));
        for s in &self.first_skips {
            out.push_str(&format!("  {s}\n"));
        }
        if self.skips as usize > self.first_skips.len() {
            out.push_str("  ... (--report FILE lists them all)\n");
        }
        out
    }
}
