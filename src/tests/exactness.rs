//! Exact under every change: every change gets a revision, and every answer,
//! ETag and cache entry follows it, also for changes within one second, on
//! a second server, after an import, and for embedded children; concurrent
//! imports into one database never collide; deleting an object takes every
//! reference to it out of live objects, which are re-stamped.

use crate::support::*;
use diesel::prelude::*;
use hyper::Method;
use oparl::api::{self, AppState};
use oparl::db::schema::object;
use oparl::import::repair::Repair;
use oparl::import::{ImportOptions, Outcome};
use oparl::store::{read, write};
use oparl::urls::Urls;
use serde_json::{Map, Value};
use std::sync::Arc;

/// A server of its own on the store of `app`: its own pool, caches and
/// version reader, as a second process behind a load balancer would have.
fn second_server(app: &TestApp) -> Arc<AppState> {
    Arc::new(AppState::new(
        oparl::db::Db::open(&app.store.url, false).unwrap(),
        Urls::new(BASE).unwrap(),
        api::DEFAULT_CACHE_BYTES,
    ))
}

/// Set one value of an object through the write path, as one change.
fn set(app: &TestApp, pk: i64, key: &str, value: &str, at: i64) {
    let row = read::object(&mut app.conn(), pk).unwrap().unwrap();
    let mut fields: Map<String, Value> = serde_json::from_str(&row.fields).unwrap();
    fields.insert(key.into(), value.into());
    write::change(&mut app.conn(), |c| c.update_fields(pk, &fields, at)).unwrap();
}

/// A live paper with an embedded auxiliary file, and its Body's paper list.
async fn paper_with_file(app: &TestApp) -> (Value, String) {
    let bodies = app.json(&format!("{BASE}/body")).await;
    let papers = bodies["data"][0]["paper"].as_str().unwrap().to_string();
    let paper = app
        .walk(&format!("{papers}?limit=1000"))
        .await
        .into_iter()
        .find(|p| p.get("auxiliaryFile").is_some())
        .expect("the demo has papers with attachments");
    (paper, papers)
}

