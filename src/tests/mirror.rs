//! A faithful mirror: a real-shaped OParl 1.1 dump with the defects of real
//! ones (agenda items numbered from 1, consultations of papers the dump
//! lacks, meetings that end at midnight before they start) is served with
//! no finding of our own checker; it lands whole in a store that already
//! holds another Body; and a live source's parent that no list holds is
//! fetched for the required back-reference that names it.

use crate::fixtures::{as_vendor, edit_json, serve_api, Fault};
use crate::import::{assert_mirrors, import, options, rendered};
use crate::support::*;
use diesel::prelude::*;
use oparl::db::schema::{import_id, link, object};
use oparl::import::repair::Repair;
use oparl::import::Outcome;
use oparl::model::{self, Kind};
use oparl_conformance::CheckOptions;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

/// The source's URL prefix in the dump.
const SOURCE: &str = "https://ris.beispielstadt.example/oparl/v1.1";

fn dump() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/tests/data/beispielstadt/dump.jsonl")
}

/// Serve the store and check it as a harvester would see it; the files'
/// bytes stay at the source's (unreachable) host, so none are fetched.
async fn check_served(app: &TestApp) -> oparl_conformance::report::Report {
    let base = serve_api(&app.state, None).await;
    let options = CheckOptions {
        max_files: 0,
        ..Default::default()
    };
    oparl_conformance::check(&base, options).await
}

/// Every imported object in its standalone form, keyed by its source id,
/// with each of our URLs written as the source id it stands for (a list's
/// URL as its owner's source id and the list's name): two stores that hold
/// the same imported objects give the same map, whatever their pks.
fn by_source_id(app: &TestApp) -> BTreeMap<String, Value> {
    let sids: HashMap<i64, String> = import_id::table
        .select((import_id::pk, import_id::source_id))
        .load::<(i64, String)>(&mut *app.conn())
        .unwrap()
        .into_iter()
        .collect();
    fn translate(value: &mut Value, sids: &HashMap<i64, String>) {
        match value {
            Value::String(s) => {
                let Some(rest) = s.strip_prefix(BASE) else {
                    return;
                };
                // A Body's change feed and search name the Body in their
                // query.
                if let Some((service, pk)) =
                    rest.strip_prefix('/').and_then(|r| r.split_once("?body="))
                {
                    if let Some(sid) = pk.parse().ok().and_then(|pk: i64| sids.get(&pk)) {
                        *s = format!("{service} of source:{sid}");
                    }
                    return;
                }
                let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
                if let [_, pk, tail @ ..] = segments.as_slice() {
                    if let Some(sid) = pk.parse().ok().and_then(|pk: i64| sids.get(&pk)) {
                        *s = std::iter::once(format!("source:{sid}"))
                            .chain(tail.iter().map(|t| t.to_string()))
                            .collect::<Vec<_>>()
                            .join("/");
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| translate(v, sids)),
            Value::Object(map) => map.values_mut().for_each(|v| translate(v, sids)),
            _ => {}
        }
    }
    rendered(app, BASE)
        .into_iter()
        .filter_map(|(id, mut value)| {
            let sid = sids.get(&pk_of(&id))?.clone();
            translate(&mut value, &sids);
            Some((sid, value))
        })
        .collect()
}

/// The object whose source id ends with `path`.
fn source<'m>(objects: &'m BTreeMap<String, Value>, path: &str) -> &'m Value {
    let sid = format!("{}/{path}", SOURCE.trim_start_matches("https://"));
    objects
        .get(&sid)
        .unwrap_or_else(|| panic!("{sid} was not imported"))
}

