//! Bulk dumps: built while writes go on, a dump holds exactly the store at
//! its revision, and the dump followed by the change feed after that
//! revision is the store; downloads carry their length, digest and
//! revision and resume with Range requests.

use crate::changes::{as_served, live_papers, rename, served, Mirror, REVISION};
use crate::support::*;
use diesel::prelude::*;
use hyper::Method;
use oparl::api::{self};
use oparl::db::schema::object;
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
        let (state, dumps) = state_with_dumps(&app, "dumps");
        let urls = state.urls.clone();
        // Everything is asked of the server that serves the dumps (its
        // System and Bodies advertise them).
        let without_dumps = Arc::clone(&app.state);
        let app = TestApp {
            state: Arc::clone(&state),
            store: app.store,
        };
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
        let plain = ask(&without_dumps, Method::GET, &format!("{BASE}/dump"), &[]).await;
        assert_eq!(plain.status, 404);
        let _ = std::fs::remove_dir_all(dumps.dir());
    });
}

/// Decode standard base64 with padding (RFC 4648 §4).
fn unbase64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {text}"),
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|c| *c != b'=') {
        acc = acc << 6 | u32::from(value(c));
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[test]
fn a_dump_streams_in_range_pieces_that_add_up_to_it_and_keeps_its_file_when_replaced() {
    use http_body_util::BodyExt;
    each_backend(true, |app| async move {
        let label = app.label();
        let (state, dumps) = state_with_dumps(&app, "dump-ranges");
        let urls = state.urls.clone();
        dumps.build(app.store.db(), &urls).unwrap();
        let url = format!("{BASE}/dump");
        let file = dumps.get(None).unwrap();
        // Larger than a chunk, so that the answer comes in several.
        assert!(
            file.size > 2 * api::body::CHUNK as u64,
            "[{label}] {}",
            file.size
        );

        // The whole file, asking for gzip: sent as it is, not coded again.
        let whole = ask(
            &state,
            Method::GET,
            &url,
            &[("accept-encoding", "gzip, br")],
        )
        .await;
        assert_eq!(whole.status, 200, "[{label}]");
        assert_eq!(whole.header("content-encoding"), None, "[{label}]");
        assert_eq!(whole.header("content-type"), Some("application/gzip"));
        assert_eq!(whole.body.len() as u64, file.size, "[{label}]");
        let digest = whole
            .header("repr-digest")
            .and_then(|d| d.strip_prefix("sha-256=:"))
            .and_then(|d| d.strip_suffix(':'))
            .map(unbase64)
            .expect("Repr-Digest: sha-256=:...:");
        assert_eq!(&Sha256::digest(&whole.body)[..], &digest[..], "[{label}]");

        // In pieces that do not line up with the chunks, the last one open.
        let etag = whole.header("etag").unwrap().to_string();
        let cuts = [0, 1, 1000, api::body::CHUNK as u64 + 7, file.size / 2 + 3];
        let mut joined = Vec::new();
        for (i, start) in cuts.iter().enumerate() {
            let range = match cuts.get(i + 1) {
                Some(next) => format!("bytes={start}-{}", next - 1),
                None => format!("bytes={start}-"),
            };
            let piece = ask(
                &state,
                Method::GET,
                &url,
                &[("range", &range), ("if-range", &etag)],
            )
            .await;
            assert_eq!(piece.status, 206, "[{label}] {range}");
            let end = cuts.get(i + 1).copied().unwrap_or(file.size);
            assert_eq!(
                piece.header("content-length"),
                Some((end - start).to_string().as_str()),
                "[{label}] {range}"
            );
            assert_eq!(
                piece.header("content-range"),
                Some(format!("bytes {start}-{}/{}", end - 1, file.size).as_str())
            );
            joined.extend_from_slice(&piece.body);
        }
        assert_eq!(joined.len(), whole.body.len(), "[{label}]");
        assert!(
            joined == whole.body,
            "[{label}] the pieces add up to the file"
        );
        assert_eq!(&Sha256::digest(&joined)[..], &digest[..], "[{label}]");

        // HEAD: the length, no body.
        let head = ask(&state, Method::HEAD, &url, &[]).await;
        assert_eq!(head.status, 200, "[{label}]");
        assert_eq!(
            head.header("content-length"),
            Some(file.size.to_string().as_str())
        );
        assert!(head.body.is_empty());

        // A download under way when a newer dump replaces the file sends
        // the file it started with.
        let started = api::handle(
            Arc::clone(&state),
            hyper::Request::get("/oparl/v1.1/dump").body(()).unwrap(),
        )
        .await;
        assert_eq!(started.status(), 200, "[{label}]");
        let papers = live_papers(&app);
        rename(
            &app,
            papers[0].0,
            "Nach dem Start des Downloads",
            oparl::time::now(),
        );
        dumps.build(app.store.db(), &urls).unwrap();
        let newer = dumps.get(None).unwrap();
        assert_ne!(newer.sha256, file.sha256, "[{label}]");
        assert_eq!(newer.path, file.path, "[{label}] the same path, a new file");
        let sent = started.into_body().collect().await.unwrap().to_bytes();
        assert!(sent == whole.body, "[{label}] the old file, whole");
        // And the next download is the new one.
        let next = ask(&state, Method::GET, &url, &[]).await;
        let hex: String = Sha256::digest(&next.body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, newer.sha256, "[{label}]");
        let _ = std::fs::remove_dir_all(dumps.dir());
    });
}
