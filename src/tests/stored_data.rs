//! Stored data that this version did not write: kind and relation codes of
//! a newer version, a checksum that is not hex digits, a header value that
//! is not one, `fields` that are not a JSON object. Written with plain SQL,
//! past the write path on purpose. Every request still gets an answer (no
//! panic): the foreign object is not found, lists and parents leave it out,
//! and what cannot be read is left out of otherwise valid JSON.

use crate::support::*;
use diesel::connection::SimpleConnection;
use http_body_util::BodyExt;
use hyper::StatusCode;
use oparl::api::{self, AppState};
use oparl::urls::Urls;
use serde_json::Value;
use std::sync::Arc;

/// An answer of `state` to a GET, its body required to be JSON (or, for
/// File bytes, kept as they are).
async fn ask(state: &Arc<AppState>, url: &str) -> Answer {
    let target = url.strip_prefix("http://oparl.test").unwrap_or(url);
    let req = hyper::Request::builder().uri(target).body(()).unwrap();
    let response = api::handle(Arc::clone(state), req).await;
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

async fn json(state: &Arc<AppState>, url: &str) -> Value {
    let answer = ask(state, url).await;
    assert_eq!(answer.status, StatusCode::OK, "GET {url}");
    answer.json()
}

/// Every object of a list, following `next`.
async fn walk(state: &Arc<AppState>, first: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next = Some(first.to_string());
    while let Some(url) = next {
        let page = json(state, &url).await;
        out.extend(page["data"].as_array().unwrap().iter().cloned());
        next = page["links"]["next"].as_str().map(str::to_string);
    }
    out
}

fn ids(objects: &[Value]) -> Vec<&str> {
    objects.iter().filter_map(|o| o["id"].as_str()).collect()
}

#[test]
fn stored_data_this_version_does_not_know_is_answered_without_a_panic() {
    each_backend(true, |app| async move {
        let label = app.label();
        // What the demo city holds, found through the API.
        let system = app.json(BASE).await;
        let body = app.json(system["body"].as_str().unwrap()).await["data"][0].clone();
        let list = |name: &str| format!("{}?limit=1000", body[name].as_str().unwrap());
        let meeting = app
            .walk(&list("meeting"))
            .await
            .into_iter()
            .find(|m| m["agendaItem"].as_array().is_some_and(|a| a.len() >= 2))
            .expect("a meeting with agenda items");
        let meeting_id = meeting["id"].as_str().unwrap().to_string();
        let item_id = meeting["agendaItem"][0]["id"].as_str().unwrap().to_string();
        let papers = app.json(&list("paper")).await["data"].clone();
        let paper_id = |i: usize| papers[i]["id"].as_str().unwrap().to_string();
        let (foreign_paper, cut_paper, array_paper) = (paper_id(0), paper_id(1), paper_id(2));
        let org = app.json(&list("organization")).await["data"][0].clone();
        let term_id = body["legislativeTerm"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let file = app.json(&list("file")).await["data"][0].clone();
        let access_url = file["accessUrl"].as_str().unwrap().to_string();

        // What a newer version (or another program) might have written.
        let statements = [
            // Kinds this version does not know: an embedded agenda item, a paper.
            format!("UPDATE object SET kind = 99 WHERE pk = {}", pk_of(&item_id)),
            format!("UPDATE object SET kind = 98 WHERE pk = {}", pk_of(&foreign_paper)),
            // Relations it does not know, from the meeting.
            format!(
                "INSERT INTO link (from_pk, field, position, to_pk) VALUES ({m}, 120, 0, {t}), ({m}, -3, 0, {t})",
                m = pk_of(&meeting_id),
                t = pk_of(&term_id)
            ),
            // The foreign object claims to be one of the organization's meetings.
            format!(
                "INSERT INTO link (from_pk, field, position, to_pk) VALUES ({}, {}, 0, {})",
                pk_of(&foreign_paper),
                oparl::model::MEETING_ORGANIZATION,
                pk_of(org["id"].as_str().unwrap())
            ),
            // Fields cut short, and fields that are not an object.
            format!(
                "UPDATE object SET fields = '{{\"name\": \"abgeschnitten\", ' WHERE pk = {}",
                pk_of(&cut_paper)
            ),
            format!("UPDATE object SET fields = '[1, 2]' WHERE pk = {}", pk_of(&array_paper)),
            // A checksum of three-byte characters, a content type with a
            // control character.
            format!(
                "UPDATE object SET fields = '{{\"fileName\": \"a.txt\", \"sha512Checksum\": \"{}\", \"mimeType\": \"text/plain\\u0001\"}}' WHERE pk = {}",
                "€".repeat(20),
                pk_of(file["id"].as_str().unwrap())
            ),
        ];
        for statement in &statements {
            app.conn()
                .batch_execute(statement)
                .unwrap_or_else(|e| panic!("[{label}] {statement}: {e}"));
        }

        // A server with empty caches, as after a restart.
        let server = Arc::new(AppState::new(
            app.store.db().clone(),
            Urls::new(BASE).unwrap(),
            api::DEFAULT_CACHE_BYTES,
        ));
        // Objects of unknown kinds are not found.
        for id in [&item_id, &foreign_paper] {
            let answer = ask(&server, id).await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "[{label}] {id}");
            assert_eq!(answer.json()["type"], "https://schema.oparl.org/1.1/Error");
        }
        // The meeting that embedded the item answers without it, and without
        // the relations it does not know.
        let shown = json(&server, &meeting_id).await;
        let items = shown["agendaItem"].as_array().unwrap();
        assert_eq!(
            items.len(),
            meeting["agendaItem"].as_array().unwrap().len() - 1
        );
        assert!(!ids(items).contains(&item_id.as_str()), "[{label}]");
        assert!(!shown.to_string().contains(&term_id), "[{label}] {shown}");
        // Lists leave the foreign objects out and show the others whole.
        let all_items = walk(&server, &list("agendaItem")).await;
        assert!(!all_items.is_empty());
        assert!(!ids(&all_items).contains(&item_id.as_str()), "[{label}]");
        let all_papers = walk(&server, &list("paper")).await;
        assert!(
            !ids(&all_papers).contains(&foreign_paper.as_str()),
            "[{label}]"
        );
        for id in [&cut_paper, &array_paper] {
            let paper = all_papers
                .iter()
                .find(|p| p["id"] == id.as_str())
                .unwrap_or_else(|| panic!("[{label}] {id} is listed"));
            assert!(paper.get("name").is_none(), "[{label}] {paper}");
            assert_eq!(paper["type"], "https://schema.oparl.org/1.1/Paper");
            assert_eq!(json(&server, id).await, *paper);
        }
        let org_meetings = walk(&server, org["meeting"].as_str().unwrap()).await;
        assert!(!org_meetings.is_empty());
        for m in &org_meetings {
            assert_eq!(
                m["type"], "https://schema.oparl.org/1.1/Meeting",
                "[{label}]"
            );
            assert_ne!(pk_of(m["id"].as_str().unwrap()), pk_of(&foreign_paper));
        }
        // The change feed, which lists every kind, skips them too.
        let changed = walk(&server, &format!("{BASE}/changes?limit=1000")).await;
        assert!(changed.len() > 100, "[{label}]");
        for id in [&item_id, &foreign_paper] {
            assert!(!ids(&changed).contains(&id.as_str()), "[{label}] {id}");
        }
        // File bytes are served; the ETag comes from the bytes instead.
        let bytes = ask(&server, &access_url).await;
        assert_eq!(bytes.status, StatusCode::OK, "[{label}]");
        let etag = bytes.header("etag").unwrap();
        assert!(
            etag.len() == 34 && etag[1..33].bytes().all(|b| b.is_ascii_hexdigit()),
            "[{label}] {etag}"
        );
        assert_eq!(
            bytes.header("content-type"),
            Some("application/octet-stream")
        );
        // The export leaves the foreign paper out and writes JSON throughout.
        let mut dump = Vec::new();
        oparl::export::export_jsonl(&mut app.conn(), &Urls::new(BASE).unwrap(), &mut dump).unwrap();
        let lines: Vec<Value> = String::from_utf8(dump)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(lines.len() > 100);
        assert_eq!(lines[0]["type"], "server:Dump", "the header line");
        let lines = &lines[1..];
        let foreign_pk = pk_of(&foreign_paper).to_string();
        let is_foreign =
            |o: &Value| o["id"].as_str().unwrap().rsplit('/').next() == Some(&foreign_pk);
        assert!(!lines.iter().any(is_foreign));
        // So does the bulk dump.
        let dir = std::env::temp_dir().join(format!(
            "oparl-stored-data-{}-{label}-{}",
            std::process::id(),
            oparl::time::now()
        ));
        let dumps = oparl::dumps::Dumps::new(&dir).unwrap();
        dumps
            .build(app.store.db(), &Urls::new(BASE).unwrap())
            .unwrap();
        let gz = std::fs::read(dumps.get(None).unwrap().path).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text)
            .unwrap();
        let dumped: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(dumped.len() > 100, "[{label}]");
        assert!(!dumped.iter().skip(1).any(is_foreign), "[{label}]");
        let _ = std::fs::remove_dir_all(&dir);
    });
}
