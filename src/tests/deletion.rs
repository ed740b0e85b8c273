//! Deleted objects (spec §2.8): tombstones at their id with 200, listed only
//! with modified_since, never embedded, and every parent re-stamped.

use crate::support::*;
use oparl::time::format_datetime;
use serde_json::{json, Value};

async fn body(app: &TestApp) -> Value {
    let system = app.json(BASE).await;
    app.json(system["body"].as_str().unwrap()).await["data"][0].clone()
}

/// A held meeting with at least four agenda items.
async fn meeting_with_agenda(app: &TestApp, body: &Value) -> Value {
    for meeting in app
        .walk(&format!("{}?limit=1000", body["meeting"].as_str().unwrap()))
        .await
    {
        if meeting["agendaItem"]
            .as_array()
            .is_some_and(|a| a.len() >= 4)
            && meeting["meetingState"] == "durchgeführt"
        {
            return meeting;
        }
    }
    panic!("the demo has held meetings with agendas");
}

#[test]
fn a_deleted_object_is_a_tombstone_listed_only_with_modified_since() {
    each_backend(true, |app| async move {
        let body = body(&app).await;
        let papers = body["paper"].as_str().unwrap();
        let paper = app.json(papers).await["data"][2].clone();
        let id = paper["id"].as_str().unwrap();
        let now = oparl::time::now() + 10;
        assert!(app.delete(pk_of(id), now));

        let tomb = app.get(id).await;
        assert_eq!(tomb.status, 200, "a deleted object answers 200");
        assert_eq!(
            tomb.json(),
            json!({ "id": id, "type": "https://schema.oparl.org/1.1/Paper", "created": paper["created"], "modified": format_datetime(now), "deleted": true })
        );
        let listed = |items: &[Value]| items.iter().any(|p| p["id"] == id);
        assert!(
            !listed(&app.walk(&format!("{papers}?limit=1000")).await),
            "not in the plain list"
        );
        let created = enc(paper["created"].as_str().unwrap());
        assert!(
            !listed(
                &app.walk(&format!("{papers}?limit=1000&created_since={created}"))
                    .await
            ),
            "not with created_since alone"
        );
        let until = enc(&format_datetime(now + 100));
        assert!(
            !listed(
                &app.walk(&format!("{papers}?limit=1000&modified_until={until}"))
                    .await
            ),
            "not with modified_until alone"
        );
        let since = enc(&format_datetime(now));
        let changed = app.walk(&format!("{papers}?modified_since={since}")).await;
        let entry = changed
            .iter()
            .find(|p| p["id"] == id)
            .expect("listed with modified_since");
        assert_eq!(entry["deleted"], true);
        // Its owned consultations went with it, and show up as deleted too.
        for c in paper["consultation"].as_array().unwrap() {
            assert_eq!(app.json(c["id"].as_str().unwrap()).await["deleted"], true);
        }
        // Its embedded files stay, but no longer name it.
        let file = app.json(paper["mainFile"]["id"].as_str().unwrap()).await;
        assert!(file.get("deleted").is_none());
        assert!(!file["paper"]
            .as_array()
            .is_some_and(|a| a.iter().any(|p| p == id)));
        assert_eq!(
            file["modified"],
            format_datetime(now),
            "the file's back-references changed"
        );
    });
}

#[test]
fn deleting_an_embedded_object_removes_it_and_restamps_every_parent() {
    each_backend(true, |app| async move {
        let body = body(&app).await;
        let meeting = meeting_with_agenda(&app, &body).await;
        let items = meeting["agendaItem"].as_array().unwrap().clone();
        let victim = &items[1];
        let now = oparl::time::now() + 20;
        app.delete(pk_of(victim["id"].as_str().unwrap()), now);

        let after = app.json(meeting["id"].as_str().unwrap()).await;
        assert_eq!(
            after["modified"],
            format_datetime(now),
            "the meeting that embedded it is re-stamped"
        );
        let left = after["agendaItem"].as_array().unwrap();
        assert_eq!(left.len(), items.len() - 1);
        assert!(
            left.iter().all(|i| i["id"] != victim["id"]),
            "a deleted object is never embedded"
        );
        for (index, item) in left.iter().enumerate() {
            assert_eq!(
                item["order"], index,
                "order is the index in Meeting.agendaItem"
            );
            let standalone = app.json(item["id"].as_str().unwrap()).await;
            assert_eq!(standalone["order"], index);
            if index >= 1 {
                assert_eq!(
                    item["modified"],
                    format_datetime(now),
                    "a renumbered item changed"
                );
            }
        }

        // A file two levels down: Meeting > AgendaItem > File.
        let mut found = None;
        for m in app
            .walk(&format!("{}?limit=1000", body["meeting"].as_str().unwrap()))
            .await
        {
            let items = m["agendaItem"].as_array().cloned().unwrap_or_default();
            if let Some(item) = items
                .into_iter()
                .find(|i| i.get("resolutionFile").is_some())
            {
                found = Some((m.clone(), item));
                break;
            }
        }
        let (held, item) = found.expect("the demo has resolution files");
        let file = item["resolutionFile"].clone();
        let later = now + 5;
        app.delete(pk_of(file["id"].as_str().unwrap()), later);
        let item_after = app.json(item["id"].as_str().unwrap()).await;
        assert!(item_after.get("resolutionFile").is_none());
        assert_eq!(item_after["modified"], format_datetime(later));
        let meeting_after = app.json(held["id"].as_str().unwrap()).await;
        assert_eq!(
            meeting_after["modified"],
            format_datetime(later),
            "grandparents are re-stamped too"
        );
    });
}

#[test]
fn the_demo_holds_tombstones_of_several_kinds() {
    each_backend(true, |app| async move {
        let body = body(&app).await;
        let since = enc("1970-01-01T00:00:00+00:00");
        let mut kinds = Vec::new();
        for list in [
            "paper",
            "meeting",
            "agendaItem",
            "consultation",
            "file",
            "locationList",
            "membership",
            "person",
        ] {
            let items = app
                .walk(&format!(
                    "{}?limit=1000&modified_since={since}",
                    body[list].as_str().unwrap()
                ))
                .await;
            if items.iter().any(|o| o["deleted"] == true) {
                kinds.push(list);
            }
        }
        assert!(
            kinds.len() >= 6,
            "[{}] tombstones only in {kinds:?}",
            app.label()
        );
    });
}
