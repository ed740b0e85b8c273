//! The change feed: a client that pages through it while objects are
//! created, changed several times, deleted, restored and imported with old
//! times ends with exactly the server's store; an object changed several
//! times between two polls appears once; filters and bad parameters.

use crate::support::*;
use diesel::prelude::*;
use oparl::db::schema::object;
use oparl::model::Kind;
use oparl::store::{read, write};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub const REVISION: &str = "server:revision";
pub const BODY: &str = "server:body";

/// A feed entry or dump line as the object is served at its id: without
/// its revision and Body, which every entry below a Body carries.
pub fn as_served(entry: &Value) -> Value {
    let mut object = entry.clone();
    let map = object.as_object_mut().unwrap();
    assert!(map.remove(REVISION).is_some_and(|r| r.is_i64()), "{entry}");
    let type_ = map["type"].as_str().unwrap().to_string();
    let body = map.remove(BODY);
    if type_.ends_with("/System") || type_.ends_with("/Body") {
        assert!(body.is_none(), "{entry}");
    } else {
        assert!(
            body.is_some_and(|b| b.as_str().is_some_and(|b| b.contains("/body/"))),
            "{entry}"
        );
    }
    object
}

/// What a feed client keeps: every object by id, as the feed last showed it.
#[derive(Default)]
pub struct Mirror {
    pub objects: BTreeMap<String, Value>,
    /// The store's revision the last poll caught up with.
    pub revision: Option<i64>,
}

impl Mirror {
    /// Apply one page; returns its `next`, and the ids it showed.
    pub fn apply(&mut self, page: &Value) -> (Option<String>, Vec<String>) {
        let mut ids = Vec::new();
        let mut last = 0;
        for entry in page["data"].as_array().unwrap() {
            let revision = entry[REVISION]
                .as_i64()
                .expect("every entry has a revision");
            assert!(revision >= last, "entries in revision order");
            last = revision;
            let object = as_served(entry);
            let id = object["id"].as_str().unwrap().to_string();
            ids.push(id.clone());
            self.objects.insert(id, object);
        }
        let next = page["links"]["next"].as_str().map(str::to_string);
        if next.is_none() {
            self.revision = Some(page[REVISION].as_i64().unwrap());
        }
        (next, ids)
    }

    /// Where the next poll starts.
    pub fn poll_url(&self, limit: i64) -> String {
        match self.revision {
            Some(r) => format!("{BASE}/changes?after={r}&limit={limit}"),
            None => format!("{BASE}/changes?limit={limit}"),
        }
    }
}

/// Every object of the store, as the API serves it at its id.
pub async fn served(app: &TestApp) -> BTreeMap<String, Value> {
    let rows: Vec<(i64, i16)> = object::table
        .select((object::pk, object::kind))
        .load(&mut *app.conn())
        .unwrap();
    let urls = oparl::urls::Urls::new(BASE).unwrap();
    let mut out = BTreeMap::new();
    for (pk, kind) in rows {
        let url = urls.object(Kind::from_code(kind).unwrap(), pk);
        out.insert(url.clone(), app.json(&url).await);
    }
    out
}

fn fields_of(app: &TestApp, pk: i64) -> Map<String, Value> {
    serde_json::from_str(&read::object(&mut app.conn(), pk).unwrap().unwrap().fields).unwrap()
}

pub fn rename(app: &TestApp, pk: i64, name: &str, at: i64) {
    let mut fields = fields_of(app, pk);
    fields.insert("name".into(), name.into());
    write::change(&mut app.conn(), |c| c.update_fields(pk, &fields, at)).unwrap();
}

/// Some live papers of the first Body, by pk.
pub fn live_papers(app: &TestApp) -> Vec<(i64, Option<i64>)> {
    object::table
        .filter(object::kind.eq(Kind::Paper.code()))
        .filter(object::deleted.eq(false))
        .order(object::pk)
        .select((object::pk, object::body_pk))
        .load(&mut *app.conn())
        .unwrap()
}

