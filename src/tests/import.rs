//! `oparl import`: a real vendor's 1.0 crawl (over HTTP and as a folder)
//! arrives whole and repaired; a round trip from this server to another is
//! lossless, also incrementally with deletions; a killed import leaves the
//! store as it was and a re-run ends where an uninterrupted run ends; bad
//! sources fail with a message and change nothing.

use crate::fixtures::{as_vendor, huertgenwald_pages, serve_api, serve_fixed, serve_huertgenwald};
use crate::support::*;
use diesel::prelude::*;
use oparl::db::schema::{import_id, link, object};
use oparl::import::repair::Repair;
use oparl::import::report::Report;
use oparl::import::{ImportOptions, Outcome};
use oparl::model::Kind;
use oparl::render::{self, Options};
use oparl::store::{read, write, LinkRow, ObjectRow};
use oparl::urls::Urls;
use oparl_conformance::CheckOptions;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::sync::Arc;
use std::time::Duration;

pub(crate) fn options(source: &str) -> ImportOptions {
    let mut opts = ImportOptions::new(source);
    opts.quiet = true;
    opts.fetch.timeout = Duration::from_secs(10);
    opts
}

/// Run an import on a blocking thread (it has its own runtime).
pub(crate) async fn import(
    app: &TestApp,
    opts: ImportOptions,
) -> Result<(Outcome, Report), String> {
    let db = app.store.db().clone();
    tokio::task::spawn_blocking(move || oparl::import::run(&db, &opts))
        .await
        .unwrap()
}

/// Live and deleted objects per kind.
pub(crate) fn counts(app: &TestApp) -> BTreeMap<&'static str, (i64, i64)> {
    read::count_by_kind(&mut app.conn())
        .unwrap()
        .into_iter()
        .map(|(k, live, deleted)| (k.name(), (live, deleted)))
        .collect()
}

/// Every row and link of a store, to compare two stores exactly.
fn snapshot(app: &TestApp) -> (Vec<ObjectRow>, Vec<LinkRow>) {
    let mut conn = app.conn();
    let rows = object::table
        .order(object::pk)
        .select(ObjectRow::as_select())
        .load(&mut *conn)
        .unwrap();
    let links = link::table
        .order((link::from_pk, link::field, link::position))
        .select(LinkRow::as_select())
        .load(&mut *conn)
        .unwrap();
    (rows, links)
}

/// Every object except the System, in its standalone form, by id.
pub(crate) fn rendered(app: &TestApp, base: &str) -> BTreeMap<String, Value> {
    let urls = Urls::new(base).unwrap();
    let mut conn = app.conn();
    let rows: Vec<ObjectRow> = object::table
        .filter(object::kind.ne(Kind::System.code()))
        .order(object::pk)
        .select(ObjectRow::as_select())
        .load(&mut *conn)
        .unwrap();
    let opts = Options {
        omit_internal: false,
    };
    render::standalone(&mut conn, &urls, rows, opts)
        .unwrap()
        .into_iter()
        .map(|text| {
            let v: Value = serde_json::from_str(&text).unwrap();
            (v["id"].as_str().unwrap().to_string(), v)
        })
        .collect()
}

/// Rewrite every URL of B in a value into the URL of A it stands for.
fn translate(value: &mut Value, b_base: &str, a_base: &str, b_to_a: &HashMap<i64, String>) {
    match value {
        Value::String(s) => {
            let Some(rest) = s.strip_prefix(b_base) else {
                return;
            };
            let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
            *s = match segments.as_slice() {
                [""] => a_base.to_string(),
                [service @ ("changes" | "search")] => format!("{a_base}/{service}"),
                [of_body] if of_body.contains("?body=") => {
                    let (service, pk) = of_body.split_once("?body=").unwrap();
                    let a_body = b_to_a[&pk.parse::<i64>().unwrap()]
                        .rsplit('/')
                        .next()
                        .unwrap();
                    format!("{a_base}/{service}?body={a_body}")
                }
                [_, pk, tail @ ..] => {
                    let a = &b_to_a[&pk.parse::<i64>().unwrap()];
                    std::iter::once(a.as_str())
                        .chain(tail.iter().copied())
                        .collect::<Vec<_>>()
                        .join("/")
                }
                _ => panic!("unexpected URL {s}"),
            };
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| translate(v, b_base, a_base, b_to_a)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|v| translate(v, b_base, a_base, b_to_a)),
        _ => {}
    }
}

