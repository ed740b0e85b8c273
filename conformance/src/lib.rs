//! The OParl 1.1 conformance checker: crawls an endpoint from its System
//! object through every Body and every external list to every object and
//! every referenced URL, and reports each violation of a machine-checkable
//! rule with its number (see `rules`), level, URL and JSON path.
//!
//! Modules: `fetch` (HTTP), `schema` (the JSON Schema files), `model` (the
//! structure of OParl), `rules` and `report` (what is checked and what was
//! found), and `checks/` (objects, lists, filters, files, HTTP errors).
//! It never panics on bad data: invalid JSON, wrong types, missing `type`
//! and HTML error pages all become findings.

pub mod fetch;
pub mod model;
pub mod report;
pub mod rules;
pub mod schema;

mod checks;

use checks::objects::{Collected, ObjectChecker};
use fetch::{FetchOptions, Fetcher};
use report::{Findings, Report};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Settings of a check run.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub fetch: FetchOptions,
    /// Stop collecting objects after this many (0: no limit).
    pub max_objects: usize,
    /// How many Files to download and check (0: none).
    pub max_files: usize,
    /// Print a progress line on stderr while running.
    pub progress: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            fetch: FetchOptions::default(),
            max_objects: 0,
            max_files: 200,
            progress: false,
        }
    }
}

/// The OParl version an endpoint declares, which decides the type URIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1_0,
    V1_1,
}

impl Version {
    pub fn prefix(self) -> &'static str {
        match self {
            Version::V1_0 => "https://schema.oparl.org/1.0/",
            Version::V1_1 => "https://schema.oparl.org/1.1/",
        }
    }
}

/// Shared state of one run.
pub(crate) struct Ctx {
    pub fetcher: Fetcher,
    pub version: Mutex<Version>,
    pub opts: CheckOptions,
    pub findings: Mutex<Findings>,
    /// Everything met so far, by id.
    pub collected: Mutex<Collected>,
    /// Tasks that panicked (see `Report::internal_errors`).
    pub internal_errors: Mutex<Vec<String>>,
}

impl Ctx {
    pub fn add(&self, rule: u32, url: &str, path: &str, message: impl Into<String>) {
        self.findings.lock().unwrap().add(rule, url, path, message);
    }

    pub fn add_at(
        &self,
        rule: u32,
        level: rules::Level,
        url: &str,
        path: &str,
        message: impl Into<String>,
    ) {
        self.findings
            .lock()
            .unwrap()
            .add_at(rule, level, url, path, message);
    }

    /// The result of a task of this run, or None when it panicked, which is
    /// recorded: the report then says the check did not finish, instead of
    /// the run ending early or going on as if the task had found nothing.
    pub fn joined<T>(&self, done: Result<T, tokio::task::JoinError>, what: &str) -> Option<T> {
        match done {
            Ok(value) => Some(value),
            Err(e) => {
                self.internal_errors
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(format!("{what}: {e}"));
                None
            }
        }
    }

    pub fn version(&self) -> Version {
        *self.version.lock().unwrap()
    }

    pub fn full(&self) -> bool {
        self.opts.max_objects > 0
            && self.collected.lock().unwrap().standalone.len() >= self.opts.max_objects
    }
}

/// Check the endpoint whose System object is at `system_url`.
pub async fn check(system_url: &str, opts: CheckOptions) -> Report {
    let started = Instant::now();
    let fetcher = match Fetcher::new(&opts.fetch) {
        Ok(f) => f,
        Err(e) => {
            let mut report = Report {
                endpoint: system_url.into(),
                ..Default::default()
            };
            report.findings.push(report::Finding {
                rule: 45,
                level: rules::Level::Must,
                url: system_url.into(),
                path: String::new(),
                message: e,
            });
            return report;
        }
    };
    let ctx = Arc::new(Ctx {
        fetcher,
        version: Mutex::new(Version::V1_1),
        opts: opts.clone(),
        findings: Mutex::new(Findings::default()),
        collected: Mutex::new(Collected::default()),
        internal_errors: Mutex::new(Vec::new()),
    });
    let ticker = opts
        .progress
        .then(|| tokio::spawn(progress(Arc::clone(&ctx))));
    run(&ctx, system_url).await;
    if let Some(t) = ticker {
        t.abort();
        eprintln!();
    }
    let mut findings = std::mem::take(&mut *ctx.findings.lock().unwrap()).into_vec();
    findings.extend(std::mem::take(&mut *ctx.fetcher.findings.lock().unwrap()).into_vec());
    let objects = ctx.collected.lock().unwrap().all_ids().len() as u64;
    let internal_errors = std::mem::take(
        &mut *ctx
            .internal_errors
            .lock()
            .unwrap_or_else(|e| e.into_inner()),
    );
    Report {
        endpoint: system_url.into(),
        findings,
        requests: ctx.fetcher.requests.load(Ordering::Relaxed),
        objects,
        seconds: started.elapsed().as_secs_f64(),
        rules_checked: report::rules_checked(),
        internal_errors,
    }
}

