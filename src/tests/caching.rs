//! HTTP caching and compression: 304 only while unchanged, every ETag that
//! shows a changed object changes, compressed bodies decompress to the same
//! bytes, and a second server on the same database never serves stale JSON.

use crate::support::*;
use hyper::Method;
use oparl::api::{self, AppState};
use oparl::store::write;
use oparl::urls::Urls;
use serde_json::Value;
use std::io::Read;
use std::sync::Arc;

async fn first_paper(app: &TestApp) -> (Value, String) {
    let system = app.json(BASE).await;
    let body = app.json(system["body"].as_str().unwrap()).await["data"][0].clone();
    let papers = body["paper"].as_str().unwrap().to_string();
    let paper = app
        .walk(&format!("{papers}?limit=1000"))
        .await
        .into_iter()
        .find(|p| p.get("auxiliaryFile").is_some())
        .unwrap();
    (paper, papers)
}

async fn etag(app: &TestApp, url: &str) -> String {
    let answer = app.get(url).await;
    assert_eq!(answer.status, 200, "{url}");
    answer
        .header("etag")
        .expect("every JSON answer has an ETag")
        .to_string()
}

async fn revalidate(app: &TestApp, url: &str, etag: &str) -> u16 {
    app.request(Method::GET, url, &[("if-none-match", etag)])
        .await
        .status
        .as_u16()
}

/// The JSON that the API of `state` (another server than `app`'s) answers.
async fn json_from(state: &Arc<AppState>, url: &str) -> Value {
    let req = hyper::Request::builder()
        .uri(url.strip_prefix("http://oparl.test").unwrap())
        .body(())
        .unwrap();
    let response = api::handle(Arc::clone(state), req).await;
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    serde_json::from_slice(&body).unwrap()
}

/// Give the object at `url` a new name through `app`'s own connections.
fn rename(app: &TestApp, url: &str, name: &str, modified: i64) {
    let mut fields = serde_json::Map::new();
    fields.insert("name".into(), name.into());
    write::change(&mut app.conn(), |c| {
        c.update_fields(pk_of(url), &fields, modified)
    })
    .unwrap();
}

