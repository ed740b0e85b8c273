//! List pages: the envelope, `limit`, keyset pagination that stays exact
//! while objects are added and deleted during a walk.

use crate::support::*;
use oparl::model::Kind;
use oparl::store::write;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

async fn first_body(app: &TestApp) -> Value {
    let system = app.json(BASE).await;
    let bodies = app.json(system["body"].as_str().unwrap()).await;
    bodies["data"][0].clone()
}

#[test]
fn pages_have_data_pagination_links_and_next_until_the_last() {
    each_backend(true, |app| async move {
        let body = first_body(&app).await;
        let papers = body["paper"].as_str().unwrap();
        let first = app.json(papers).await;
        assert_eq!(
            first["data"].as_array().unwrap().len(),
            100,
            "default page size"
        );
        assert_eq!(first["pagination"]["elementsPerPage"], 100);
        assert_eq!(first["links"]["first"], papers);
        assert_eq!(first["links"]["self"], papers);
        let mut url = first["links"]["next"].as_str().unwrap().to_string();
        let mut sizes = vec![100];
        loop {
            let page = app.json(&url).await;
            assert_eq!(
                page["links"]["self"],
                url.as_str(),
                "self is the canonical URL of the page"
            );
            let n = page["data"].as_array().unwrap().len();
            sizes.push(n);
            match page["links"]["next"].as_str() {
                Some(next) => {
                    assert_eq!(n, 100, "every page but the last is full");
                    url = next.to_string();
                }
                None => {
                    assert!(
                        page["links"].get("next").is_none(),
                        "no next, not even null, on the last page"
                    );
                    break;
                }
            }
        }
        assert!(sizes.len() > 5);
    });
}

#[test]
fn limit_is_honoured_capped_and_validated() {
    each_backend(true, |app| async move {
        let body = first_body(&app).await;
        let files = body["file"].as_str().unwrap();
        let page = app.json(&format!("{files}?limit=7")).await;
        assert_eq!(page["data"].as_array().unwrap().len(), 7);
        assert_eq!(page["pagination"]["elementsPerPage"], 7);
        assert!(
            page["links"]["next"].as_str().unwrap().contains("limit=7"),
            "limit is kept in next"
        );
        for absurd in ["5000", "99999999999999999999999999999"] {
            let page = app.json(&format!("{files}?limit={absurd}")).await;
            assert_eq!(
                page["data"].as_array().unwrap().len(),
                1000,
                "limit is capped at 1000"
            );
            assert!(page["links"]["next"]
                .as_str()
                .unwrap()
                .contains("limit=1000"));
        }
        for bad in ["0", "-1", "abc", "", "1.5", "%27%20OR%201%3D1"] {
            let answer = app.get(&format!("{files}?limit={bad}")).await;
            assert_eq!(answer.status, 400, "[{}] limit={bad}", app.label());
            assert_eq!(answer.json()["type"], "https://schema.oparl.org/1.1/Error");
        }
    });
}

#[test]
fn an_empty_result_is_one_page_without_next() {
    each_backend(true, |app| async move {
        let body = first_body(&app).await;
        let url = format!(
            "{}?created_since={}",
            body["paper"].as_str().unwrap(),
            enc("2099-01-01T00:00:00+00:00")
        );
        let page = app.json(&url).await;
        assert_eq!(page["data"], json!([]));
        assert!(page["links"].get("next").is_none());
        assert!(page["pagination"].is_object());
    });
}

#[test]
fn a_walk_under_change_sees_every_lasting_object_exactly_once() {
    each_backend(true, |app| async move {
        let body = first_body(&app).await;
        let body_pk = pk_of(body["id"].as_str().unwrap());
        let list = body["paper"].as_str().unwrap();
        let before: BTreeSet<String> = app
            .walk(&format!("{list}?limit=1000"))
            .await
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect();
        let mut removed = BTreeSet::new();
        let mut seen = Vec::new();
        let mut next = Some(format!("{list}?limit=50"));
        let mut round = 0i64;
        let now = oparl::time::now();
        while let Some(url) = next {
            let page = app.json(&url).await;
            for item in page["data"].as_array().unwrap() {
                seen.push(item["id"].as_str().unwrap().to_string());
            }
            next = page["links"]["next"].as_str().map(str::to_string);
            // Between pages: one new paper, one deleted paper ahead of the
            // walk and one behind it.
            let mut conn = app.conn();
            let mut fields = Map::new();
            fields.insert("name".into(), format!("Nachtrag {round}").into());
            write::change(&mut conn, |c| {
                c.create(Kind::Paper, Some(body_pk), &fields, now + round)
            })
            .unwrap();
            let ids: Vec<&String> = before.iter().filter(|id| !removed.contains(*id)).collect();
            for pick in [
                ids.len() - 1 - (round as usize * 7) % (ids.len() / 2),
                (round as usize * 13) % (ids.len() / 2),
            ] {
                let id = ids[pick].clone();
                write::change(&mut conn, |c| c.delete(pk_of(&id), now + round)).unwrap();
                removed.insert(id);
            }
            round += 1;
        }
        let unique: BTreeSet<String> = seen.iter().cloned().collect();
        assert_eq!(
            unique.len(),
            seen.len(),
            "[{}] an object was listed twice",
            app.label()
        );
        for id in before.difference(&removed) {
            assert!(
                unique.contains(id),
                "[{}] {id} existed throughout but was missed",
                app.label()
            );
        }
        assert!(round > 10 && removed.len() > 20);
    });
}

#[test]
fn lists_of_unknown_owners_are_not_found() {
    each_backend(true, |app| async move {
        let body = first_body(&app).await;
        let paper = app.json(body["paper"].as_str().unwrap()).await["data"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let pk = pk_of(&paper);
        for url in [
            format!("{BASE}/body/999999/paper"),
            format!("{BASE}/body/{pk}/paper"),
            format!("{BASE}/organization/{pk}/meeting"),
        ] {
            let answer = app.get(&url).await;
            assert_eq!(answer.status, 404, "{url}");
            assert_eq!(answer.json()["type"], "https://schema.oparl.org/1.1/Error");
        }
    });
}