async fn progress(ctx: Arc<Ctx>) {
    if !std::io::stderr().is_terminal() {
        return;
    }
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let objects = ctx.collected.lock().unwrap().all_ids().len();
        let requests = ctx.fetcher.requests.load(Ordering::Relaxed);
        let findings = ctx.findings.lock().unwrap().len();
        eprint!("\r{requests} requests, {objects} objects, {findings} findings   ");
    }
}

async fn run(ctx: &Arc<Ctx>, system_url: &str) {
    let Some(system) = ctx.fetcher.json(system_url).await else {
        return;
    };
    let version = match system["oparlVersion"].as_str() {
        Some("https://schema.oparl.org/1.0/") => Version::V1_0,
        _ => Version::V1_1,
    };
    *ctx.version.lock().unwrap() = version;
    ObjectChecker::new(ctx).check_standalone(&system, "System", system_url, "$");
    if system["id"].as_str() != Some(system_url) {
        ctx.add(
            2,
            system_url,
            "$.id",
            format!(
                "id is {} but the System was fetched from {system_url}",
                system["id"]
            ),
        );
    }
    let Some(body_list) = system["body"].as_str() else {
        return;
    };
    let bodies = checks::lists::walk(ctx, body_list, "Body", false).await;
    let mut lists_by_body: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for body in &bodies.items {
        let Some(body_id) = body["id"].as_str() else {
            continue;
        };
        let mut tasks = tokio::task::JoinSet::new();
        for (attribute, type_name, new_in_1_1) in model::BODY_LISTS {
            match body[*attribute].as_str() {
                Some(url) => {
                    let (ctx, url) = (Arc::clone(ctx), url.to_string());
                    tasks.spawn(async move {
                        let walk = checks::lists::walk(&ctx, &url, type_name, true).await;
                        (type_name.to_string(), walk)
                    });
                }
                None if *new_in_1_1 && version == Version::V1_0 => {}
                None => ctx.add(
                    if *new_in_1_1 { 75 } else { 74 },
                    body_id,
                    &format!("$.{attribute}"),
                    format!("Body.{attribute} is missing"),
                ),
            }
        }
        let mut by_type = BTreeMap::new();
        while let Some(done) = tasks.join_next().await {
            let Some((type_name, walk)) = ctx.joined(done, "walking a list") else {
                continue;
            };
            checks::filters::check_list(ctx, &walk, &type_name).await;
            by_type.insert(type_name, walk.ids());
        }
        lists_by_body.insert(body_id.to_string(), by_type);
        checks::organization_lists(ctx, body).await;
    }
    checks::objects::resolve_everything(ctx).await;
    if version == Version::V1_1 {
        checks::objects::check_body_lists_complete(ctx, &lists_by_body);
    }
    checks::files::check_files(ctx).await;
    checks::http::check_errors(ctx, system_url, &bodies.items).await;
}

/// A JSON value's short description for messages.
pub(crate) fn describe(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        format!(
            "{}...",
            &s[..s
                .char_indices()
                .take(77)
                .last()
                .map_or(0, |(i, c)| i + c.len_utf8())]
        )
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_task_that_panicked_is_reported_and_the_check_does_not_pass() {
        let ctx = Ctx {
            fetcher: Fetcher::new(&FetchOptions::default()).unwrap(),
            version: Mutex::new(Version::V1_1),
            opts: CheckOptions::default(),
            findings: Mutex::new(Findings::default()),
            collected: Mutex::new(Collected::default()),
            internal_errors: Mutex::new(Vec::new()),
        };
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(async { 1 });
        tasks.spawn(async { panic!("a bug in a check") });
        tasks.spawn(async { 3 });
        let mut results = Vec::new();
        while let Some(done) = tasks.join_next().await {
            results.extend(ctx.joined(done, "checking an object"));
        }
        // The others are still taken.
        results.sort_unstable();
        assert_eq!(results, [1, 3]);
        let errors = ctx.internal_errors.into_inner().unwrap();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("checking an object: "), "{errors:?}");
        assert!(errors[0].contains("a bug in a check"), "{errors:?}");
        let report = Report {
            internal_errors: errors,
            ..Report::default()
        };
        // No finding, yet the check did not pass, and the text says why.
        assert_eq!(report.exit_code(false), 2);
        assert!(report.text(3).contains("the check did not finish"));
        assert!(report.json().contains("a bug in a check"));
    }
}
