//! The four date filters: inclusive bounds, lenient parsing, carried into
//! every link in one canonical form, malformed values answered with 400.

use crate::support::*;
use oparl::time::format_datetime;
use serde_json::Value;
use std::collections::BTreeSet;

async fn papers_url(app: &TestApp) -> String {
    let system = app.json(BASE).await;
    let bodies = app.json(system["body"].as_str().unwrap()).await;
    bodies["data"][0]["paper"].as_str().unwrap().to_string()
}

fn stamp(v: &Value, key: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(v[key].as_str().unwrap())
        .unwrap()
        .timestamp()
}

fn ids(items: &[Value]) -> BTreeSet<String> {
    items
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn each_filter_matches_the_full_walk_with_inclusive_bounds() {
    each_backend(true, |app| async move {
        let list = papers_url(&app).await;
        let all = app.walk(&format!("{list}?limit=1000")).await;
        // Deleted ones appear with modified_since; the full walk has only live ones.
        let with_deleted = app
            .walk(&format!(
                "{list}?limit=1000&modified_since={}",
                enc("1970-01-01T00:00:00+00:00")
            ))
            .await;
        assert!(
            with_deleted.len() > all.len(),
            "deleted papers are listed with modified_since"
        );
        let pivot = &all[all.len() / 3];
        for (param, key, since) in [
            ("created_since", "created", true),
            ("created_until", "created", false),
            ("modified_since", "modified", true),
            ("modified_until", "modified", false),
        ] {
            let t = stamp(pivot, key);
            // With modified_since the universe includes tombstones.
            let universe = if param == "modified_since" {
                &with_deleted
            } else {
                &all
            };
            for bound in [t - 1, t, t + 1] {
                let url = format!("{list}?{param}={}&limit=1000", enc(&format_datetime(bound)));
                let got = app.walk(&url).await;
                let expected: BTreeSet<String> = universe
                    .iter()
                    .filter(|o| {
                        if since {
                            stamp(o, key) >= bound
                        } else {
                            stamp(o, key) <= bound
                        }
                    })
                    .map(|o| o["id"].as_str().unwrap().to_string())
                    .collect();
                assert_eq!(ids(&got), expected, "[{}] {param} at {bound}", app.label());
                if bound == t {
                    assert!(
                        ids(&got).contains(pivot["id"].as_str().unwrap()),
                        "{param}: the bound is inclusive"
                    );
                }
            }
        }
    });
}

#[test]
fn filters_are_carried_into_every_link_in_canonical_form() {
    each_backend(true, |app| async move {
        let list = papers_url(&app).await;
        // Z, fractions, a decoded `+` and a foreign parameter on input.
        let url = format!(
            "{list}?zzz=1&modified_until=2030-01-01T00:00:00.250Z&limit=5&created_since=2025-12-31T23:00:00%2001:00&omit_internal=true"
        );
        let page = app.json(&url).await;
        let expected_query = "?created_since=2025-12-31T22%3A00%3A00%2B00%3A00&modified_until=2030-01-01T00%3A00%3A00%2B00%3A00&omit_internal=true&limit=5";
        assert_eq!(page["links"]["first"], format!("{list}{expected_query}"));
        assert_eq!(page["links"]["self"], format!("{list}{expected_query}"));
        let next = page["links"]["next"].as_str().unwrap();
        assert!(
            next.starts_with(&format!("{list}{expected_query}&after=")),
            "{next}"
        );
        assert!(!next.contains("zzz"), "unknown parameters are not carried");
        // Following next keeps the filters on every page.
        let second = app.json(next).await;
        for link in ["first", "self", "next"] {
            if let Some(l) = second["links"][link].as_str() {
                assert!(l.contains(expected_query), "{link}: {l}");
            }
        }
    });
}

#[test]
fn lenient_spellings_give_the_same_result() {
    each_backend(true, |app| async move {
        let list = papers_url(&app).await;
        let spellings = [
            "2026-06-01T12:00:00%2B02:00",
            "2026-06-01T12%3A00%3A00%2B02%3A00",
            "2026-06-01T12:00:00+02:00", // + decoded as a space
            "2026-06-01T10:00:00Z",
            "2026-06-01T10:00:00.000Z",
            "2026-06-01T09:00:00-01:00",
        ];
        let mut results = Vec::new();
        for s in spellings {
            let page = app
                .json(&format!("{list}?modified_since={s}&limit=1000"))
                .await;
            results.push(ids(page["data"].as_array().unwrap()));
        }
        assert!(!results[0].is_empty());
        assert!(
            results.iter().all(|r| *r == results[0]),
            "[{}] spellings disagree",
            app.label()
        );
    });
}

#[test]
fn malformed_filter_values_are_a_400_error_object() {
    each_backend(true, |app| async move {
        let list = papers_url(&app).await;
        for (param, value) in [
            ("modified_since", "gestern"),
            ("created_since", "2026-01-01"),
            ("created_until", "2026-13-01T00:00:00Z"),
            ("modified_until", "%27%3B%20DROP%20TABLE%20object%3B--"),
            ("modified_since", "2026-01-01T00:00:00"),
            ("after", "abc"),
            ("omit_internal", "ja"),
        ] {
            let answer = app.get(&format!("{list}?{param}={value}")).await;
            assert_eq!(answer.status, 400, "[{}] {param}={value}", app.label());
            let error = answer.json();
            assert_eq!(error["type"], "https://schema.oparl.org/1.1/Error");
            assert!(
                error["debug"].as_str().unwrap().contains(param),
                "the error names {param}"
            );
            assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
        }
    });
}
