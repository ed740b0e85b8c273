//! The HTML pages: content negotiation beside the JSON API (API clients
//! keep their bytes and ETags), a crawl of every page of the demo city
//! with every link followed, our own accessibility and privacy checks on
//! each page, tombstone and error pages.

use crate::support::*;
use diesel::prelude::*;
use hyper::{Method, StatusCode};
use oparl::db::schema::object;
use oparl::model::Kind;
use std::collections::{BTreeSet, VecDeque};

/// What Firefox sends for a page.
const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

async fn page(app: &TestApp, url: &str) -> Answer {
    app.request(Method::GET, url, &[("accept", BROWSER)]).await
}

/// Every `href` and `src` of a page, unescaped.
fn references(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "src=\""] {
        let mut rest = html;
        while let Some(at) = rest.find(attr) {
            rest = &rest[at + attr.len()..];
            let end = rest.find('"').unwrap_or(rest.len());
            out.push(rest[..end].replace("&amp;", "&").replace("&quot;", "\""));
            rest = &rest[end..];
        }
    }
    out
}

/// The checks of every page: language, landmarks, one `h1`, a label for
/// every field, no script, and nothing loaded from another host.
fn check_page(url: &str, html: &str) {
    let count = |needle: &str| html.matches(needle).count();
    assert!(html.starts_with("<!DOCTYPE html>"), "{url}: no doctype");
    assert!(html.contains("<html lang=\"de\">"), "{url}: no lang=de");
    assert_eq!(count("<h1"), 1, "{url}: not exactly one h1");
    assert_eq!(count("<main"), 1, "{url}: not exactly one main");
    assert!(html.contains("<header"), "{url}: no header landmark");
    assert!(
        html.contains("role=\"search\""),
        "{url}: no search landmark"
    );
    assert!(html.contains("<title>"), "{url}: no title");
    assert!(html.contains("Zum Inhalt springen"), "{url}: no skip link");
    assert_eq!(count("<script"), 0, "{url}: a script");
    assert_eq!(count("<iframe"), 0, "{url}: an iframe");
    assert_eq!(count(" style=\""), 0, "{url}: an inline style");
    // Every image has a text alternative (there are none so far).
    assert_eq!(
        count("<img"),
        count("<img alt="),
        "{url}: an image without alt"
    );
    // Every visible form field has a label naming it.
    let mut rest = html;
    while let Some(at) = rest.find("<input") {
        rest = &rest[at..];
        let tag = &rest[..rest.find('>').unwrap()];
        rest = &rest[tag.len()..];
        if tag.contains("type=\"hidden\"") {
            continue;
        }
        let id = tag
            .split("id=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or_else(|| panic!("{url}: a field without id: {tag}"));
        assert!(
            html.contains(&format!("<label for=\"{id}\"")),
            "{url}: field {id} has no label"
        );
    }
    // Resources come from this server only; other hosts only as links.
    for tag in [
        "<link ", "<img ", "<source ", "<video ", "<audio ", "<object ",
    ] {
        let mut rest = html;
        while let Some(at) = rest.find(tag) {
            rest = &rest[at..];
            let end = rest.find('>').unwrap();
            for r in references(&rest[..=end]) {
                assert!(
                    r.starts_with('/') || r.starts_with(BASE),
                    "{url}: {tag} loads {r} from another host"
                );
            }
            rest = &rest[end..];
        }
    }
}

async fn first_body(app: &TestApp) -> String {
    app.json("/oparl/v1.1/body").await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Where a reference on a page points on this server (None: elsewhere).
fn ours(reference: &str) -> Option<String> {
    if let Some(path) = reference.strip_prefix("http://oparl.test") {
        return Some(path.to_string());
    }
    reference.starts_with('/').then(|| reference.to_string())
}

#[test]
fn every_page_of_the_demo_city_renders_and_every_link_resolves() {
    each_backend(true, |app| async move {
        let start = page(&app, "/").await;
        assert_eq!(start.status, StatusCode::OK, "[{}] /", app.label());
        let mut queue: VecDeque<String> = VecDeque::from(["/".to_string()]);
        let mut seen: BTreeSet<String> = queue.iter().cloned().collect();
        let mut pages = 0;
        let mut checked_other = 0;
        while let Some(url) = queue.pop_front() {
            let answer = page(&app, &url).await;
            assert_eq!(
                answer.status,
                StatusCode::OK,
                "[{}] {url}: {}",
                app.label(),
                String::from_utf8_lossy(&answer.body)
            );
            let content_type = answer.header("content-type").unwrap_or("");
            if !content_type.starts_with("text/html") {
                checked_other += 1;
                continue;
            }
            pages += 1;
            let html = String::from_utf8(answer.body.to_vec()).unwrap();
            check_page(&url, &html);
            for r in references(&html) {
                if r.starts_with('#') {
                    continue;
                }
                // Other hosts only as links (`check_page` sees to that).
                let Some(path) = ours(&r) else {
                    assert!(
                        r.starts_with("https://")
                            || r.starts_with("http://")
                            || r.starts_with("mailto:"),
                        "[{}] {url}: links to {r}",
                        app.label()
                    );
                    continue;
                };
                if seen.insert(path.clone()) {
                    queue.push_back(path);
                }
            }
        }
        // Every live object of the demo city has a page, reached by links.
        let live: Vec<(i64, i16)> = object::table
            .filter(object::deleted.eq(false))
            .filter(object::kind.ne(Kind::System.code()))
            .select((object::pk, object::kind))
            .load(&mut *app.conn())
            .unwrap();
        for (pk, kind) in &live {
            let kind = Kind::from_code(*kind).unwrap();
            let path = format!("/oparl/v1.1/{}/{pk}", kind.segment());
            assert!(
                seen.contains(&path),
                "[{}] no link leads to {path}",
                app.label()
            );
        }
        assert!(pages > live.len(), "[{}] {pages} pages", app.label());
        assert!(checked_other > 0, "[{}] no file or JSON link", app.label());
    });
}

#[test]
fn api_clients_keep_their_json_and_browsers_get_pages() {
    each_backend(true, |app| async move {
        let body = app.json("/oparl/v1.1/body").await["data"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let paper = app.json(&format!("{body}/paper")).await["data"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        for url in [
            "/oparl/v1.1".to_string(),
            body.clone(),
            paper.clone(),
            format!("{body}/meeting?limit=5"),
            "/oparl/v1.1/search?q=Haushalt".to_string(),
        ] {
            let plain = app.get(&url).await;
            assert_eq!(plain.status, StatusCode::OK, "{url}");
            assert!(plain
                .header("content-type")
                .unwrap()
                .starts_with("application/json"));
            let etag = plain.header("etag").unwrap().to_string();
            for accept in [
                "*/*",
                "application/json",
                "application/json, text/html;q=0.5",
            ] {
                let other = app.request(Method::GET, &url, &[("accept", accept)]).await;
                assert_eq!(
                    other.body,
                    plain.body,
                    "[{}] {url} with {accept}",
                    app.label()
                );
                assert_eq!(other.header("etag"), Some(etag.as_str()));
            }
            // A page, never out of the JSON's cache entry, and back.
            let html = page(&app, &url).await;
            assert_eq!(html.status, StatusCode::OK, "{url}");
            assert_eq!(
                html.header("content-type"),
                Some("text/html; charset=utf-8"),
                "[{}] {url}",
                app.label()
            );
            let html_tag = html.header("etag").unwrap().to_string();
            assert_ne!(html_tag, etag, "{url}: page and JSON share an ETag");
            assert!(
                html.header("vary").unwrap().contains("Accept"),
                "{url}: Vary"
            );
            assert!(
                plain.header("vary").unwrap().contains("Accept"),
                "{url}: Vary"
            );
            let again = app.get(&url).await;
            assert_eq!(again.body, plain.body, "{url}: JSON after a page");
            // The page's ETag revalidates the page only.
            let fresh = app
                .request(
                    Method::GET,
                    &url,
                    &[("accept", BROWSER), ("if-none-match", &html_tag)],
                )
                .await;
            assert_eq!(fresh.status, StatusCode::NOT_MODIFIED, "{url}");
            let json = app
                .request(Method::GET, &url, &[("if-none-match", &html_tag)])
                .await;
            assert_eq!(json.status, StatusCode::OK, "{url}");
            assert_eq!(json.body, plain.body);
            // `format` overrides Accept both ways.
            let sep = if url.contains('?') { '&' } else { '?' };
            let forced = page(&app, &format!("{url}{sep}format=json")).await;
            assert!(forced
                .header("content-type")
                .unwrap()
                .starts_with("application/json"));
            let forced = app.get(&format!("{url}{sep}format=html")).await;
            assert!(forced
                .header("content-type")
                .unwrap()
                .starts_with("text/html"));
        }
        // Compressed like JSON.
        let gz = app
            .request(
                Method::GET,
                &paper,
                &[("accept", BROWSER), ("accept-encoding", "gzip")],
            )
            .await;
        assert_eq!(gz.header("content-encoding"), Some("gzip"));
        // A page shows the object's own values.
        let json = app.json(&paper).await;
        let html = String::from_utf8(page(&app, &paper).await.body.to_vec()).unwrap();
        let reference = json["reference"].as_str().unwrap();
        assert!(html.contains(reference), "the paper page lacks {reference}");
        // The host's root: the start page for a browser, the System for
        // everyone else.
        let root = app.get("/").await;
        assert_eq!(root.status, StatusCode::FOUND);
        assert_eq!(
            root.header("location"),
            Some("http://oparl.test/oparl/v1.1")
        );
        let bad = app.get("/oparl/v1.1/body?format=pdf").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.json()["debug"].as_str().unwrap().contains("format"));
    });
}

#[test]
fn errors_and_deleted_objects_are_pages_for_browsers() {
    each_backend(true, |app| async move {
        let missing = page(&app, "/oparl/v1.1/paper/999999999").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert!(missing
            .header("content-type")
            .unwrap()
            .starts_with("text/html"));
        let text = String::from_utf8(missing.body.to_vec()).unwrap();
        check_page("404", &text);
        assert!(text.contains("Die angeforderte Ressource existiert nicht."));
        // The same error for an API client is the Error object.
        let json = app.get("/oparl/v1.1/paper/999999999").await;
        assert_eq!(json.status, StatusCode::NOT_FOUND);
        assert_eq!(json.json()["type"], "https://schema.oparl.org/1.1/Error");
        let bad = page(&app, "/oparl/v1.1/body?limit=abc").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.header("content-type").unwrap().starts_with("text/html"));
        // A deleted object: 200, saying when.
        let body = first_body(&app).await;
        let paper = app.json(&format!("{body}/paper")).await["data"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(app.delete(pk_of(&paper), 1_700_000_000));
        let gone = page(&app, &paper).await;
        assert_eq!(gone.status, StatusCode::OK, "[{}]", app.label());
        let text = String::from_utf8(gone.body.to_vec()).unwrap();
        check_page(&paper, &text);
        let modified = app.json(&paper).await["modified"]
            .as_str()
            .unwrap()
            .to_string();
        let day = format!(
            "{}.{}.{}",
            &modified[8..10],
            &modified[5..7],
            &modified[..4]
        );
        assert!(text.contains(&format!("wurde am {day}")), "{day}: {text}");
        // The stylesheet: from this server, kept for a year.
        let start = String::from_utf8(page(&app, "/").await.body.to_vec()).unwrap();
        let css = references(&start)
            .into_iter()
            .find(|r| r.ends_with(".css"))
            .unwrap();
        let sheet = app.get(&css).await;
        assert_eq!(sheet.status, StatusCode::OK);
        assert_eq!(
            sheet.header("content-type"),
            Some("text/css; charset=utf-8")
        );
        assert!(sheet.header("cache-control").unwrap().contains("immutable"));
    });
}

#[test]
fn list_filters_and_search_work_from_their_forms() {
    each_backend(true, |app| async move {
        // A form sends every field, empty ones too, and days alone.
        let body = first_body(&app).await;
        let url = format!(
            "{body}/paper?created_since=2026-01-01&created_until=&modified_since=&modified_until="
        );
        let answer = page(&app, &url).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        let html = String::from_utf8(answer.body.to_vec()).unwrap();
        assert!(
            html.contains("value=\"2026-01-01\""),
            "the form keeps its value"
        );
        let listed = references(&html)
            .into_iter()
            .filter(|r| r.contains("/paper/"))
            .count();
        let json = app
            .json(&format!(
                "{body}/paper?created_since=2026-01-01T00:00:00%2B00:00"
            ))
            .await;
        assert!(listed > 0, "the filtered page lists papers");
        assert_eq!(listed, json["data"].as_array().unwrap().len());
        let answer = page(
            &app,
            "/oparl/v1.1/search?q=Haushalt&type=Paper&type=Meeting&date_since=&sort=date",
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        let html = String::from_utf8(answer.body.to_vec()).unwrap();
        assert!(html.contains("Treffer"), "no result count");
        assert!(html.contains("<mark>"), "no highlighted snippet");
        assert!(
            html.contains("value=\"Haushalt\""),
            "the box keeps the query"
        );
        let empty = page(&app, "/oparl/v1.1/search").await;
        assert_eq!(empty.status, StatusCode::OK);
        // A list of consultations names the Paper of each.
        let consultations = app.json(&format!("{body}/consultation?limit=5")).await;
        let html = String::from_utf8(
            page(&app, &format!("{body}/consultation?limit=5"))
                .await
                .body
                .to_vec(),
        )
        .unwrap();
        for c in consultations["data"].as_array().unwrap() {
            let paper = app.json(c["paper"].as_str().unwrap()).await;
            let reference = paper["reference"].as_str().unwrap();
            assert!(html.contains(reference), "{reference} is not named");
        }
        // The change feed as a page, with the way on.
        let feed = page(&app, "/oparl/v1.1/changes?limit=5").await;
        assert_eq!(feed.status, StatusCode::OK);
        let html = String::from_utf8(feed.body.to_vec()).unwrap();
        check_page("changes", &html);
        let next = references(&html)
            .into_iter()
            .find(|r| r.contains("after="))
            .expect("a link to the next changes");
        assert_eq!(page(&app, &next).await.status, StatusCode::OK);
    });
}

#[test]
fn robots_and_sitemaps_list_every_live_object_once() {
    each_backend(true, |app| async move {
        let robots = app.get("/robots.txt").await;
        assert_eq!(robots.status, StatusCode::OK);
        let text = String::from_utf8(robots.body.to_vec()).unwrap();
        assert!(
            text.contains("Sitemap: http://oparl.test/sitemap.xml"),
            "{text}"
        );
        assert!(text.contains("Disallow: /oparl/v1.1/changes"), "{text}");
        // A deleted object is not listed.
        let body = first_body(&app).await;
        let paper = app.json(&format!("{body}/paper")).await["data"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(app.delete(pk_of(&paper), oparl::time::now()));
        let index = app.get("/sitemap.xml").await;
        assert_eq!(index.status, StatusCode::OK);
        assert!(index
            .header("content-type")
            .unwrap()
            .starts_with("application/xml"));
        let index = String::from_utf8(index.body.to_vec()).unwrap();
        let mut listed = Vec::new();
        let mut parts = 0;
        for r in index.split("<loc>").skip(1) {
            let loc = r.split("</loc>").next().unwrap();
            let part = app.get(loc).await;
            assert_eq!(part.status, StatusCode::OK, "{loc}");
            parts += 1;
            let text = String::from_utf8(part.body.to_vec()).unwrap();
            assert!(text.starts_with("<?xml"));
            let urls: Vec<String> = text
                .split("<loc>")
                .skip(1)
                .map(|r| r.split("</loc>").next().unwrap().to_string())
                .collect();
            assert!(urls.len() <= 50_000);
            assert_eq!(text.matches("<lastmod>").count(), urls.len());
            listed.extend(urls);
        }
        assert!(parts >= 1);
        let unique: BTreeSet<&String> = listed.iter().collect();
        assert_eq!(unique.len(), listed.len(), "a URL twice");
        let live: i64 = object::table
            .filter(object::deleted.eq(false))
            .count()
            .get_result(&mut *app.conn())
            .unwrap();
        assert_eq!(listed.len() as i64, live, "[{}]", app.label());
        assert!(!listed.contains(&paper), "a deleted paper is listed");
        // Every listed page is a page.
        for url in listed.iter().step_by(97) {
            let answer = page(&app, url).await;
            assert_eq!(answer.status, StatusCode::OK, "{url}");
        }
        assert_eq!(
            app.get("/sitemap-9999.xml").await.status,
            StatusCode::NOT_FOUND
        );
    });
}
