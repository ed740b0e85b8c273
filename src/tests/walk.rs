//! A full walk from the System URL: every list yields exactly what the store
//! holds for it, every object of every kind is reached, and every URL in
//! every answer resolves, to a live object where it names one.

use crate::support::*;
use diesel::prelude::*;
use oparl::db::schema::{link, object};
use oparl::model::{Kind, BODY_LISTS, CONSULTATION_ORGANIZATION, MEETING_ORGANIZATION};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Every string value that is one of our URLs, and every object (with an
/// `id` and `type`) found anywhere in a value.
fn scan(value: &Value, urls: &mut BTreeSet<String>, objects: &mut BTreeMap<String, String>) {
    match value {
        Value::String(s) if s.starts_with("http://oparl.test/") => {
            urls.insert(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|v| scan(v, urls, objects)),
        Value::Object(map) => {
            if let (Some(Value::String(id)), Some(Value::String(t))) =
                (map.get("id"), map.get("type"))
            {
                objects.insert(id.clone(), t.clone());
            }
            map.values().for_each(|v| scan(v, urls, objects));
        }
        _ => {}
    }
}

fn live_pks(app: &TestApp, kind: Kind, body: Option<i64>) -> BTreeSet<i64> {
    let mut q = object::table
        .filter(object::kind.eq(kind.code()))
        .filter(object::deleted.eq(false))
        .select(object::pk)
        .into_boxed();
    if let Some(body) = body {
        q = q.filter(object::body_pk.eq(body));
    }
    q.load::<i64>(&mut *app.conn())
        .unwrap()
        .into_iter()
        .collect()
}

fn pks_of(items: &[Value]) -> Vec<i64> {
    items
        .iter()
        .map(|o| pk_of(o["id"].as_str().unwrap()))
        .collect()
}

fn assert_same_set(app: &TestApp, what: &str, got: &[i64], expected: &BTreeSet<i64>) {
    let set: BTreeSet<i64> = got.iter().copied().collect();
    assert_eq!(
        set.len(),
        got.len(),
        "[{}] {what}: an object appears twice",
        app.label()
    );
    assert_eq!(&set, expected, "[{}] {what}", app.label());
}

#[test]
fn full_walk_reaches_every_object_and_every_url_resolves() {
    each_backend(true, |app| async move {
        let mut urls = BTreeSet::new();
        let mut objects = BTreeMap::new();
        let system = app.json(BASE).await;
        scan(&system, &mut urls, &mut objects);
        let bodies = app.walk(system["body"].as_str().unwrap()).await;
        assert_same_set(
            &app,
            "System.body",
            &pks_of(&bodies),
            &live_pks(&app, Kind::Body, None),
        );
        assert_eq!(bodies.len(), 2);
        for body in &bodies {
            scan(body, &mut urls, &mut objects);
            let body_pk = pk_of(body["id"].as_str().unwrap());
            for (field, kind) in BODY_LISTS {
                let list_url = body[field]
                    .as_str()
                    .unwrap_or_else(|| panic!("Body.{field} missing"));
                assert!(!list_url.contains('?'), "list URLs carry no query string");
                let items = app.walk(&format!("{list_url}?limit=1000")).await;
                for item in &items {
                    assert_eq!(
                        item["type"],
                        kind.type_uri(),
                        "{field} lists {}",
                        kind.name()
                    );
                    scan(item, &mut urls, &mut objects);
                }
                let what = format!("Body {body_pk} {field}");
                assert_same_set(
                    &app,
                    &what,
                    &pks_of(&items),
                    &live_pks(&app, kind, Some(body_pk)),
                );
            }
            let orgs = app.walk(body["organization"].as_str().unwrap()).await;
            for org in &orgs {
                let org_pk = pk_of(org["id"].as_str().unwrap());
                for (field, code, kind) in [
                    ("meeting", MEETING_ORGANIZATION, Kind::Meeting),
                    (
                        "consultation",
                        CONSULTATION_ORGANIZATION,
                        Kind::Consultation,
                    ),
                ] {
                    let items = app.walk(org[field].as_str().unwrap()).await;
                    items.iter().for_each(|i| scan(i, &mut urls, &mut objects));
                    let expected: BTreeSet<i64> = link::table
                        .inner_join(object::table.on(object::pk.eq(link::from_pk)))
                        .filter(link::to_pk.eq(org_pk))
                        .filter(link::field.eq(code))
                        .filter(object::deleted.eq(false))
                        .filter(object::kind.eq(kind.code()))
                        .select(link::from_pk)
                        .load::<i64>(&mut *app.conn())
                        .unwrap()
                        .into_iter()
                        .collect();
                    assert_same_set(
                        &app,
                        &format!("Organization {org_pk} {field}"),
                        &pks_of(&items),
                        &expected,
                    );
                }
            }
        }
        // Every live object of every kind was reached.
        for kind in Kind::ALL {
            let reached: BTreeSet<i64> = objects
                .iter()
                .filter(|(_, t)| **t == kind.type_uri())
                .map(|(id, _)| if kind == Kind::System { 0 } else { pk_of(id) })
                .collect();
            if kind == Kind::System {
                assert_eq!(reached.len(), 1);
                continue;
            }
            assert_eq!(
                reached,
                live_pks(&app, kind, None),
                "[{}] reached {}",
                app.label(),
                kind.name()
            );
            assert!(
                !reached.is_empty(),
                "the demo has objects of kind {}",
                kind.name()
            );
        }
        // Every URL in every answer resolves, and never to a tombstone: the
        // walk met live objects only, and a live object refers to no
        // deleted one (the demo deletes objects of several kinds).
        assert!(urls.len() > 10_000, "only {} URLs", urls.len());
        for url in &urls {
            let answer = app.get(url).await;
            assert_eq!(
                answer.status,
                200,
                "[{}] {url} does not resolve",
                app.label()
            );
            if answer.header("content-type") == Some("application/json; charset=utf-8") {
                assert_ne!(
                    answer.json()["deleted"],
                    true,
                    "[{}] a live object refers to the deleted {url}",
                    app.label()
                );
            }
        }
    });
}