/// Arrays the server derives from who points at an object (back-references
/// and Organization.membership) are ordered by our pks, which differ
/// between two stores: compare them as sets.
fn sort_derived_arrays(value: &mut Value) {
    let kind = value["type"]
        .as_str()
        .and_then(|t| t.rsplit('/').next())
        .and_then(|name| Kind::ALL.into_iter().find(|k| k.name() == name));
    let Some(kind) = kind else { return };
    let mut names: Vec<&str> = oparl::model::RELS
        .iter()
        .filter(|r| r.target == kind)
        .filter_map(|r| r.back)
        .filter(|(_, single)| !single)
        .map(|(name, _)| name)
        .collect();
    if kind == Kind::Organization {
        names.push("membership");
    }
    for name in names {
        if let Some(Value::Array(items)) = value.get_mut(name) {
            items.sort_by_key(|v| v.to_string());
        }
    }
}

/// The members in which two objects differ, for failure messages.
fn differences(a: &Value, b: &Value) -> String {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return format!("{a} vs {b}");
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("\n  {k}: A {:?} / B {:?}", a.get(k), b.get(k)))
        .collect()
}

/// Remove the source id property from an object and its embedded objects.
fn strip_source_ids(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.shift_remove("import:sourceId");
            map.values_mut().for_each(strip_source_ids);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_source_ids),
        _ => {}
    }
}

/// B holds exactly what A holds: every object of A that B knows, and every
/// live object of A, looks the same in B but for ids, URLs and the source
/// id property (which A has too when it is a mirror itself); B has nothing
/// else.
pub(crate) fn assert_mirrors(a: &TestApp, a_base: &str, b: &TestApp) {
    let b_base = "http://mirror.test/oparl/v1.1";
    let a_objects = rendered(a, a_base);
    let b_objects = rendered(b, b_base);
    let b_to_a: HashMap<i64, String> = import_id::table
        .select((import_id::pk, import_id::source_id))
        .load::<(i64, String)>(&mut *b.conn())
        .unwrap()
        .into_iter()
        .map(|(pk, sid)| (pk, format!("http://{sid}")))
        .collect();
    let mut seen = 0;
    for (b_id, mut b_value) in b_objects {
        let pk = pk_of(&b_id);
        let a_id = &b_to_a[&pk];
        match b_value.get("import:sourceId") {
            Some(source_id) => assert_eq!(source_id, a_id.as_str(), "[{}] {b_id}", b.label()),
            None => assert_eq!(b_value["deleted"], true, "[{}] {b_id}", b.label()),
        }
        strip_source_ids(&mut b_value);
        translate(&mut b_value, b_base, a_base, &b_to_a);
        let mut a_value = a_objects
            .get(a_id)
            .unwrap_or_else(|| panic!("[{}] {a_id} is not in A", b.label()))
            .clone();
        strip_source_ids(&mut a_value);
        sort_derived_arrays(&mut a_value);
        sort_derived_arrays(&mut b_value);
        let a_value = &a_value;
        assert!(
            &b_value == a_value,
            "[{}] {b_id} differs from {a_id}: {}",
            b.label(),
            differences(a_value, &b_value)
        );
        seen += 1;
    }
    let a_live = a_objects.values().filter(|v| v["deleted"] != true).count();
    let b_live_in_a = b_to_a.len();
    assert!(
        seen >= a_live,
        "[{}] B has {seen} objects, A {a_live} live",
        b.label()
    );
    assert_eq!(
        seen,
        b_live_in_a,
        "[{}] every mapped object is rendered",
        b.label()
    );
}

