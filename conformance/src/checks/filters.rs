//! The date filters against the full walk of a list (38), kept in every link
//! (39), deleted objects only with modified_since (41), and omit_internal
//! (43).

use super::lists::{pages, Walk};
use crate::model::OMIT_INTERNAL;
use crate::rules::Level;
use crate::Ctx;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn instant(v: &Value) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(v.as_str()?)
        .ok()
        .map(|t| t.timestamp())
}

fn with_param(url: &str, name: &str, value: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{name}={encoded}")
}

/// The objects of a filtered walk: (id, deleted), after checking that every
/// link carries the filter.
async fn filtered(ctx: &Ctx, url: &str, name: &str, bound: i64) -> Option<Vec<(String, bool)>> {
    let mut out = Vec::new();
    let complete = pages(ctx, url, |page| {
        for item in &page.data {
            if let Some(id) = item["id"].as_str() {
                out.push((id.to_string(), item["deleted"] == Value::Bool(true)));
            }
        }
        if let Some(links) = page.value["links"].as_object() {
            for (rel, link) in links {
                let Some(link) = link.as_str() else { continue };
                if rel == "web" {
                    continue;
                }
                let carried = url::Url::parse(link).ok().and_then(|u| {
                    u.query_pairs()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.to_string())
                });
                let same = carried
                    .as_deref()
                    .and_then(|v| chrono::DateTime::parse_from_rfc3339(&v.replace(' ', "+")).ok())
                    .map(|t| t.timestamp())
                    == Some(bound);
                if !same {
                    ctx.add(
                        39,
                        &page.url,
                        &format!("$.links.{rel}"),
                        format!("{name} is not kept in {link}"),
                    );
                }
            }
        }
        true
    })
    .await;
    complete.then_some(out)
}

/// For each of the four filters, a bound taken from the list itself; the
/// filtered walk must give exactly what the full walk predicts.
pub async fn check_list(ctx: &Ctx, walk: &Walk, _type_name: &str) {
    if !walk.complete || walk.items.is_empty() {
        return;
    }
    let objects: Vec<(String, Option<i64>, Option<i64>)> = walk
        .items
        .iter()
        .filter_map(|i| {
            Some((
                i["id"].as_str()?.to_string(),
                instant(&i["created"]),
                instant(&i["modified"]),
            ))
        })
        .collect();
    for (name, since) in [
        ("created_since", true),
        ("created_until", false),
        ("modified_since", true),
        ("modified_until", false),
    ] {
        let created = name.starts_with("created");
        let mut values: Vec<(i64, &String)> = objects
            .iter()
            .filter_map(|(id, c, m)| Some((if created { (*c)? } else { (*m)? }, id)))
            .collect();
        if values.is_empty() {
            continue;
        }
        values.sort();
        // A bound near the end the filter keeps, so the result stays small.
        let index = if since {
            values.len() * 9 / 10
        } else {
            values.len() / 10
        };
        let (bound, pivot) = values[index.min(values.len() - 1)];
        let expected: BTreeSet<&String> = values
            .iter()
            .filter(|(t, _)| if since { *t >= bound } else { *t <= bound })
            .map(|(_, id)| *id)
            .collect();
        let value = chrono::DateTime::from_timestamp(bound, 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
        let url = with_param(&walk.url, name, &value);
        let Some(got) = filtered(ctx, &url, name, bound).await else {
            continue;
        };
        let live: BTreeSet<&String> = got.iter().filter(|(_, d)| !d).map(|(id, _)| id).collect();
        if name != "modified_since" {
            if let Some((id, _)) = got.iter().find(|(_, d)| *d) {
                ctx.add(
                    41,
                    &url,
                    "",
                    format!("{id} is deleted and listed without modified_since"),
                );
            }
        }
        if !live.contains(pivot) {
            ctx.add(38, &url, "", format!("{pivot} has {} at the bound {value} but is missing: the bound must be inclusive", if created { "created" } else { "modified" }));
        }
        let missing = expected.difference(&live).count();
        let extra: Vec<&&String> = live.difference(&expected).collect();
        if missing > 0 || !extra.is_empty() {
            ctx.add(
                38,
                &url,
                "",
                format!(
                    "{missing} matching objects missing, {} not matching listed (e.g. {:?})",
                    extra.len(),
                    extra.first()
                ),
            );
        }
    }
    omit_internal(ctx, walk).await;
}

/// The first page with omit_internal=true drops exactly the listed
/// attributes and changes nothing else (43).
async fn omit_internal(ctx: &Ctx, walk: &Walk) {
    let url = with_param(&walk.url, "omit_internal", "true");
    let Some(page) = ctx.fetcher.json(&url).await else {
        return;
    };
    let full: BTreeMap<&str, &Value> = walk
        .items
        .iter()
        .filter_map(|i| Some((i["id"].as_str()?, i)))
        .collect();
    for (i, lean) in page["data"].as_array().into_iter().flatten().enumerate() {
        let Some(f) = lean["id"].as_str().and_then(|id| full.get(id)) else {
            continue;
        };
        let type_name = lean["type"]
            .as_str()
            .and_then(|t| t.rsplit('/').next())
            .unwrap_or("");
        let (Some(f), Some(l)) = (f.as_object(), lean.as_object()) else {
            continue;
        };
        let path = format!("$.data[{i}]");
        for key in f.keys() {
            let omittable = OMIT_INTERNAL.contains(&(type_name, key.as_str()));
            match (l.get(key), omittable) {
                (Some(_), true) => ctx.add(
                    43,
                    &url,
                    &format!("{path}.{key}"),
                    format!("{type_name}.{key} is kept with omit_internal=true"),
                ),
                (None, false) => ctx.add_at(
                    43,
                    Level::Must,
                    &url,
                    &format!("{path}.{key}"),
                    format!("{type_name}.{key} is dropped with omit_internal=true"),
                ),
                (Some(v), false) if key != "modified" && Some(v) != f.get(key) => ctx.add_at(
                    43,
                    Level::Must,
                    &url,
                    &format!("{path}.{key}"),
                    "changes with omit_internal=true",
                ),
                _ => {}
            }
        }
    }
}
