//! The JSON rules of spec §2.4 over everything the demo serves, tombstones
//! included: no nulls, no empty strings, no empty optional arrays, dates and
//! date-times in the exact OParl forms, GeoJSON Features in lon/lat order,
//! and AgendaItem.order equal to the index.

use crate::support::*;
use oparl::model::BODY_LISTS;
use oparl::time::{is_date, is_datetime};
use serde_json::Value;

fn check(value: &Value, path: &str, problems: &mut Vec<String>) {
    match value {
        Value::Null => problems.push(format!("{path}: null")),
        Value::String(s) if s.trim().is_empty() => problems.push(format!("{path}: empty string")),
        Value::Array(items) => {
            if items.is_empty() && !path.ends_with(".legislativeTerm") {
                problems.push(format!("{path}: empty array"));
            }
            for (i, item) in items.iter().enumerate() {
                check(item, &format!("{path}[{i}]"), problems);
            }
        }
        Value::Object(map) => {
            for (key, v) in map {
                let here = format!("{path}.{key}");
                if key == "geojson" {
                    check_geojson(v, &here, problems);
                    continue;
                }
                let text = v.as_str().unwrap_or("");
                match key.as_str() {
                    "created" | "modified" | "start" | "end" | "licenseValidSince"
                    | "oparlSince"
                        if !is_datetime(text) =>
                    {
                        problems.push(format!("{here}: `{text}` is not yyyy-mm-ddThh:mm:ss±hh:mm"))
                    }
                    "startDate" | "endDate" | "date" if !is_date(text) => {
                        problems.push(format!("{here}: `{text}` is not yyyy-mm-dd"))
                    }
                    "agendaItem" if v.get(0).is_some_and(Value::is_object) => {
                        for (i, item) in v.as_array().unwrap().iter().enumerate() {
                            if item["order"] != i {
                                problems.push(format!("{here}[{i}].order is {}", item["order"]));
                            }
                        }
                    }
                    _ => {}
                }
                check(v, &here, problems);
            }
        }
        _ => {}
    }
}

fn check_geojson(v: &Value, path: &str, problems: &mut Vec<String>) {
    if v["type"] != "Feature" || !v["geometry"].is_object() {
        problems.push(format!("{path}: not a GeoJSON Feature"));
        return;
    }
    let c = &v["geometry"]["coordinates"];
    let (lon, lat) = (
        c[0].as_f64().unwrap_or(999.0),
        c[1].as_f64().unwrap_or(999.0),
    );
    // The demo city lies in Germany: longitude 5..16, latitude 47..56.
    if !(5.0..16.0).contains(&lon) || !(47.0..56.0).contains(&lat) {
        problems.push(format!(
            "{path}: coordinates [{lon}, {lat}] are not [longitude, latitude]"
        ));
    }
}

#[test]
fn everything_served_follows_the_json_rules() {
    each_backend(true, |app| async move {
        let system = app.json(BASE).await;
        let mut problems = Vec::new();
        check(&system, "System", &mut problems);
        let since = enc("1970-01-01T00:00:00+00:00");
        for body in app.walk(system["body"].as_str().unwrap()).await {
            check(&body, "Body", &mut problems);
            for (field, _) in BODY_LISTS {
                let url = format!(
                    "{}?limit=1000&modified_since={since}",
                    body[field].as_str().unwrap()
                );
                for (i, item) in app.walk(&url).await.iter().enumerate() {
                    check(item, &format!("{field}[{i}]"), &mut problems);
                }
            }
        }
        problems.truncate(20);
        assert!(problems.is_empty(), "[{}] {problems:#?}", app.label());
    });
}

#[test]
fn json_answers_carry_cors_and_content_type() {
    each_backend(true, |app| async move {
        let system = app.json(BASE).await;
        for url in [
            BASE.to_string(),
            system["body"].as_str().unwrap().to_string(),
            format!("{BASE}/paper/999999999"),
            format!("{BASE}/body?limit=x"),
        ] {
            let answer = app.get(&url).await;
            assert_eq!(
                answer.header("content-type"),
                Some("application/json; charset=utf-8"),
                "{url}"
            );
            assert_eq!(
                answer.header("access-control-allow-origin"),
                Some("*"),
                "{url}"
            );
            assert!(answer.header("access-control-allow-methods").is_none());
            assert!(!answer.body.starts_with(&[0xEF, 0xBB, 0xBF]), "no BOM");
        }
    });
}