#[test]
fn the_huertgenwald_crawl_arrives_whole_and_repaired() {
    for kind in backends() {
        let rt = multi_thread_runtime();
        let app = TestApp::new(TestStore::new(kind), false);
        rt.block_on(async {
            let system = serve_huertgenwald().await;
            let (outcome, report) = import(&app, options(&system)).await.unwrap();
            let label = app.label();
            assert_eq!(outcome, Outcome::Complete, "[{label}] {}", report.summary());
            let counts = counts(&app);
            // The crawl's lists: 2,115 papers (18 tombstones), 367 meetings
            // (21), 49 persons, 22 organizations; the rest came embedded.
            assert_eq!(counts["Paper"], (2_097, 18), "[{label}]");
            assert_eq!(counts["Meeting"], (346, 21), "[{label}]");
            assert_eq!(counts["Person"], (49, 0), "[{label}]");
            assert_eq!(counts["Organization"], (22, 0), "[{label}]");
            assert_eq!(counts["Body"], (1, 0), "[{label}]");
            let total: i64 = counts.values().map(|(l, d)| l + d).sum();
            assert_eq!(total, 17_374, "[{label}] {counts:?}"); // with our System
            for (repair, n) in [
                (Repair::TombstoneWithoutType, 39),
                (Repair::TombstoneInUnfilteredList, 39),
                (Repair::CoordinatesSwapped, 1),
                // The 35 Location URLs of persons answer 404 with HTML.
                (Repair::DanglingReference, 35),
                // An optional reference: nothing kept pointing at the source.
                (Repair::RequiredReferenceKept, 0),
            ] {
                assert_eq!(report.repairs(repair), n, "[{label}] {}", repair.name());
            }
            // OParl 1.0 has no AgendaItem.order: every item gets its index.
            assert_eq!(
                report.repairs(Repair::AgendaItemOrder) as i64,
                counts["AgendaItem"].0,
                "[{label}]"
            );
            assert!(report.repairs(Repair::PaddedString) >= 1);
            assert!(report.repairs(Repair::EmptyValue) >= 1);

            // The repaired Body location, as served.
            let bodies = app.json(&format!("{BASE}/body")).await;
            let location = &bodies["data"][0]["location"];
            assert_eq!(location["postalCode"], "52393", "[{label}]");
            let point = &location["geojson"]["geometry"]["coordinates"];
            assert!(point[0].as_f64().unwrap() < 7.0, "[{label}] {point}");
            assert!(point[1].as_f64().unwrap() > 50.0, "[{label}] {point}");
            // No person shows a location URL that does not resolve.
            let body = bodies["data"][0]["person"].as_str().unwrap().to_string();
            let persons = app.walk(&body).await;
            assert!(persons.iter().all(|p| p.get("location").is_none()));

            // The result passes our own checker.
            let base = serve_api(&app.state, None).await;
            let check = oparl_conformance::check(
                &base,
                CheckOptions {
                    max_files: 0,
                    ..Default::default()
                },
            )
            .await;
            assert_eq!(check.exit_code(false), 0, "[{label}] {}", check.text(5));

            // The same crawl read as a folder gives the same objects; the
            // validator's own bookkeeping file is skipped and reported. Its
            // ids name the vendor's host, so into the same store it comes as
            // a second source beside the first: a second Body, every count
            // doubled.
            let pages = huertgenwald_pages();
            let (outcome, report) = import(&app, options(pages.to_str().unwrap()))
                .await
                .unwrap();
            assert_eq!(outcome, Outcome::Partial, "[{label}]");
            assert_eq!(report.skips(), 1, "[{label}] {}", report.summary());
            assert!(report.summary().contains("missing_ids.json"));
            assert_eq!(report.created, 17_373, "[{label}] {}", report.summary());
            let both = self::counts(&app);
            for (kind, (live, deleted)) in &counts {
                let expected = if *kind == "System" {
                    (*live, *deleted)
                } else {
                    (live * 2, deleted * 2)
                };
                assert_eq!(both[kind], expected, "[{label}] {kind}: folder beside HTTP");
            }
        });
    }
}