#[test]
fn three_changes_in_one_second_each_show_at_once_with_a_new_etag() {
    each_backend(true, |app| async move {
        let label = app.label();
        let (paper, papers) = paper_with_file(&app).await;
        let id = paper["id"].as_str().unwrap().to_string();
        let file = paper["auxiliaryFile"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let page = format!("{papers}?limit=1000");
        let other = second_server(&app);
        let servers = [Arc::clone(&app.state), Arc::clone(&other)];
        // What each server answered last, per URL: (ETag, body).
        let mut last: Vec<Vec<(String, Value)>> = Vec::new();
        for server in &servers {
            let mut seen = Vec::new();
            for url in [&id, &file, &page] {
                // Asked twice, so that the second answer comes from memory.
                ask(server, Method::GET, url, &[]).await;
                let answer = ask(server, Method::GET, url, &[]).await;
                assert_eq!(answer.status, 200, "[{label}] {url}");
                seen.push((answer.header("etag").unwrap().to_string(), answer.json()));
            }
            last.push(seen);
        }
        // One second for all three changes: `modified` cannot tell them
        // apart, the revision must.
        let second = oparl::time::now() + 100;
        let changes = [
            (pk_of(&id), "Erste Fassung"),
            (pk_of(&file), "Anlage, zweite Fassung"),
            (pk_of(&id), "Dritte Fassung"),
        ];
        for (round, (pk, name)) in changes.into_iter().enumerate() {
            set(&app, pk, "name", name, second);
            for (s, server) in servers.iter().enumerate() {
                for (u, url) in [&id, &file, &page].into_iter().enumerate() {
                    let (old_tag, old_body) = &last[s][u];
                    let again = ask(server, Method::GET, url, &[("if-none-match", old_tag)]).await;
                    let shows_it = u != 1 || pk == pk_of(&file);
                    if !shows_it {
                        // The file itself did not change in this round.
                        assert_eq!(again.status, 304, "[{label}] round {round}: {url}");
                        continue;
                    }
                    assert_eq!(
                        again.status, 200,
                        "[{label}] server {s}, round {round}: {url} still answers 304 to the old ETag"
                    );
                    let tag = again.header("etag").unwrap().to_string();
                    assert_ne!(&tag, old_tag, "[{label}] round {round}: {url}");
                    let body = again.json();
                    assert_ne!(&body, old_body, "[{label}] round {round}: {url}");
                    let shown = match u {
                        0 if pk == pk_of(&id) => body["name"].clone(),
                        0 => body["auxiliaryFile"][0]["name"].clone(),
                        1 => body["name"].clone(),
                        _ => {
                            let on_page = body["data"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .find(|p| p["id"] == id.as_str())
                                .unwrap()
                                .clone();
                            if pk == pk_of(&id) {
                                on_page["name"].clone()
                            } else {
                                on_page["auxiliaryFile"][0]["name"].clone()
                            }
                        }
                    };
                    assert_eq!(shown, name, "[{label}] server {s}, round {round}: {url}");
                    // The new ETag is the one that validates now.
                    let fresh = ask(server, Method::GET, url, &[("if-none-match", &tag)]).await;
                    assert_eq!(fresh.status, 304, "[{label}] round {round}: {url}");
                    last[s][u] = (tag, body);
                }
            }
            // All three changes carry the same published time.
            let now = app.json(&id).await;
            assert_eq!(
                now["modified"],
                oparl::time::format_datetime(second),
                "[{label}]"
            );
            // A time whose second is not over validates nothing: no
            // Last-Modified, and If-Modified-Since with it is no 304.
            let answer = app.get(&id).await;
            assert!(answer.header("last-modified").is_none(), "[{label}]");
            let since = oparl::time::format_http_date(second);
            let answer = app
                .request(Method::GET, &id, &[("if-modified-since", &since)])
                .await;
            assert_eq!(answer.status, 200, "[{label}] If-Modified-Since");
        }
    });
}

const T: &str = "https://schema.oparl.org/1.1/";

/// A dump of one Body and one Paper whose `modified` never advances.
fn paper_dump(name: &str) -> String {
    [
        format!(
            r#"{{"id":"https://src.test/body/1","type":"{T}Body","name":"Quellstadt","created":"2024-01-01T00:00:00+00:00","modified":"2024-01-01T00:00:00+00:00"}}"#
        ),
        format!(
            r#"{{"id":"https://src.test/paper/1","type":"{T}Paper","body":"https://src.test/body/1","name":"{name}","created":"2024-01-02T00:00:00+00:00","modified":"2024-01-02T00:00:00+00:00"}}"#
        ),
    ]
    .join("\n")
}

fn import_file(app: &TestApp, path: &std::path::Path) -> (Outcome, oparl::import::report::Report) {
    let mut opts = ImportOptions::new(path.to_str().unwrap());
    opts.quiet = true;
    oparl::import::run(app.store.db(), &opts).unwrap()
}

#[test]
fn repeated_imports_of_a_source_whose_modified_stands_still_show_at_once() {
    for kind in backends() {
        let app = TestApp::new(TestStore::new(kind), false);
        let label = app.label();
        let rt = multi_thread_runtime();
        let dir = std::env::temp_dir().join(format!("oparl-still-{}-{label}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dump = dir.join("dump.jsonl");
        std::fs::write(&dump, paper_dump("Fassung 0")).unwrap();
        import_file(&app, &dump);
        let id = rt.block_on(async {
            let bodies = app.json(&format!("{BASE}/body")).await;
            let papers = app.json(bodies["data"][0]["paper"].as_str().unwrap()).await;
            papers["data"][0]["id"].as_str().unwrap().to_string()
        });
        let mut tag = rt.block_on(async { app.get(&id).await.header("etag").unwrap().to_string() });
        for round in 1..=3 {
            let name = format!("Fassung {round}");
            std::fs::write(&dump, paper_dump(&name)).unwrap();
            let (_, report) = import_file(&app, &dump);
            assert_eq!(report.changed, 1, "[{label}] round {round}");
            assert_eq!(
                report.repairs(Repair::ModifiedNotAdvanced),
                1,
                "[{label}] round {round}"
            );
            rt.block_on(async {
                let old = app
                    .request(Method::GET, &id, &[("if-none-match", &tag)])
                    .await;
                assert_eq!(old.status, 200, "[{label}] round {round}: stale 304");
                assert_eq!(old.json()["name"], name.as_str(), "[{label}] round {round}");
                let new_tag = old.header("etag").unwrap().to_string();
                assert_ne!(new_tag, tag, "[{label}] round {round}");
                tag = new_tag;
            });
        }
        // A server started afresh on the store agrees.
        let fresh = second_server(&app);
        let answer = rt.block_on(ask(&fresh, Method::GET, &id, &[]));
        assert_eq!(answer.json()["name"], "Fassung 3", "[{label}]");
        assert_eq!(answer.header("etag"), Some(tag.as_str()), "[{label}]");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn concurrent_imports_into_one_database_do_not_collide() {
    for kind in backends() {
        let source = TestApp::new(TestStore::new(kind.clone()), true);
        let label = source.label();
        let dir = std::env::temp_dir().join(format!("oparl-twice-{}-{label}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut dump = Vec::new();
        let lines =
            oparl::export::export_jsonl(&mut source.conn(), &Urls::new(BASE).unwrap(), &mut dump)
                .unwrap();
        // Two sources of the same size under different ids (the same
        // source id would be the same object).
        let dump = String::from_utf8(dump).unwrap();
        let paths = [dir.join("a.jsonl"), dir.join("b.jsonl")];
        std::fs::write(&paths[0], &dump).unwrap();
        std::fs::write(
            &paths[1],
            dump.replace("http://oparl.test/", "http://other.test/"),
        )
        .unwrap();
        let target = TestApp::new(TestStore::new(kind), false);
        let before = read::revision(&mut target.conn()).unwrap();
        let results: Vec<_> = std::thread::scope(|scope| {
            let runs: Vec<_> = paths
                .iter()
                .map(|path| scope.spawn(|| import_file(&target, path)))
                .collect();
            runs.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let created: Vec<u64> = results.iter().map(|(_, r)| r.created).collect();
        assert!(created[0] > 9_000, "[{label}] {created:?} of {lines} lines");
        assert_eq!(created[0], created[1], "[{label}] both complete");
        // Every object of both runs is there, each under a pk of its own.
        let total: i64 = object::table
            .count()
            .get_result(&mut *target.conn())
            .unwrap();
        assert_eq!(
            total as u64,
            1 + created[0] + created[1],
            "[{label}] the System and both imports"
        );
        let revisions: Vec<i64> = object::table
            .filter(object::kind.ne(oparl::model::Kind::System.code()))
            .select(object::revision)
            .distinct()
            .order(object::revision)
            .load(&mut *target.conn())
            .unwrap();
        assert_eq!(
            revisions,
            vec![before + 1, before + 2],
            "[{label}] each import's objects carry its revision"
        );
        assert_eq!(
            read::revision(&mut target.conn()).unwrap(),
            before + 2,
            "[{label}] one revision per import"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn deleting_a_meeting_takes_it_out_of_every_live_reference_and_restamps_them() {
    each_backend(true, |app| async move {
        let label = app.label();
        let bodies = app.json(&format!("{BASE}/body")).await;
        let body = bodies["data"][0].clone();
        let consultations = app
            .walk(&format!(
                "{}?limit=1000",
                body["consultation"].as_str().unwrap()
            ))
            .await;
        // A meeting that consultations name, with agenda items they name too.
        let meeting = consultations
            .iter()
            .filter_map(|c| c["meeting"].as_str())
            .find(|m| {
                consultations
                    .iter()
                    .filter(|c| c["meeting"] == *m && c.get("agendaItem").is_some())
                    .count()
                    >= 2
            })
            .expect("the demo has consultations in meetings")
            .to_string();
        let named: Vec<&Value> = consultations
            .iter()
            .filter(|c| c["meeting"] == meeting.as_str())
            .collect();
        let at = oparl::time::now() + 200;
        assert!(app.delete(pk_of(&meeting), at));
        let stamp = oparl::time::format_datetime(at);
        for c in &named {
            let id = c["id"].as_str().unwrap();
            let now = app.json(id).await;
            assert!(
                now.get("meeting").is_none(),
                "[{label}] {id} names it still"
            );
            assert!(
                now.get("agendaItem").is_none(),
                "[{label}] {id} names a deleted agenda item"
            );
            assert_eq!(now["modified"], stamp, "[{label}] {id} re-stamped");
            let paper = app.json(now["paper"].as_str().unwrap()).await;
            assert_eq!(paper["modified"], stamp, "[{label}] its paper too");
            let embedded = paper["consultation"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["id"] == id)
                .unwrap();
            assert!(embedded.get("meeting").is_none(), "[{label}] embedded copy");
        }
        // A harvester asking for changes since the deletion sees the meeting
        // as a tombstone and every consultation and paper that changed.
        let since = enc(&stamp);
        let app = &app;
        let changed = |list: &str| {
            let url = format!(
                "{}?modified_since={since}&limit=1000",
                body[list].as_str().unwrap()
            );
            async move {
                app.walk(&url)
                    .await
                    .into_iter()
                    .map(|o| o["id"].as_str().unwrap().to_string())
                    .collect::<std::collections::BTreeSet<String>>()
            }
        };
        let meetings = changed("meeting").await;
        assert!(meetings.contains(&meeting), "[{label}]");
        let consultations_changed = changed("consultation").await;
        let papers_changed = changed("paper").await;
        for c in &named {
            assert!(
                consultations_changed.contains(c["id"].as_str().unwrap()),
                "[{label}]"
            );
            assert!(
                papers_changed.contains(c["paper"].as_str().unwrap()),
                "[{label}]"
            );
        }
        // The meeting is in no Organization's meeting list any more.
        let organizations = app.walk(body["organization"].as_str().unwrap()).await;
        for org in &organizations {
            let listed = app.walk(org["meeting"].as_str().unwrap()).await;
            assert!(
                listed.iter().all(|m| m["id"] != meeting.as_str()),
                "[{label}]"
            );
        }
    });
}

#[test]
fn a_dump_whose_live_objects_refer_to_tombstones_is_repaired() {
    let lines = [
        format!(
            r#"{{"id":"https://src.test/body/1","type":"{T}Body","name":"Quellstadt","created":"2024-01-01T00:00:00+00:00","modified":"2024-01-01T00:00:00+00:00"}}"#
        ),
        format!(
            r#"{{"id":"https://src.test/meeting/9","type":"{T}Meeting","deleted":true,"created":"2024-01-01T00:00:00+00:00","modified":"2024-02-01T00:00:00+00:00","body":"https://src.test/body/1"}}"#
        ),
        format!(
            r#"{{"id":"https://src.test/paper/8","type":"{T}Paper","deleted":true,"body":"https://src.test/body/1","created":"2024-01-01T00:00:00+00:00","modified":"2024-02-01T00:00:00+00:00"}}"#
        ),
        format!(
            r#"{{"id":"https://src.test/paper/1","type":"{T}Paper","body":"https://src.test/body/1","name":"Antrag","relatedPaper":["https://src.test/paper/8"],"consultation":[{{"id":"https://src.test/consultation/1","type":"{T}Consultation","meeting":"https://src.test/meeting/9","role":"Beratung"}}],"created":"2024-01-02T00:00:00+00:00","modified":"2024-01-02T00:00:00+00:00"}}"#
        ),
    ];
    for kind in backends() {
        let app = TestApp::new(TestStore::new(kind), false);
        let label = app.label();
        let dir =
            std::env::temp_dir().join(format!("oparl-tombref-{}-{label}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dump = dir.join("dump.jsonl");
        std::fs::write(&dump, lines.join("\n")).unwrap();
        let (outcome, report) = import_file(&app, &dump);
        assert_eq!(outcome, Outcome::Complete, "[{label}] {}", report.summary());
        assert_eq!(
            report.repairs(Repair::ReferenceToDeleted),
            2,
            "[{label}] {}",
            report.summary()
        );
        let rt = multi_thread_runtime();
        rt.block_on(async {
            let bodies = app.json(&format!("{BASE}/body")).await;
            let papers = app.walk(bodies["data"][0]["paper"].as_str().unwrap()).await;
            assert_eq!(papers.len(), 1, "[{label}]");
            let paper = &papers[0];
            assert!(paper.get("relatedPaper").is_none(), "[{label}] {paper}");
            let consultation = &paper["consultation"][0];
            assert_eq!(consultation["role"], "Beratung", "[{label}]");
            assert!(consultation.get("meeting").is_none(), "[{label}] {paper}");
        });
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn requests_that_miss_one_answer_together_all_see_the_change() {
    // They share one load (api::flights); each must still get the answer
    // of the change made before it arrived, on every round.
    for kind in backends() {
        let app = TestApp::new(TestStore::new(kind), true);
        let label = app.label();
        multi_thread_runtime().block_on(async {
            let (paper, _) = paper_with_file(&app).await;
            let id = paper["id"].as_str().unwrap().to_string();
            let pk = pk_of(&id);
            for round in 0..5 {
                let name = format!("Runde {round}");
                set(&app, pk, "name", &name, oparl::time::now());
                let asks: Vec<_> = (0..8)
                    .map(|_| {
                        let (state, id) = (Arc::clone(&app.state), id.clone());
                        tokio::spawn(async move { ask(&state, Method::GET, &id, &[]).await })
                    })
                    .collect();
                for asked in asks {
                    let answer = asked.await.unwrap();
                    assert_eq!(answer.status, 200, "[{label}] round {round}");
                    assert_eq!(
                        answer.json()["name"],
                        name.as_str(),
                        "[{label}] round {round}"
                    );
                }
            }
        });
    }
}
