//! Findings and the report: grouped by rule with counts and the first
//! examples for people, the full list as JSON for machines.

use crate::rules::{rule, Level, RULES};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// One violation of one rule at one place.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: u32,
    pub level: Level,
    pub url: String,
    /// JSON path inside the response, e.g. `$.data[3].created`; empty for
    /// findings about the HTTP exchange itself.
    pub path: String,
    pub message: String,
}

/// What a check run found and how much it did.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub endpoint: String,
    pub findings: Vec<Finding>,
    pub requests: u64,
    pub objects: u64,
    pub seconds: f64,
    pub rules_checked: usize,
    /// Parts of the check that failed inside the checker (a task that
    /// panicked): the check did not finish, whatever the findings say.
    pub internal_errors: Vec<String>,
}

impl Report {
    /// Findings at or above a level.
    pub fn count(&self, level: Level) -> usize {
        self.findings.iter().filter(|f| f.level <= level).count()
    }

    /// 0 when no MUST is violated (or, when `strict`, no SHOULD either);
    /// 2 when the check did not finish.
    pub fn exit_code(&self, strict: bool) -> i32 {
        if !self.internal_errors.is_empty() {
            return 2;
        }
        let worst = if strict { Level::Should } else { Level::Must };
        i32::from(self.count(worst) > 0)
    }

    /// The human-readable report.
    pub fn text(&self, examples: usize) -> String {
        let mut groups: BTreeMap<(Level, u32), Vec<&Finding>> = BTreeMap::new();
        for f in &self.findings {
            groups.entry((f.level, f.rule)).or_default().push(f);
        }
        let mut out = String::new();
        let _ = writeln!(out, "OParl check of {}", self.endpoint);
        let _ = writeln!(
            out,
            "{} rules checked, {} objects, {} requests, {:.1} s",
            self.rules_checked, self.objects, self.requests, self.seconds
        );
        if groups.is_empty() {
            let _ = writeln!(out, "no findings");
        }
        for ((level, id), findings) in &groups {
            let _ = writeln!(
                out,
                "\n[{level}] rule {id}: {} ({} findings)",
                rule(*id).title,
                findings.len()
            );
            for f in findings.iter().take(examples) {
                let path = if f.path.is_empty() {
                    String::new()
                } else {
                    format!(" {}", f.path)
                };
                let _ = writeln!(out, "  - {}{path}: {}", f.url, f.message);
            }
            if findings.len() > examples {
                let _ = writeln!(out, "  ... and {} more", findings.len() - examples);
            }
        }
        let _ = writeln!(
            out,
            "\n{} MUST, {} SHOULD, {} MAY findings",
            self.findings
                .iter()
                .filter(|f| f.level == Level::Must)
                .count(),
            self.findings
                .iter()
                .filter(|f| f.level == Level::Should)
                .count(),
            self.findings
                .iter()
                .filter(|f| f.level == Level::May)
                .count(),
        );
        if !self.internal_errors.is_empty() {
            let _ = writeln!(
                out,
                "\nthe check did not finish ({} internal errors):",
                self.internal_errors.len()
            );
            for e in &self.internal_errors {
                let _ = writeln!(out, "  - {e}");
            }
        }
        out
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serialises")
    }
}

/// Collects findings during a run; cheap to share behind a mutex.
#[derive(Debug, Default)]
pub struct Findings {
    list: Vec<Finding>,
}

impl Findings {
    /// Record a finding at the rule's own level.
    pub fn add(&mut self, id: u32, url: &str, path: &str, message: impl Into<String>) {
        self.add_at(id, rule(id).level, url, path, message);
    }

    /// Record a finding at an explicit level (e.g. a MUST rule's SHOULD part).
    pub fn add_at(
        &mut self,
        id: u32,
        level: Level,
        url: &str,
        path: &str,
        message: impl Into<String>,
    ) {
        self.list.push(Finding {
            rule: id,
            level,
            url: url.to_string(),
            path: path.to_string(),
            message: message.into(),
        });
    }

    pub fn into_vec(self) -> Vec<Finding> {
        self.list
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// The number of rules in the catalogue.
pub fn rules_checked() -> usize {
    RULES.len()
}
