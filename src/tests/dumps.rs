//! Bulk dumps: built while writes go on, a dump holds exactly the store at
//! its revision, and the dump followed by the change feed after that
//! revision is the store; downloads carry their length, digest and
//! revision and resume with Range requests.

use crate::changes::{as_served, live_papers, rename, served, Mirror, REVISION};
use crate::support::*;
use diesel::prelude::*;
use hyper::Method;
use oparl::api::{self, AppState};
use oparl::db::schema::object;
use oparl::dumps::Dumps;
use oparl::urls::Urls;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The lines of a gzip-compressed JSON Lines file.
fn lines(gz: &[u8]) -> Vec<Value> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_dump_built_under_writes_plus_the_feed_is_the_store() {
    each_backend(true, |app| async move {
        let label = app.label();
        let dir = std::env::temp_dir().join(format!(
            "oparl-dumps-{}-{label}-{}",
            std::process::id(),
            oparl::time::now()
        ));
        let dumps = Arc::new(Dumps::new(&dir).unwrap());
        let urls = Urls::new(BASE).unwrap();
        let state = Arc::new(
            AppState::new(
                app.store.db().clone(),
                urls.clone(),
                api::DEFAULT_CACHE_BYTES,
            )
            .with_dumps(Arc::clone(&dumps)),
        );
        let none_yet = ask(&state, Method::GET, &format!("{BASE}/dump"), &[]).await;
        assert_eq!(none_yet.status, 503, "[{label}]");
        assert_eq!(none_yet.header("retry-after"), Some("30"), "[{label}]");
        assert_eq!(
            none_yet.json()["type"],
            "https://schema.oparl.org/1.1/Error",
            "[{label}]"
        );

        // Writes go on while the dump is built.
        let papers = live_papers(&app);
        let stop = AtomicBool::new(false);
        let now = oparl::time::now();
        let revision = std::thread::scope(|scope| {
            let writer = scope.spawn(|| {
                let mut round = 0;
                while !stop.load(Ordering::SeqCst) || round < 3 {
                    let (pk, _) = papers[round % papers.len()];
                    rename(&app, pk, &format!("Während des Abzugs {round}"), now + 1);
                    round += 1;
                }
            });
            let revision = dumps.build(app.store.db(), &urls).unwrap();
            stop.store(true, Ordering::SeqCst);
            writer.join().unwrap();
            revision
        });
        // And after it.
        rename(&app, papers[5].0, "Nach dem Abzug", now + 2);
        assert!(app.delete(papers[6].0, now + 2));

        let download = ask(&state, Method::GET, &format!("{BASE}/dump"), &[]).await;
        assert_eq!(download.status, 200, "[{label}]");
        let file = dumps.get(None).unwrap();
        assert_eq!(
            download.header("content-length"),
            Some(file.size.to_string().as_str())
        );
        assert_eq!(download.body.len() as u64, file.size, "[{label}]");
        let digest = Sha256::digest(&download.body);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, file.sha256, "[{label}]");
        assert!(download
            .header("repr-digest")
            .is_some_and(|d| d.starts_with("sha-256=:") && d.ends_with("=:")));
        assert_eq!(
            download.header("dump-revision"),
            Some(revision.to_string().as_str())
        );
        let all = lines(&download.body);
        assert_eq!(all[0]["type"], "server:Dump", "[{label}]");
        assert_eq!(all[0][REVISION], revision, "[{label}]");

        // Exactly the store at its revision: nothing later in it, and every
        // object that has not changed since is in it as it is served now.
        let mut mirror = Mirror::default();
        for line in &all[1..] {
            assert!(line[REVISION].as_i64().unwrap() <= revision, "[{label}]");
            let object = as_served(line);
            mirror
                .objects
                .insert(object["id"].as_str().unwrap().to_string(), object);
        }
        assert_eq!(mirror.objects.len(), all.len() - 1, "each object once");
        let unchanged: Vec<(i64, i16)> = object::table
            .filter(object::revision.le(revision))
            .select((object::pk, object::kind))
            .load(&mut *app.conn())
            .unwrap();
        for (pk, kind) in unchanged {
            let id = urls.object(oparl::model::Kind::from_code(kind).unwrap(), pk);
            assert_eq!(
                mirror.objects.get(&id),
                Some(&app.json(&id).await),
                "[{label}] {id}"
            );
        }
        // Then the feed after the dump's revision: the store.
        mirror.revision = Some(revision);
        let mut next = Some(mirror.poll_url(1000));
        while let Some(url) = next {
            (next, _) = mirror.apply(&app.json(&url).await);
        }
        let store = served(&app).await;
        assert_eq!(
            mirror.objects.keys().collect::<Vec<_>>(),
            store.keys().collect::<Vec<_>>(),
            "[{label}]"
        );
        for (id, object) in &store {
            assert_eq!(&mirror.objects[id], object, "[{label}] {id}");
        }

        // A Body's dump: the same snapshot, only that Body's objects.
        let body = papers[0].1.unwrap();
        let of_body = ask(
            &state,
            Method::GET,
            &format!("{BASE}/body/{body}/dump"),
            &[],
        )
        .await;
        assert_eq!(of_body.status, 200, "[{label}]");
        let body_lines = lines(&of_body.body);
        assert_eq!(body_lines[0][REVISION], revision, "[{label}]");
        assert_eq!(body_lines[0]["body"], format!("{BASE}/body/{body}"));
        let owners: BTreeMap<i64, Option<i64>> = object::table
            .select((object::pk, object::body_pk))
            .load(&mut *app.conn())
            .unwrap()
            .into_iter()
            .collect();
        // The System has no Body.
        let owner = |o: &Value| match o["id"].as_str().unwrap() {
            BASE => None,
            id => owners[&pk_of(id)],
        };
        let in_all = all[1..].iter().filter(|o| owner(o) == Some(body)).count();
        assert_eq!(body_lines.len() - 1, in_all, "[{label}]");
        assert!(body_lines[1..].iter().all(|o| owner(o) == Some(body)));

        // Resumable: a range, a range under If-Range, 416, 304.
        let etag = download.header("etag").unwrap().to_string();
        let part = ask(
            &state,
            Method::GET,
            &format!("{BASE}/dump"),
            &[("range", "bytes=10-99"), ("if-range", &etag)],
        )
        .await;
        assert_eq!(part.status, 206, "[{label}]");
        assert_eq!(&part.body[..], &download.body[10..100], "[{label}]");
        assert_eq!(
            part.header("content-range"),
            Some(format!("bytes 10-99/{}", file.size).as_str())
        );
        let stale = ask(
            &state,
            Method::GET,
            &format!("{BASE}/dump"),
            &[("range", "bytes=10-99"), ("if-range", "\"older\"")],
        )
        .await;
        assert_eq!(stale.status, 200, "[{label}] a newer dump is sent whole");
        assert_eq!(stale.body, download.body);
        let beyond = ask(
            &state,
            Method::GET,
            &format!("{BASE}/dump"),
            &[("range", &format!("bytes={}-", file.size + 5))],
        )
        .await;
        assert_eq!(beyond.status, 416, "[{label}]");
        let again = ask(
            &state,
            Method::GET,
            &format!("{BASE}/dump"),
            &[("if-none-match", &etag)],
        )
        .await;
        assert_eq!(again.status, 304, "[{label}]");
        let missing = ask(
            &state,
            Method::GET,
            &format!("{BASE}/body/999999/dump"),
            &[],
        )
        .await;
        assert_eq!(missing.status, 404, "[{label}]");
        // A server that builds no dumps does not pretend to.
        assert_eq!(app.get(&format!("{BASE}/dump")).await.status, 404);
        let _ = std::fs::remove_dir_all(&dir);
    });
}
