//! A real browser on the pages: headless Chromium (its own headless mode,
//! no driver) walks the way a citizen takes (the start page, a search, a
//! paper, its meeting, a file, a person) on a server on a loopback port.
//! Each page must render with no console message, no failed request and
//! no request to any host but the server; a screenshot of each is kept in
//! `target/browser-test/`.
//!
//! Chromium is found as `$OPARL_TEST_CHROMIUM`, `chromium` or
//! `chromium-browser`. Where none is installed the test says so and ends,
//! unless `OPARL_TEST_BROWSER=required` (CI sets it, and installs
//! Chromium), where that is a failure.

use crate::fixtures::serve_api;
use crate::support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("OPARL_TEST_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|n| dir.join(n)))
        .find(|p| p.is_file())
}

/// Flags that keep Chromium's own background traffic (updates, sync,
/// accounts) out, so that what remains is the page's.
const QUIET: [&str; 15] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,SpellCheck",
    "--hide-scrollbars",
    "--window-size=1100,1500",
    "--lang=de-DE",
];

/// What the browser saw of one page.
struct Visit {
    dom: String,
    /// Console messages of the page.
    console: Vec<String>,
    /// (URL, status or error) of every request the page made.
    requests: Vec<(String, String)>,
}

/// Open a page: its DOM after loading, the console and the network log;
/// then a screenshot.
fn visit(browser: &Path, dir: &Path, step: &str, url: &str) -> Visit {
    let profile = dir.join(format!("profile-{step}"));
    let netlog = dir.join(format!("{step}.netlog.json"));
    let out = Command::new(browser)
        .args(QUIET)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--enable-logging=stderr")
        .arg("--v=0")
        .arg(format!("--log-net-log={}", netlog.display()))
        .arg("--dump-dom")
        .arg(url)
        .output()
        .expect("chromium runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let console = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    let shot = Command::new(browser)
        .args(QUIET)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!(
            "--screenshot={}",
            dir.join(format!("{step}.png")).display()
        ))
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(shot.status.success(), "{step}: no screenshot");
    let log: Value = serde_json::from_slice(&std::fs::read(&netlog).expect("a net log"))
        .expect("the net log is JSON");
    Visit {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        console,
        requests: requests(&log, url),
    }
}

