//! Single objects: the System, embedded versus standalone forms with exactly
//! the back-references of spec §3 (only when fetched on its own), and
//! `omit_internal`.

use crate::support::*;
use serde_json::Value;
use std::collections::BTreeSet;

async fn body(app: &TestApp) -> Value {
    let system = app.json(BASE).await;
    app.json(system["body"].as_str().unwrap()).await["data"][0].clone()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn the_system_is_at_the_base_url() {
    each_backend(true, |app| async move {
        let system = app.json(BASE).await;
        assert_eq!(system["id"], BASE);
        assert_eq!(system["type"], "https://schema.oparl.org/1.1/System");
        assert_eq!(system["oparlVersion"], "https://schema.oparl.org/1.1/");
        assert_eq!(system["body"], format!("{BASE}/body"));
        let body = body(&app).await;
        assert_eq!(body["system"], BASE);
        for list in [
            "organization",
            "person",
            "meeting",
            "paper",
            "agendaItem",
            "consultation",
            "file",
            "locationList",
            "legislativeTermList",
            "membership",
        ] {
            assert!(body[list].is_string(), "Body.{list}");
        }
        assert!(body["legislativeTerm"].is_array());
    });
}

#[test]
fn embedded_objects_leave_out_back_references_standalone_ones_carry_them() {
    each_backend(true, |app| async move {
        let body = body(&app).await;
        let body_id = body["id"].as_str().unwrap();
        // LegislativeTerm.body
        let term = &body["legislativeTerm"][0];
        assert!(term.get("body").is_none());
        assert_eq!(
            app.json(term["id"].as_str().unwrap()).await["body"],
            body_id
        );
        // Membership.person
        let person = app.json(body["person"].as_str().unwrap()).await["data"][0].clone();
        let membership = &person["membership"][0];
        assert!(membership.get("person").is_none());
        let standalone = app.json(membership["id"].as_str().unwrap()).await;
        assert_eq!(standalone["person"], person["id"]);
        // Organization.membership lists it by URL.
        let org = app.json(standalone["organization"].as_str().unwrap()).await;
        assert!(org["membership"]
            .as_array()
            .unwrap()
            .contains(&membership["id"]));
        // AgendaItem.meeting, Consultation.paper, File.paper[], Location.papers[]
        let papers = app
            .walk(&format!("{}?limit=1000", body["paper"].as_str().unwrap()))
            .await;
        let paper = papers
            .iter()
            .find(|p| p.get("location").is_some() && p.get("auxiliaryFile").is_some())
            .expect("a paper with locations and attachments");
        let consultation = &paper["consultation"][0];
        assert!(consultation.get("paper").is_none());
        let c = app.json(consultation["id"].as_str().unwrap()).await;
        assert_eq!(c["paper"], paper["id"]);
        for key in ["paper", "meeting", "agendaItem"] {
            assert!(
                paper["mainFile"].get(key).is_none(),
                "embedded File has no {key}"
            );
        }
        let file = app.json(paper["mainFile"]["id"].as_str().unwrap()).await;
        assert_eq!(file["paper"], serde_json::json!([paper["id"]]));
        let location = &paper["location"][0];
        assert!(location.get("papers").is_none());
        assert_eq!(
            app.json(location["id"].as_str().unwrap()).await["papers"],
            serde_json::json!([paper["id"]])
        );
        // AgendaItem.meeting, and its consultation points back.
        let agenda_item = app.json(c["agendaItem"].as_str().unwrap()).await;
        assert_eq!(agenda_item["meeting"], c["meeting"]);
        assert_eq!(agenda_item["consultation"], c["id"]);
        let meeting = app.json(c["meeting"].as_str().unwrap()).await;
        let embedded = meeting["agendaItem"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == agenda_item["id"])
            .unwrap()
            .clone();
        assert!(embedded.get("meeting").is_none());
        // Apart from the back-reference the two forms agree.
        let mut standalone = agenda_item.clone();
        standalone.as_object_mut().unwrap().remove("meeting");
        assert_eq!(standalone, embedded);
        // A shared meeting room names every meeting held in it.
        let room = app.json(meeting["location"]["id"].as_str().unwrap()).await;
        assert!(room["meetings"].as_array().unwrap().len() > 1);
        assert!(room["meetings"]
            .as_array()
            .unwrap()
            .contains(&meeting["id"]));
    });
}

#[test]
fn person_location_is_the_url_of_location_object() {
    each_backend(true, |app| async move {
        let body = body(&app).await;
        let persons = app.walk(body["person"].as_str().unwrap()).await;
        let with = persons
            .iter()
            .filter(|p| p.get("locationObject").is_some())
            .collect::<Vec<_>>();
        assert!(!with.is_empty());
        for p in with {
            assert_eq!(p["location"], p["locationObject"]["id"]);
            let loc = app.json(p["location"].as_str().unwrap()).await;
            assert!(loc["persons"].as_array().unwrap().contains(&p["id"]));
        }
    });
}

#[test]
fn omit_internal_drops_exactly_the_seven_attributes() {
    each_backend(true, |app| async move {
        let body = body(&app).await;
        let expected: [(&str, &[&str]); 4] = [
            ("meeting", &["agendaItem", "auxiliaryFile"]),
            ("paper", &["auxiliaryFile", "location"]),
            ("person", &["membership"]),
            ("agendaItem", &["auxiliaryFile"]),
        ];
        for (list, omitted) in expected {
            let url = body[list].as_str().unwrap();
            let full = app.walk(&format!("{url}?limit=1000")).await;
            let lean = app
                .walk(&format!("{url}?limit=1000&omit_internal=true"))
                .await;
            assert_eq!(full.len(), lean.len());
            let mut dropped_somewhere = BTreeSet::new();
            for (f, l) in full.iter().zip(&lean) {
                let gone: BTreeSet<String> = keys(f).difference(&keys(l)).cloned().collect();
                assert!(
                    gone.iter().all(|k| omitted.contains(&k.as_str())),
                    "[{}] {list}: dropped {gone:?}",
                    app.label()
                );
                for k in keys(l) {
                    if !omitted.contains(&k.as_str()) {
                        assert_eq!(f[&k], l[&k], "{list}.{k} is unchanged");
                    }
                }
                dropped_somewhere.extend(gone);
            }
            let want: BTreeSet<String> = omitted.iter().map(|s| s.to_string()).collect();
            assert_eq!(
                dropped_somewhere, want,
                "{list}: each omitted attribute occurs in the demo"
            );
        }
        // Body.legislativeTerm, on the single object; Paper.consultation stays.
        let lean_body = app
            .json(&format!(
                "{}?omit_internal=true",
                body["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(
            keys(&body)
                .difference(&keys(&lean_body))
                .cloned()
                .collect::<Vec<_>>(),
            vec!["legislativeTerm".to_string()]
        );
        let lean_papers = app
            .json(&format!(
                "{}?omit_internal=true",
                body["paper"].as_str().unwrap()
            ))
            .await;
        assert!(lean_papers["data"][0]["consultation"].is_array());
    });
}

#[test]
fn unknown_and_mistyped_objects_are_not_found() {
    each_backend(true, |app| async move {
        let body = body(&app).await;
        let body_pk = pk_of(body["id"].as_str().unwrap());
        for url in [
            format!("{BASE}/paper/{body_pk}"),
            format!("{BASE}/paper/99999999"),
            format!("{BASE}/nothing/1"),
        ] {
            let answer = app.get(&url).await;
            assert_eq!(answer.status, 404, "{url}");
            assert_eq!(answer.json()["type"], "https://schema.oparl.org/1.1/Error");
        }
    });
}