#[test]
fn a_client_of_the_feed_under_change_ends_with_the_servers_store() {
    each_backend(true, |app| async move {
        let label = app.label();
        let system = app.json(BASE).await;
        assert_eq!(system["server:changes"], format!("{BASE}/changes"));
        let papers = live_papers(&app);
        let body = papers[0].1.unwrap();
        let now = oparl::time::now();
        // Changes made between pages: (page number, what).
        let mut mirror = Mirror::default();
        let mut next = Some(mirror.poll_url(500));
        let mut page_number = 0;
        let mut created = Vec::new();
        while let Some(url) = next {
            let page = app.json(&url).await;
            (next, _) = mirror.apply(&page);
            page_number += 1;
            let at = now + page_number;
            match page_number {
                // A paper the walk has passed, changed three times.
                2 => {
                    for round in 0..3 {
                        rename(&app, papers[0].0, &format!("Fassung {round}"), at);
                    }
                }
                // New papers, one of them changed right away.
                4 => {
                    for i in 0..3 {
                        let mut fields = Map::new();
                        fields.insert("name".into(), format!("Neu {i}").into());
                        created.push(
                            write::change(&mut app.conn(), |c| {
                                c.create(Kind::Paper, Some(body), &fields, at)
                            })
                            .unwrap(),
                        );
                    }
                    rename(&app, created[0], "Neu 0, geändert", at);
                }
                // One deleted behind the walk, one ahead of it.
                6 => {
                    assert!(app.delete(papers[1].0, at));
                    assert!(app.delete(papers[papers.len() - 1].0, at));
                }
                // A deleted paper comes back (as an import restores it),
                // with a `modified` long past, as a source may send.
                8 => {
                    let pk = papers[1].0;
                    let fields = write::Fields::new(Kind::Paper, &fields_of(&app, pk));
                    write::change(&mut app.conn(), |c| {
                        c.overwrite(pk, Some(body), 1_000_000_000, 1_000_000_100, &fields)
                    })
                    .unwrap();
                }
                _ => {}
            }
        }
        assert!(
            page_number > 8,
            "[{label}] the feed has {page_number} pages"
        );
        // Changes after the walk, picked up by the next poll; one object
        // changed three times appears once, at its last state.
        let later = now + 100;
        for round in 0..3 {
            rename(&app, papers[2].0, &format!("Spät {round}"), later);
        }
        assert!(app.delete(created[1], later));
        let mut shown: Vec<String> = Vec::new();
        let mut next = Some(mirror.poll_url(2));
        while let Some(url) = next {
            let page = app.json(&url).await;
            let ids;
            (next, ids) = mirror.apply(&page);
            shown.extend(ids);
        }
        let paper_2 = format!("{BASE}/paper/{}", papers[2].0);
        assert_eq!(
            shown.iter().filter(|id| **id == paper_2).count(),
            1,
            "[{label}] {shown:?}"
        );
        assert_eq!(mirror.objects[&paper_2]["name"], "Spät 2", "[{label}]");
        // Polled again with nothing new: nothing.
        let quiet = app.json(&mirror.poll_url(100)).await;
        assert_eq!(quiet["data"], serde_json::json!([]), "[{label}]");
        assert!(quiet["links"].get("next").is_none(), "[{label}]");

        // The mirror is the store: every object, live or tombstone, as the
        // API serves it at its id.
        let store = served(&app).await;
        assert_eq!(
            mirror.objects.keys().collect::<Vec<_>>(),
            store.keys().collect::<Vec<_>>(),
            "[{label}] the same objects"
        );
        for (id, object) in &store {
            assert_eq!(&mirror.objects[id], object, "[{label}] {id}");
        }
        let restored = &mirror.objects[&format!("{BASE}/paper/{}", papers[1].0)];
        assert!(restored.get("deleted").is_none(), "[{label}] restored");
        assert_eq!(
            restored["modified"],
            oparl::time::format_datetime(1_000_000_100),
            "[{label}] with its old time"
        );
    });
}

#[test]
fn the_feed_filters_by_body_and_type_and_refuses_bad_parameters() {
    each_backend(true, |app| async move {
        let label = app.label();
        let bodies = app.json(&format!("{BASE}/body")).await;
        for body in bodies["data"].as_array().unwrap() {
            let feed = body["server:changes"].as_str().unwrap();
            let entries = app.walk(&format!("{feed}&limit=1000")).await;
            assert!(!entries.is_empty(), "[{label}]");
            let pk = pk_of(body["id"].as_str().unwrap());
            let expected: i64 = object::table
                .filter(object::body_pk.eq(pk))
                .count()
                .get_result(&mut *app.conn())
                .unwrap();
            assert_eq!(entries.len() as i64, expected, "[{label}] {feed}");
            let typed = app
                .walk(&format!("{feed}&type=Meeting,Location&limit=1000"))
                .await;
            let expected: i64 = object::table
                .filter(object::body_pk.eq(pk))
                .filter(object::kind.eq_any([Kind::Meeting.code(), Kind::Location.code()]))
                .count()
                .get_result(&mut *app.conn())
                .unwrap();
            assert_eq!(typed.len() as i64, expected, "[{label}]");
            assert!(typed.iter().all(|e| e["type"]
                .as_str()
                .is_some_and(|t| t.ends_with("/Meeting") || t.ends_with("/Location"))));
        }
        for bad in [
            "after=x",
            "after=-1",
            "after_pk=4",
            "type=Papier",
            "limit=0",
            "body=abc",
        ] {
            let answer = app.get(&format!("{BASE}/changes?{bad}")).await;
            assert_eq!(answer.status, 400, "[{label}] {bad}");
            assert_eq!(
                answer.json()["type"],
                "https://schema.oparl.org/1.1/Error",
                "[{label}] {bad}"
            );
        }
        let paper = app.json(&format!("{BASE}/body")).await["data"][0]["paper"]
            .as_str()
            .unwrap()
            .to_string();
        let not_a_body = pk_of(app.json(&paper).await["data"][0]["id"].as_str().unwrap());
        let answer = app.get(&format!("{BASE}/changes?body={not_a_body}")).await;
        assert_eq!(answer.status, 404, "[{label}]");
    });
}