/// The requests of the page at `url` in a Chromium NetLog: those whose
/// network isolation key names the page's site (the browser's own
/// requests have none), with the status line of their answer or the
/// network error they ended with.
fn requests(log: &Value, url: &str) -> Vec<(String, String)> {
    let site = url.split(':').take(2).collect::<Vec<_>>().join(":");
    let types: std::collections::HashMap<i64, String> = log["constants"]["logEventTypes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, n)| (n.as_i64().unwrap(), name.clone()))
        .collect();
    let mut by_source: std::collections::BTreeMap<i64, (String, String)> = Default::default();
    for e in log["events"].as_array().unwrap() {
        let source = e["source"]["id"].as_i64().unwrap_or(-1);
        let kind = types
            .get(&e["type"].as_i64().unwrap_or(-1))
            .map_or("", |s| s.as_str());
        let p = &e["params"];
        match kind {
            "URL_REQUEST_START_JOB" => {
                let key = p["network_isolation_key"].as_str().unwrap_or("");
                let url = p["url"].as_str().unwrap_or("").to_string();
                if key.starts_with(&site) || url.starts_with(&site) {
                    by_source.insert(source, (url, "no answer".into()));
                }
            }
            "HTTP_TRANSACTION_READ_RESPONSE_HEADERS" => {
                if let Some(entry) = by_source.get_mut(&source) {
                    let status = p["headers"][0].as_str().unwrap_or("").to_string();
                    entry.1 = status;
                }
            }
            _ => {
                if let (Some(entry), Some(error)) =
                    (by_source.get_mut(&source), p["net_error"].as_i64())
                {
                    entry.1 = format!("net error {error}");
                }
            }
        }
    }
    by_source.into_values().collect()
}

/// The checks of every page the browser opened.
fn check(step: &str, origin: &str, v: &Visit, dir: &Path) {
    let shots = dir.display();
    assert!(
        v.dom.contains("<h1"),
        "{step}: no page rendered (see {shots})"
    );
    assert!(
        v.console.is_empty(),
        "{step}: console: {:?} (see {shots})",
        v.console
    );
    assert!(!v.requests.is_empty(), "{step}: no request seen");
    for (url, status) in &v.requests {
        assert!(
            url.starts_with(origin),
            "{step}: a request to {url} (see {shots})"
        );
        assert!(
            status.contains(" 200") || status.contains(" 304"),
            "{step}: {url} answered {status} (see {shots})"
        );
    }
    // The stylesheet was loaded.
    assert!(
        v.requests.iter().any(|(u, _)| u.ends_with(".css")),
        "{step}: no stylesheet"
    );
}

/// The first `href` of the DOM that contains `part`.
fn link(dom: &str, part: &str) -> Option<String> {
    dom.split("href=\"")
        .skip(1)
        .map(|r| r.split('"').next().unwrap().replace("&amp;", "&"))
        .find(|h| h.contains(part))
}

#[test]
fn a_citizen_finds_a_paper_its_meeting_a_file_and_a_person() {
    let Some(browser) = chromium() else {
        let required = std::env::var("OPARL_TEST_BROWSER").is_ok_and(|v| v == "required");
        assert!(
            !required,
            "OPARL_TEST_BROWSER=required, but no Chromium was found"
        );
        eprintln!("browser test not run: no Chromium (set OPARL_TEST_CHROMIUM)");
        return;
    };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-test");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let rt = multi_thread_runtime();
    rt.block_on(async {
        let app = TestApp::new(TestStore::new(BackendKind::Sqlite), true);
        let base = serve_api(&app.state, None).await;
        let origin = base.trim_end_matches("/oparl/v1.1").to_string();
        let go = |step: &'static str, url: String| {
            let (browser, dir) = (browser.clone(), dir.clone());
            async move {
                tokio::task::spawn_blocking(move || {
                    let v = visit(&browser, &dir, step, &url);
                    (v, url)
                })
                .await
                .unwrap()
            }
        };
        let (start, _) = go("start", format!("{origin}/")).await;
        check("start", &origin, &start, &dir);
        assert!(start.dom.contains("role=\"search\""));
        // The search box sends `q` to the search page.
        let action = start
            .dom
            .split("action=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_string();
        let (search, _) = go("search", format!("{action}?q=Haushalt&type=Paper")).await;
        check("search", &origin, &search, &dir);
        assert!(search.dom.contains("<mark>"), "no highlighted hit");
        let paper_url = link(&search.dom, "/paper/").expect("a paper among the hits");
        let (paper, _) = go("paper", paper_url.clone()).await;
        check("paper", &origin, &paper, &dir);
        assert!(paper.dom.contains("Beratungsfolge"));
        let meeting_url = link(&paper.dom, "/meeting/").expect("the paper's meeting");
        let (meeting, _) = go("meeting", meeting_url).await;
        check("meeting", &origin, &meeting, &dir);
        assert!(meeting.dom.contains("Tagesordnung"));
        // The download link of a file: the bytes, as an attachment.
        let download = link(&paper.dom, "/download").expect("a download link");
        let answer = app
            .get(&download.replacen(&origin, "http://oparl.test", 1))
            .await;
        assert_eq!(answer.status, hyper::StatusCode::OK, "{download}");
        assert!(answer.body.starts_with(b"%PDF"), "{download}: not a PDF");
        assert!(answer
            .header("content-disposition")
            .unwrap_or("")
            .starts_with("attachment"));
        let person_url = link(&meeting.dom, "/person/").expect("a participant");
        let (person, _) = go("person", person_url).await;
        check("person", &origin, &person, &dir);
        assert!(person.dom.contains("Mitgliedschaften"));
    });
}