#[test]
fn a_real_shaped_dump_is_served_with_no_finding_of_our_checker() {
    for kind in backends() {
        let rt = multi_thread_runtime();
        let app = TestApp::new(TestStore::new(kind), false);
        let label = app.label();
        rt.block_on(async {
            let (outcome, report) = import(&app, options(dump().to_str().unwrap()))
                .await
                .unwrap();
            assert_eq!(outcome, Outcome::Complete, "[{label}] {}", report.summary());
            for (repair, n) in [
                // Every item of the four meetings: the source counts from 1.
                (Repair::AgendaItemOrder, 12),
                (Repair::MeetingEndBeforeStart, 2),
                // Four papers the dump lacks (by three consultations and one
                // of a meeting the dump lacks), and that meeting (by an
                // agenda item and a consultation).
                (Repair::RequiredReferenceKept, 6),
                (Repair::DanglingReference, 0),
                // The tombstone of a meeting that nothing relates to.
                (Repair::UnknownBody, 1),
            ] {
                assert_eq!(
                    report.repairs(repair),
                    n,
                    "[{label}] {}\n{}",
                    repair.name(),
                    report.summary()
                );
            }

            let check = check_served(&app).await;
            assert!(check.findings.is_empty(), "[{label}] {}", check.text(5));

            let objects = by_source_id(&app);
            // Orders from 0, the source's kept beside them.
            let meeting = source(&objects, "meeting/101");
            let orders: Vec<(&Value, &Value)> = meeting["agendaItem"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| (&item["order"], &item["import:sourceOrder"]))
                .collect();
            let expected: Vec<(Value, Value)> = (0..5).map(|i| (json!(i), json!(i + 1))).collect();
            assert_eq!(
                orders,
                expected.iter().map(|(a, b)| (a, b)).collect::<Vec<_>>(),
                "[{label}]"
            );
            let item = source(&objects, "agendaitem/1012");
            assert_eq!(item["order"], 1, "[{label}] {item}");
            assert_eq!(
                item["meeting"],
                "source:ris.beispielstadt.example/oparl/v1.1/meeting/101"
            );
            // An end at midnight before the start is dropped, a real end kept.
            assert!(meeting.get("end").is_none(), "[{label}] {meeting}");
            assert!(source(&objects, "meeting/103").get("end").is_none());
            assert_eq!(
                source(&objects, "meeting/102")["end"],
                "2023-02-28T19:30:00+01:00"
            );
            // A consultation of a paper the dump holds points at our paper,
            // one of a paper it lacks at the source's.
            assert_eq!(
                source(&objects, "consultation/5011")["paper"],
                "source:ris.beispielstadt.example/oparl/v1.1/paper/501"
            );
            assert_eq!(
                source(&objects, "consultation/5991")["paper"],
                format!("{SOURCE}/paper/599"),
                "[{label}]"
            );
            // An agenda item of a meeting the dump lacks keeps that
            // meeting's URL and the source's order.
            let orphan = source(&objects, "agendaitem/1991");
            assert_eq!(
                orphan["meeting"],
                format!("{SOURCE}/meeting/199"),
                "[{label}]"
            );
            assert_eq!(orphan["order"], 2, "[{label}] {orphan}");
            assert!(orphan.get("import:sourceOrder").is_none());
            let consultation = source(&objects, "consultation/5992");
            assert_eq!(consultation["meeting"], format!("{SOURCE}/meeting/199"));
            assert_eq!(
                consultation["agendaItem"],
                "source:ris.beispielstadt.example/oparl/v1.1/agendaitem/1991"
            );

            // The same dump again changes nothing.
            let (outcome, again) = import(&app, options(dump().to_str().unwrap()))
                .await
                .unwrap();
            assert_eq!(outcome, Outcome::Complete, "[{label}]");
            assert_eq!(
                (again.created, again.changed, again.deleted),
                (0, 0, 0),
                "[{label}] {}",
                again.summary()
            );
            assert_eq!(
                by_source_id(&app),
                objects,
                "[{label}] a second run changed something"
            );

            // The papers arrive later (another export): the consultations now
            // point at our copies, and only the meeting still at the source.
            let dir =
                std::env::temp_dir().join(format!("oparl-mirror-{}-{label}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let later = dir.join("papers.jsonl");
            std::fs::write(&later, missing_papers()).unwrap();
            let (outcome, report) = import(&app, options(later.to_str().unwrap()))
                .await
                .unwrap();
            assert_eq!(outcome, Outcome::Complete, "[{label}] {}", report.summary());
            assert_eq!(report.created, 2, "[{label}] {}", report.summary());
            // 5992's meeting is still missing.
            assert_eq!(
                report.repairs(Repair::RequiredReferenceKept),
                1,
                "[{label}]"
            );
            let objects = by_source_id(&app);
            for (consultation, paper) in [
                ("5991", "599"),
                ("5981", "598"),
                ("5982", "598"),
                ("5992", "599"),
            ] {
                assert_eq!(
                    source(&objects, &format!("consultation/{consultation}"))["paper"],
                    format!("source:ris.beispielstadt.example/oparl/v1.1/paper/{paper}"),
                    "[{label}] consultation/{consultation}"
                );
            }
            assert_eq!(
                source(&objects, "consultation/5992")["meeting"],
                format!("{SOURCE}/meeting/199")
            );
            let check = check_served(&app).await;
            assert!(check.findings.is_empty(), "[{label}] {}", check.text(5));
            let _ = std::fs::remove_dir_all(&dir);
        });
    }
}

/// The two papers the dump lacks, with the consultations that named them
/// embedded, as a later export would bring them.
fn missing_papers() -> String {
    let consultation = |n: &str, meeting: &str, item: &str, organization: &str| {
        json!({
            "id": format!("{SOURCE}/consultation/{n}"),
            "type": "https://schema.oparl.org/1.1/Consultation",
            "meeting": format!("{SOURCE}/meeting/{meeting}"),
            "agendaItem": format!("{SOURCE}/agendaitem/{item}"),
            "organization": [format!("{SOURCE}/organization/{organization}")],
            "role": "Vorberatung",
            "authoritative": false,
            "created": "2023-01-10T09:00:00+01:00",
            "modified": "2023-03-20T12:00:00+01:00",
        })
    };
    let paper = |n: &str, name: &str, consultations: Vec<Value>| {
        json!({
            "id": format!("{SOURCE}/paper/{n}"),
            "type": "https://schema.oparl.org/1.1/Paper",
            "body": format!("{SOURCE}/body/1"),
            "name": name,
            "consultation": consultations,
            "created": "2022-11-02T09:00:00+01:00",
            "modified": "2023-03-20T12:00:00+01:00",
        })
    };
    let mut c5991 = consultation("5991", "101", "1014", "1");
    c5991["role"] = "Entscheidung".into();
    c5991["authoritative"] = true.into();
    [
        paper(
            "599",
            "Antrag der Fraktion Bürgerliste: Radweg Lindenweg",
            vec![c5991, consultation("5992", "199", "1991", "2")],
        ),
        paper(
            "598",
            "Baumschutzsatzung",
            vec![
                consultation("5981", "103", "1033", "3"),
                consultation("5982", "102", "1023", "2"),
            ],
        ),
    ]
    .iter()
    .map(|v| format!("{v}\n"))
    .collect()
}

#[test]
fn a_dump_whose_meetings_name_no_body_lands_whole_beside_another_body() {
    for kind in backends() {
        let rt = multi_thread_runtime();
        let alone = TestApp::new(TestStore::new(kind.clone()), false);
        // The demo city: a Body, and thousands of objects, none of this source.
        let beside = TestApp::new(TestStore::new(kind), true);
        let label = alone.label();
        let demo_body: i64 = object::table
            .filter(object::kind.eq(Kind::Body.code()))
            .select(object::pk)
            .first(&mut *beside.conn())
            .unwrap();
        let demo_before = crate::import::counts(&beside);
        let mut reports = Vec::new();
        for app in [&alone, &beside] {
            let (outcome, report) = rt
                .block_on(import(app, options(dump().to_str().unwrap())))
                .unwrap();
            assert_eq!(outcome, Outcome::Complete, "[{label}] {}", report.summary());
            assert_eq!(report.skips(), 0, "[{label}] {}", report.summary());
            reports.push(report);
        }
        assert_eq!(reports[0].created, reports[1].created, "[{label}]");
        assert_eq!(
            reports[0].json()["repairs"],
            reports[1].json()["repairs"],
            "[{label}]"
        );

        // The same objects, served the same, and per type as many.
        let one = by_source_id(&alone);
        let two = by_source_id(&beside);
        let per_type = |objects: &BTreeMap<String, Value>| {
            let mut out: BTreeMap<(String, bool), usize> = BTreeMap::new();
            for v in objects.values() {
                let key = (
                    v["type"].as_str().unwrap().to_string(),
                    v["deleted"] == true,
                );
                *out.entry(key).or_default() += 1;
            }
            out
        };
        assert_eq!(per_type(&one), per_type(&two), "[{label}]");
        // Every object of each kind the dump holds, the meeting of no
        // organization among them.
        let live_meetings = one
            .values()
            .filter(|v| v["type"].as_str().unwrap().ends_with("/Meeting") && v["deleted"] != true)
            .count();
        assert_eq!(live_meetings, 4, "[{label}]");
        assert_eq!(per_type(&one).values().sum::<usize>(), 55, "[{label}]");
        for (sid, value) in &one {
            assert_eq!(Some(value), two.get(sid), "[{label}] {sid}");
        }
        assert_eq!(one.len(), two.len(), "[{label}]");

        // Nothing of the dump landed in the demo city's Body, whose objects
        // are as they were.
        let bodies: HashSet<Option<i64>> = object::table
            .inner_join(import_id::table.on(import_id::pk.eq(object::pk)))
            .select(object::body_pk)
            .load::<Option<i64>>(&mut *beside.conn())
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(bodies.len(), 1, "[{label}] {bodies:?}");
        assert!(!bodies.contains(&Some(demo_body)), "[{label}]");
        let demo_after: BTreeMap<_, _> = crate::import::counts(&beside)
            .into_iter()
            .map(|(kind, (live, deleted))| {
                let imported = per_type(&two)
                    .iter()
                    .filter(|((t, _), _)| t.ends_with(&format!("/{kind}")))
                    .fold((0, 0), |(l, d), ((_, del), n)| {
                        if *del {
                            (l, d + *n as i64)
                        } else {
                            (l + *n as i64, d)
                        }
                    });
                (kind, (live - imported.0, deleted - imported.1))
            })
            .collect();
        assert_eq!(demo_after, demo_before, "[{label}]");
    }
}

#[test]
fn a_parent_in_no_list_is_fetched_for_the_required_reference_that_names_it() {
    for kind in backends() {
        let rt = multi_thread_runtime();
        let a = TestApp::new(TestStore::new(kind), true);
        let b = a.empty_sibling();
        let label = a.label();
        // A paper with consultations that no other object refers to: only
        // its consultations' `paper` names it once it is out of the list.
        let related: HashSet<i64> = link::table
            .filter(link::field.eq_any([19i16, 20, 21]))
            .select(link::to_pk)
            .load::<i64>(&mut *a.conn())
            .unwrap()
            .into_iter()
            .collect();
        let with_consultations: Vec<i64> = link::table
            .inner_join(object::table.on(object::pk.eq(link::from_pk)))
            .filter(link::field.eq(model::PAPER_CONSULTATION))
            .filter(object::deleted.eq(false))
            .select(link::from_pk)
            .distinct()
            .order(link::from_pk)
            .load(&mut *a.conn())
            .unwrap();
        let hidden = *with_consultations
            .iter()
            .find(|pk| !related.contains(pk))
            .expect("a paper nothing refers to");
        let suffix = format!("/paper/{hidden}\"");
        let fault: Fault = Arc::new(move |path, _query, answer| {
            if path.contains("/body/") && path.ends_with("/paper") {
                edit_json(answer, |page| {
                    if let Some(items) = page["data"].as_array_mut() {
                        items.retain(|item| !item["id"].to_string().ends_with(&suffix));
                    }
                });
            }
        });
        rt.block_on(async {
            let a_base = serve_api(&a.state, Some(as_vendor(fault))).await;
            let (outcome, report) = import(&b, options(&a_base)).await.unwrap();
            assert_eq!(outcome, Outcome::Complete, "[{label}] {}", report.summary());
            assert_eq!(
                report.repairs(Repair::RequiredReferenceFetched),
                1,
                "[{label}] {}",
                report.summary()
            );
            assert_eq!(
                report.repairs(Repair::RequiredReferenceKept),
                0,
                "[{label}]"
            );
            // B holds the paper, and everything else, as A does.
            assert_mirrors(&a, &a_base, &b);
        });
    }
}