#[test]
fn a_mirror_of_this_server_walked_as_a_vendor_is_lossless_and_follows_changes() {
    for kind in backends() {
        let rt = multi_thread_runtime();
        let a = TestApp::new(TestStore::new(kind), true);
        let b = a.empty_sibling();
        rt.block_on(async {
            // Its lists walked with `modified_since`, as any vendor's
            // endpoint (mirror_feed.rs follows its change feed instead).
            let a_base = serve_api(&a.state, Some(as_vendor(Arc::new(|_, _, _| {})))).await;
            let label = a.label();
            let (outcome, report) = import(&b, options(&a_base)).await.unwrap();
            assert_eq!(outcome, Outcome::Complete, "[{label}] {}", report.summary());
            assert_eq!(report.changed + report.deleted, 0);
            assert_mirrors(&a, &a_base, &b);

            // Change A: edit a Paper, add one with a main file, delete an
            // agenda item, a paper and a person.
            let t = oparl::time::now() + 10;
            let live = |kind: Kind, n: i64| -> i64 {
                object::table
                    .filter(object::kind.eq(kind.code()))
                    .filter(object::deleted.eq(false))
                    .order(object::pk)
                    .offset(n)
                    .select(object::pk)
                    .first(&mut *a.conn())
                    .unwrap()
            };
            let body = live(Kind::Body, 0);
            {
                let mut conn = a.conn();
                let edited = live(Kind::Paper, 3);
                let mut fields: Map<String, Value> =
                    serde_json::from_str(&read::object(&mut conn, edited).unwrap().unwrap().fields)
                        .unwrap();
                fields.insert("name".into(), "Geänderter Titel".into());
                let mut paper = Map::new();
                paper.insert("name".into(), "Neue Vorlage".into());
                paper.insert("reference".into(), "2026/999".into());
                let mut file = Map::new();
                file.insert("name".into(), "Vorlage 2026/999".into());
                file.insert("accessUrl".into(), "https://files.example/999.pdf".into());
                let main_file = oparl::model::rel(Kind::Paper, "mainFile").code;
                write::change(&mut conn, |c| {
                    c.update_fields(edited, &fields, t)?;
                    let new = c.create(Kind::Paper, Some(body), &paper, t)?;
                    let file = c.create(Kind::File, Some(body), &file, t)?;
                    c.add_link(new, main_file, file, t)
                })
                .unwrap();
            }
            let agenda_item = live(Kind::AgendaItem, 5);
            let paper = live(Kind::Paper, 7);
            let person = live(Kind::Person, 2);
            for pk in [agenda_item, paper, person] {
                assert!(write::change(&mut a.conn(), |c| c.delete(pk, t)).unwrap());
            }

            // An incremental run brings B level again, deletions included.
            let (outcome, report) = import(&b, options(&a_base)).await.unwrap();
            assert_eq!(outcome, Outcome::Complete, "[{label}] {}", report.summary());
            assert_eq!(report.created, 2, "[{label}] {}", report.summary());
            assert!(report.changed >= 2, "[{label}] {}", report.summary());
            assert!(report.deleted >= 3, "[{label}] {}", report.summary());
            assert!(
                report.created + report.changed + report.deleted + report.unchanged < 2_000,
                "[{label}] the second run read only what changed: {}",
                report.summary()
            );
            assert_mirrors(&a, &a_base, &b);
            let b_counts = counts(&b);
            let a_counts = counts(&a);
            for kind in [
                "Paper",
                "Person",
                "AgendaItem",
                "Membership",
                "Consultation",
            ] {
                assert_eq!(b_counts[kind].0, a_counts[kind].0, "[{label}] live {kind}");
            }
        });
    }
}

#[test]
fn a_killed_import_changes_nothing_and_a_rerun_finishes_it() {
    for kind in backends() {
        let rt = multi_thread_runtime();
        let a = TestApp::new(TestStore::new(kind), true);
        let label = a.label();
        let dump =
            std::env::temp_dir().join(format!("oparl-dump-{}-{label}.jsonl", std::process::id()));
        {
            let mut out = std::io::BufWriter::new(std::fs::File::create(&dump).unwrap());
            let urls = Urls::new("https://source.test/oparl").unwrap();
            oparl::export::export_jsonl(&mut a.conn(), &urls, &mut out).unwrap();
        }
        let killed = a.empty_sibling();
        let whole = a.empty_sibling();
        let before = snapshot(&killed);
        let binary = env!("CARGO_BIN_EXE_oparl");
        let mut child = std::process::Command::new(binary)
            .args(["--database-url", &killed.store.url, "import"])
            .arg(&dump)
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Kill it as soon as it starts writing.
        let stderr = BufReader::new(child.stderr.take().unwrap());
        for line in stderr.lines() {
            if line.unwrap().contains("applying") {
                break;
            }
        }
        child.kill().unwrap();
        let status = child.wait().unwrap();
        // The kill lands while the transaction is open: applying ten
        // thousand objects takes far longer than the signal.
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9), "[{label}] {status}");
        assert_eq!(
            snapshot(&killed),
            before,
            "[{label}] a killed import wrote something"
        );
        let rerun = std::process::Command::new(binary)
            .args(["--database-url", &killed.store.url, "import", "--quiet"])
            .arg(&dump)
            .output()
            .unwrap();
        // The dump has a few objects of no knowable Body (skipped, exit 3).
        assert!(
            matches!(rerun.status.code(), Some(0 | 3)),
            "[{label}] {}",
            String::from_utf8_lossy(&rerun.stderr)
        );
        rt.block_on(async {
            import(&whole, options(dump.to_str().unwrap()))
                .await
                .unwrap();
        });
        let (rows, links) = snapshot(&killed);
        let (whole_rows, whole_links) = snapshot(&whole);
        assert!(rows.len() > 9_000, "[{label}] {} rows", rows.len());
        // Same objects, values and links; only the System's own times
        // (made when each store was created) may differ.
        let strip = |rows: Vec<ObjectRow>| -> Vec<_> {
            rows.into_iter()
                .filter(|r| r.kind != Kind::System.code())
                .map(|r| {
                    (
                        r.pk, r.kind, r.body_pk, r.created, r.modified, r.deleted, r.fields,
                    )
                })
                .collect()
        };
        assert_eq!(strip(rows), strip(whole_rows), "[{label}] objects");
        assert_eq!(links, whole_links, "[{label}] links");
        let _ = std::fs::remove_file(&dump);
    }
}