#[test]
fn not_modified_only_while_unchanged() {
    each_backend(true, |app| async move {
        let (paper, papers) = first_paper(&app).await;
        let id = paper["id"].as_str().unwrap().to_string();
        let file = paper["auxiliaryFile"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let body_id = paper["body"].as_str().unwrap().to_string();
        let urls = [
            id.clone(),
            papers.clone(),
            format!("{papers}?limit=1000"),
            file.clone(),
            body_id.clone(),
        ];
        let mut before = Vec::new();
        for url in &urls {
            let tag = etag(&app, url).await;
            assert_eq!(revalidate(&app, url, &tag).await, 304, "{url} unchanged");
            before.push(tag);
        }
        let answer = app
            .request(Method::GET, &id, &[("if-none-match", &before[0])])
            .await;
        assert!(answer.body.is_empty());
        assert_eq!(answer.header("etag"), Some(before[0].as_str()));
        assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
        let last_modified = app
            .get(&id)
            .await
            .header("last-modified")
            .unwrap()
            .to_string();
        let answer = app
            .request(Method::GET, &id, &[("if-modified-since", &last_modified)])
            .await;
        assert_eq!(answer.status, 304);

        // Change a file embedded in the paper.
        rename(&app, &file, "Anlage – geändert", oparl::time::now() + 100);
        for (url, old) in urls.iter().zip(&before) {
            let shows_it = url != &body_id
                && (url != &papers
                    || app.json(&papers).await["data"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| p["id"] == id.as_str()));
            let status = revalidate(&app, url, old).await;
            if shows_it {
                assert_eq!(
                    status,
                    200,
                    "[{}] {url} shows the changed file",
                    app.label()
                );
                assert_ne!(&etag(&app, url).await, old);
            } else {
                assert_eq!(
                    status,
                    304,
                    "[{}] {url} does not show the changed file",
                    app.label()
                );
            }
        }
        assert_eq!(
            app.json(&id).await["auxiliaryFile"][0]["name"],
            "Anlage – geändert"
        );
    });
}

#[test]
fn compressed_bodies_decompress_to_the_same_bytes() {
    each_backend(true, |app| async move {
        let (_, papers) = first_paper(&app).await;
        let plain = app.get(&papers).await;
        assert!(
            plain.header("content-encoding").is_none(),
            "nothing compressed unasked"
        );
        assert_eq!(plain.header("vary"), Some("Accept, Accept-Encoding"));
        for (accept, coding) in [("gzip", "gzip"), ("gzip, deflate, br", "br")] {
            let answer = app
                .request(Method::GET, &papers, &[("accept-encoding", accept)])
                .await;
            assert_eq!(answer.header("content-encoding"), Some(coding));
            assert!(answer.body.len() < plain.body.len() / 3);
            let mut out = Vec::new();
            if coding == "gzip" {
                flate2::read::GzDecoder::new(&answer.body[..])
                    .read_to_end(&mut out)
                    .unwrap();
            } else {
                brotli::Decompressor::new(&answer.body[..], 4096)
                    .read_to_end(&mut out)
                    .unwrap();
            }
            assert_eq!(out, plain.body.to_vec(), "{coding}");
            let tag = answer.header("etag").unwrap().to_string();
            assert_ne!(
                tag,
                plain.header("etag").unwrap(),
                "each coding has its own strong ETag"
            );
            assert_eq!(revalidate(&app, &papers, &tag).await, 304);
        }
    });
}

#[test]
fn a_second_server_on_the_same_database_never_serves_stale_json() {
    each_backend(true, |app| async move {
        let (paper, papers) = first_paper(&app).await;
        let id = paper["id"].as_str().unwrap().to_string();
        // A second "process": its own pool, caches and version reader; the
        // same database, written through the first one's connections.
        let other = Arc::new(AppState::new(
            oparl::db::Db::open(&app.store.url, false).unwrap(),
            Urls::new(BASE).unwrap(),
            api::DEFAULT_CACHE_BYTES,
        ));
        let page_names = |page: Value| -> Vec<Value> {
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].clone())
                .collect()
        };
        let page = format!("{papers}?limit=1000");
        let names_before = page_names(json_from(&other, &page).await);
        assert!(
            names_before.contains(&paper["name"]),
            "the paper is on the page"
        );
        // Asked again and again: from then on answered from memory at the
        // database version they were read at.
        for _ in 0..3 {
            assert_eq!(json_from(&other, &id).await["name"], paper["name"]);
            assert_eq!(page_names(json_from(&other, &page).await), names_before);
        }
        for round in 0..3 {
            let name = format!("Neuer Titel {round}");
            rename(&app, &id, &name, oparl::time::now() + 50 + round);
            // At once, with no bound on staleness: the next answer shows it.
            assert_eq!(
                json_from(&other, &id).await["name"],
                name.as_str(),
                "[{}] object after change {round}",
                app.label()
            );
            let names = page_names(json_from(&other, &page).await);
            assert!(
                names.contains(&name.clone().into()),
                "[{}] page after change {round}",
                app.label()
            );
            assert_eq!(app.json(&id).await["name"], name.as_str());
        }
        drop(other);
    });
}

#[test]
fn a_staleness_bound_is_kept_and_no_longer() {
    each_backend(true, |app| async move {
        let (paper, _) = first_paper(&app).await;
        let id = paper["id"].as_str().unwrap().to_string();
        let bound = std::time::Duration::from_millis(300);
        let lenient = Arc::new(
            AppState::new(
                app.store.db().clone(),
                Urls::new(BASE).unwrap(),
                api::DEFAULT_CACHE_BYTES,
            )
            .with_max_stale(bound),
        );
        assert_eq!(json_from(&lenient, &id).await["name"], paper["name"]);
        rename(&app, &id, "Später geändert", oparl::time::now() + 50);
        tokio::time::sleep(bound + std::time::Duration::from_millis(50)).await;
        assert_eq!(
            json_from(&lenient, &id).await["name"],
            "Später geändert",
            "[{}] stale beyond the bound",
            app.label()
        );
        // An answer confirmed current again after its bound ran out still
        // shows a later change within the bound.
        tokio::time::sleep(bound + std::time::Duration::from_millis(50)).await;
        assert_eq!(json_from(&lenient, &id).await["name"], "Später geändert");
        rename(&app, &id, "Noch einmal geändert", oparl::time::now() + 60);
        tokio::time::sleep(bound + std::time::Duration::from_millis(50)).await;
        assert_eq!(
            json_from(&lenient, &id).await["name"],
            "Noch einmal geändert",
            "[{}] stale beyond the bound after a confirmation",
            app.label()
        );
    });
}