#[test]
fn bad_sources_fail_clearly_and_change_nothing() {
    for kind in backends() {
        let rt = multi_thread_runtime();
        let app = TestApp::new(TestStore::new(kind), true);
        let label = app.label();
        let dir = std::env::temp_dir().join(format!("oparl-bad-{}-{label}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let truncated = dir.join("truncated.json");
        std::fs::write(&truncated, r#"{"id": "https://x.test/paper/1", "type": "#).unwrap();
        let garbage = dir.join("garbage.jsonl");
        std::fs::write(&garbage, "not json\n{\"also\": \"not oparl\"}\n[1, 2]\n").unwrap();
        let huge = dir.join("huge.json");
        let big_name = "x".repeat(3 << 20);
        std::fs::write(
            &huge,
            format!(r#"[{{"id": "https://x.test/paper/1", "type": "https://schema.oparl.org/1.1/Paper", "name": "{big_name}"}}]"#),
        )
        .unwrap();
        let before = snapshot(&app);
        rt.block_on(async {
            let foreign =
                serve_fixed(200, "application/json", br#"{"hello": "world"}"#.to_vec()).await;
            let html =
                serve_fixed(200, "text/html", b"<html>Wartungsarbeiten</html>".to_vec()).await;
            let big = serve_fixed(200, "application/json", vec![b' '; 3 << 20]).await;
            let mut cases: Vec<(ImportOptions, &str)> = vec![
                (options(truncated.to_str().unwrap()), "truncated.json"),
                (options(garbage.to_str().unwrap()), "no OParl object"),
                (options(&format!("{foreign}/oparl")), "not an OParl System"),
                (options(&format!("{html}/oparl")), "not JSON"),
                (options("http://127.0.0.1:9/oparl"), "127.0.0.1:9"),
                (
                    options(dir.join("missing.jsonl").to_str().unwrap()),
                    "missing.jsonl",
                ),
            ];
            let mut small = options(huge.to_str().unwrap());
            small.max_document_bytes = 1 << 20;
            cases.push((small, "--max-document-mb"));
            let mut small = options(&format!("{big}/oparl"));
            small.max_document_bytes = 1 << 20;
            cases.push((small, "larger than"));
            for (mut opts, expected) in cases {
                opts.fetch.retries = 0;
                let source = opts.source.clone();
                let err = import(&app, opts).await.expect_err(&source);
                assert!(err.contains(expected), "[{label}] {source}: {err}");
            }
        });
        assert_eq!(
            snapshot(&app),
            before,
            "[{label}] a failed import changed the store"
        );
        let no_state: i64 = oparl::db::schema::import_source::table
            .count()
            .get_result(&mut *app.conn())
            .unwrap();
        assert_eq!(no_state, 0, "[{label}] a failed import left state behind");

        // On the command line: a message naming the file, exit status 1.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_oparl"))
            .args(["--database-url", &app.store.url, "import"])
            .arg(&truncated)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "[{label}]");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("truncated.json"), "[{label}] {stderr}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

type Fault = std::sync::Arc<dyn Fn(&str, &str, &mut crate::fixtures::Answer) + Send + Sync>;

#[test]
fn a_flaky_endpoint_is_retried_loops_are_caught_and_full_runs_find_vanished_objects() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    for kind in backends() {
        let rt = multi_thread_runtime();
        let a = TestApp::new(TestStore::new(kind), true);
        let b = a.empty_sibling();
        let label = a.label();
        let faults_on = Arc::new(AtomicBool::new(true));
        let failures = Arc::new(AtomicUsize::new(0));
        let fault: Fault = {
            let on = Arc::clone(&faults_on);
            let failures = Arc::clone(&failures);
            Arc::new(move |path, query, answer| {
                if !on.load(Ordering::SeqCst) {
                    return;
                }
                let first_time = |n: usize| failures.fetch_add(1, Ordering::SeqCst) < n;
                if path.ends_with("/paper") && query.is_empty() && first_time(2) {
                    // Overloaded twice, then fine; Retry-After asks for 1 s.
                    *answer = hyper::Response::new(Default::default());
                    *answer.status_mut() = hyper::StatusCode::SERVICE_UNAVAILABLE;
                    answer
                        .headers_mut()
                        .insert("retry-after", "1".parse().unwrap());
                } else if path.ends_with("/agenda-item") && query.contains("after=") {
                    // Every later page links back to the first.
                    crate::fixtures::edit_json(answer, |v| {
                        v["links"]["next"] = v["links"]["first"].clone()
                    });
                }
            })
        };
        rt.block_on(async {
            let a_base = serve_api(&a.state, Some(as_vendor(fault))).await;
            let (outcome, report) = import(&b, options(&a_base)).await.unwrap();
            // The paper list came through after its retries; the looping
            // agenda item list is reported, and its items still arrived
            // inside their meetings.
            assert_eq!(outcome, Outcome::Partial, "[{label}] {}", report.summary());
            assert_eq!(report.skips(), 1, "[{label}] {}", report.summary());
            assert!(report.summary().contains("loop"), "{}", report.summary());
            assert!(failures.load(Ordering::SeqCst) >= 2);
            assert_mirrors(&a, &a_base, &b);

            // A full run notices what vanished at the source.
            faults_on.store(false, Ordering::SeqCst);
            let paper: i64 = object::table
                .filter(object::kind.eq(Kind::Paper.code()))
                .filter(object::deleted.eq(false))
                .order(object::pk)
                .select(object::pk)
                .first(&mut *a.conn())
                .unwrap();
            assert!(write::change(&mut a.conn(), |c| c.delete(paper, oparl::time::now())).unwrap());
            let mut full = options(&a_base);
            full.full = true;
            let (outcome, report) = import(&b, full).await.unwrap();
            assert_eq!(outcome, Outcome::Complete, "[{label}] {}", report.summary());
            assert!(
                report.repairs(Repair::VanishedWithoutTombstone) >= 1,
                "[{label}] {}",
                report.summary()
            );
            let b_counts = counts(&b);
            let a_counts = counts(&a);
            for kind in ["Paper", "Consultation"] {
                assert_eq!(b_counts[kind].0, a_counts[kind].0, "[{label}] live {kind}");
            }
        });
    }
}

#[test]
fn file_bytes_are_downloaded_and_checked() {
    for kind in backends() {
        let rt = multi_thread_runtime();
        let a = TestApp::new(TestStore::new(kind), true);
        let b = a.empty_sibling();
        let label = a.label();
        // The live Files whose bytes A serves.
        let with_bytes: Vec<i64> = oparl::db::schema::file_content::table
            .inner_join(object::table.on(object::pk.eq(oparl::db::schema::file_content::file_pk)))
            .filter(object::deleted.eq(false))
            .select(oparl::db::schema::file_content::file_pk)
            .order(oparl::db::schema::file_content::file_pk)
            .load(&mut *a.conn())
            .unwrap();
        let corrupt = with_bytes[0];
        // As long as the real bytes, so only the checksum can tell.
        let length = read::file_bytes(&mut a.conn(), corrupt)
            .unwrap()
            .unwrap()
            .len();
        let fault: Fault = Arc::new(move |path, _query, answer| {
            if path.ends_with(&format!("/file/{corrupt}/download")) {
                *answer = hyper::Response::new(oparl::api::Body::new(bytes::Bytes::from(vec![
                        b'x';
                        length
                    ])));
            }
        });
        rt.block_on(async {
            let a_base = serve_api(&a.state, Some(fault)).await;
            let mut opts = options(&a_base);
            opts.with_files = true;
            let (outcome, report) = import(&b, opts).await.unwrap();
            assert_eq!(outcome, Outcome::Partial, "[{label}] {}", report.summary());
            assert_eq!(report.skips(), 1, "[{label}] {}", report.summary());
            assert!(
                report.summary().contains("sha512Checksum does not match"),
                "{}",
                report.summary()
            );
            assert_eq!(report.files_stored as usize, with_bytes.len() - 1);

            // B serves the bytes itself, the same bytes; the corrupted File
            // still points at A.
            let b_to_a: HashMap<String, i64> = import_id::table
                .select((import_id::source_id, import_id::pk))
                .load::<(String, i64)>(&mut *b.conn())
                .unwrap()
                .into_iter()
                .collect();
            let a_urls = Urls::new(&a_base).unwrap();
            let sid = |pk: i64| a_urls.object(Kind::File, pk).replacen("http://", "", 1);
            let good = b_to_a[&sid(with_bytes[1])];
            let served = b.get(&format!("{BASE}/file/{good}/access")).await;
            assert_eq!(served.status, 200, "[{label}]");
            let original = read::file_bytes(&mut a.conn(), with_bytes[1])
                .unwrap()
                .unwrap();
            assert_eq!(served.body.as_ref(), original.as_slice(), "[{label}]");
            let bad = b
                .json(&format!("{BASE}/file/{}", b_to_a[&sid(corrupt)]))
                .await;
            assert_eq!(bad["accessUrl"], a_urls.file_access(corrupt), "[{label}]");
        });
    }
}

#[test]
fn every_known_defect_of_a_dump_is_repaired_or_skipped_and_reported() {
    const T: &str = "https://schema.oparl.org/1.1/";
    let lines = [
        // 1: the Body
        format!(r#"{{"id":"https://v.test/body/1","type":"{T}Body","name":"Gemeinde\u00a0","created":"2020-01-01T00:00:00.123Z","modified":"2020-01-02T00:00:00Z"}}"#),
        // 2: a Paper with a bare, swapped geometry and an empty string
        format!(r#"{{"id":"https://v.test/paper/1","type":"{T}Paper","body":"https://v.test/body/1","name":"Antrag","reference":"","location":[{{"id":"https://v.test/location/1","type":"{T}Location","geojson":{{"type":"Point","coordinates":[50.8,6.4]}}}}],"mainFile":{{"id":"https://v.test/file/1","type":"{T}File","name":"Antrag","mimeType":"pdf","date":"2020-01-03T10:00:00+01:00","accessUrl":"https://v.test/f/1.pdf"}},"created":"2020-01-03T00:00:00+00:00","modified":"2020-01-03T00:00:00+00:00"}}"#),
        // 3: the same Paper under http, changed: a scheme mixture and a duplicate
        format!(r#"{{"id":"http://v.test/paper/1","type":"{T}Paper","body":"https://v.test/body/1","name":"Antrag (neu)","created":"2020-01-03T00:00:00+00:00","modified":"2020-01-04T00:00:00+00:00"}}"#),
        // 4: a Meeting with a Z start, agenda items with repeated orders, and
        // a reference to a Person the dump never holds
        format!(r#"{{"id":"https://v.test/meeting/1","type":"{T}Meeting","name":"Rat","start":"2020-02-01T18:00:00.5Z","participant":"https://v.test/person/404","agendaItem":[{{"id":"https://v.test/ai/1","type":"{T}AgendaItem","order":1,"name":"A"}},{{"id":"https://v.test/ai/2","type":"{T}AgendaItem","order":1,"name":"B"}}],"created":"2020-01-05T00:00:00+00:00","modified":"2020-01-05T00:00:00+00:00"}}"#),
        // 5: an object without id
        format!(r#"{{"type":"{T}Paper","name":"ohne id"}}"#),
        // 6: not JSON
        "{\"id\": ".to_string(),
        // 7: a wrong JSON type for a relation
        format!(r#"{{"id":"https://v.test/paper/2","type":"{T}Paper","body":"https://v.test/body/1","name":"B","mainFile":42,"created":"2020-01-03T00:00:00+00:00","modified":"2020-01-03T00:00:00+00:00"}}"#),
        // 8: a tombstone without type
        r#"{"id":"https://v.test/paper/3","deleted":true,"created":"2020-01-03T00:00:00+00:00","modified":"2020-01-06T00:00:00+00:00","body":"https://v.test/body/1"}"#.to_string(),
        // 9: an AgendaItem of no meeting, without a meeting URL
        format!(r#"{{"id":"https://v.test/ai/9","type":"{T}AgendaItem","order":0,"name":"verwaist","created":"2020-01-05T00:00:00+00:00","modified":"2020-01-05T00:00:00+00:00"}}"#),
        // 10: a Consultation of no paper, without a paper URL
        format!(r#"{{"id":"https://v.test/consultation/9","type":"{T}Consultation","role":"Kenntnisnahme","created":"2020-01-05T00:00:00+00:00","modified":"2020-01-05T00:00:00+00:00"}}"#),
    ];
    for kind in backends() {
        let rt = multi_thread_runtime();
        let app = TestApp::new(TestStore::new(kind), false);
        let label = app.label();
        let dir =
            std::env::temp_dir().join(format!("oparl-defects-{}-{label}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dump = dir.join("defects.jsonl");
        std::fs::write(&dump, lines.join("\n")).unwrap();
        let report_file = dir.join("report.json");
        let mut opts = options(dump.to_str().unwrap());
        opts.report_file = Some(report_file.clone());
        let (outcome, report) = rt.block_on(import(&app, opts)).unwrap();
        assert_eq!(outcome, Outcome::Partial, "[{label}]");
        for (repair, n) in [
            (Repair::PaddedString, 1),
            (Repair::EmptyValue, 1),
            (Repair::BareGeometry, 1),
            (Repair::CoordinatesSwapped, 1),
            (Repair::MimeType, 1),
            (Repair::DateTimeForDate, 1),
            (Repair::SchemeMixture, 1),
            (Repair::DuplicateId, 1),
            (Repair::AgendaItemOrder, 1),
            (Repair::DanglingReference, 1),
            (Repair::SingleValueForArray, 1),
            (Repair::TombstoneWithoutType, 0), // a JSON Lines line has no list to name its type
        ] {
            assert_eq!(report.repairs(repair), n, "[{label}] {}", repair.name());
        }
        // Z and fractions: the Body's two times and the Meeting's start.
        assert_eq!(report.repairs(Repair::DateTimeForm), 3, "[{label}]");
        // The line without id, the line that is not JSON, the number where
        // a File belongs, the tombstone whose type nothing tells, and the
        // agenda item and consultation that cannot be served without the
        // back-reference OParl requires of them.
        assert_eq!(report.skips(), 6, "[{label}] {}", report.summary());
        let written: Value = serde_json::from_slice(&std::fs::read(&report_file).unwrap()).unwrap();
        let skips: Vec<(u64, String)> = written["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "skip")
            .map(|e| {
                (
                    e["line"].as_u64().unwrap(),
                    e["path"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            skips,
            vec![
                (5, "$".to_string()),
                (6, "$".to_string()),
                (7, "$.mainFile".to_string()),
                (8, "$".to_string()),
                (9, "$".to_string()),
                (10, "$".to_string())
            ],
            "[{label}]"
        );

        // What is served is repaired.
        rt.block_on(async {
            let bodies = app.json(&format!("{BASE}/body")).await;
            let body = &bodies["data"][0];
            assert_eq!(body["name"], "Gemeinde", "[{label}]");
            let papers = app.walk(body["paper"].as_str().unwrap()).await;
            let paper = papers
                .iter()
                .find(|p| p["import:sourceId"] == "http://v.test/paper/1")
                .unwrap();
            assert_eq!(
                paper["name"], "Antrag (neu)",
                "[{label}] the later sighting wins"
            );
            let meetings = app.walk(body["meeting"].as_str().unwrap()).await;
            let meeting = &meetings[0];
            assert_eq!(meeting["start"], "2020-02-01T18:00:00+00:00", "[{label}]");
            assert!(
                meeting.get("participant").is_none(),
                "[{label}] no dangling URL"
            );
            let orders: Vec<i64> = meeting["agendaItem"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["order"].as_i64().unwrap())
                .collect();
            assert_eq!(orders, vec![0, 1], "[{label}]");
            let locations = app.walk(body["locationList"].as_str().unwrap()).await;
            let geo = &locations[0]["geojson"];
            assert_eq!(geo["type"], "Feature", "[{label}]");
            assert_eq!(
                geo["geometry"]["coordinates"],
                serde_json::json!([6.4, 50.8])
            );
            let files = app.walk(body["file"].as_str().unwrap()).await;
            assert_eq!(files[0]["mimeType"], "application/pdf", "[{label}]");
            assert_eq!(files[0]["date"], "2020-01-03", "[{label}]");
        });
        let _ = std::fs::remove_dir_all(&dir);
    }
}
