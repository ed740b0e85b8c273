//! Walking an external list: the page envelope (32), the `next` chain with
//! loop and duplicate detection (33), elementsPerPage (34), a stable order
//! on a second walk (35), pagination of long lists (36), and no deleted
//! objects without modified_since (41).

use super::objects::ObjectChecker;
use crate::schema;
use crate::{describe, Ctx};
use serde_json::Value;
use std::collections::BTreeSet;

/// What a walk found.
#[derive(Debug, Default)]
pub struct Walk {
    pub url: String,
    pub items: Vec<Value>,
    /// The walk reached the last page.
    pub complete: bool,
}

impl Walk {
    pub fn ids(&self) -> BTreeSet<String> {
        self.items
            .iter()
            .filter_map(|i| i["id"].as_str().map(str::to_string))
            .collect()
    }
}

/// One page, as a walk sees it.
pub struct Page {
    pub url: String,
    pub value: Value,
    pub data: Vec<Value>,
}

/// Follow `next` from `first` to the end, handing each page to `visit`.
/// Loops end the walk with a finding. Returns whether the end was reached.
pub async fn pages(ctx: &Ctx, first: &str, mut visit: impl FnMut(&Page) -> bool) -> bool {
    let mut visited = BTreeSet::new();
    let mut next = Some(first.to_string());
    while let Some(url) = next {
        if !visited.insert(url.clone()) {
            ctx.add(
                33,
                &url,
                "$.links.next",
                format!("the next chain of {first} loops back to {url}"),
            );
            return false;
        }
        let Some(value) = ctx.fetcher.json(&url).await else {
            return false;
        };
        schema::check_list_page(&value, &url, &mut ctx.findings.lock().unwrap());
        let Some(data) = value["data"].as_array().cloned() else {
            return false;
        };
        next = match &value["links"]["next"] {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => {
                ctx.add(
                    33,
                    &url,
                    "$.links.next",
                    format!("next is {}", describe(other)),
                );
                None
            }
        };
        let page = Page { url, value, data };
        if !visit(&page) {
            return false;
        }
        if visited.len() > 100_000 {
            ctx.add(33, first, "", "more than 100,000 pages");
            return false;
        }
    }
    true
}

/// Walk a list, checking its pages and every object in it.
pub async fn walk(ctx: &Ctx, first: &str, type_name: &str, body_list: bool) -> Walk {
    let mut walk = Walk {
        url: first.to_string(),
        ..Default::default()
    };
    let mut seen = BTreeSet::new();
    let mut per_page: Vec<(usize, Option<i64>)> = Vec::new();
    let body = if body_list { body_of(ctx, first) } else { None };
    let checker = ObjectChecker::in_body(ctx, body);
    walk.complete = pages(ctx, first, |page| {
        for (i, item) in page.data.iter().enumerate() {
            let path = format!("$.data[{i}]");
            checker.check_standalone(item, type_name, &page.url, &path);
            if item["deleted"] == Value::Bool(true) {
                ctx.add(
                    41,
                    &page.url,
                    &path,
                    "a deleted object in a list requested without modified_since",
                );
            }
            if let Some(id) = item["id"].as_str() {
                if !seen.insert(id.to_string()) {
                    ctx.add(33, &page.url, &path, format!("{id} is listed twice"));
                }
            }
            walk.items.push(item.clone());
        }
        per_page.push((
            page.data.len(),
            page.value["pagination"]["elementsPerPage"].as_i64(),
        ));
        !ctx.full()
    })
    .await;
    if walk.complete {
        let sizes: BTreeSet<i64> = per_page[..per_page.len().saturating_sub(1)]
            .iter()
            .filter_map(|(_, e)| *e)
            .collect();
        if sizes.len() > 1 {
            ctx.add(
                34,
                first,
                "$.pagination.elementsPerPage",
                format!("elementsPerPage varies: {sizes:?}"),
            );
        }
        if per_page.len() == 1 && walk.items.len() > 100 {
            ctx.add(
                36,
                first,
                "",
                format!("{} objects on one page", walk.items.len()),
            );
        }
        if body_list {
            second_walk(ctx, &walk).await;
        }
    }
    walk
}

/// The same list walked again gives the same order (rule 35).
async fn second_walk(ctx: &Ctx, first: &Walk) {
    let mut again = Vec::new();
    let complete = pages(ctx, &first.url, |page| {
        again.extend(
            page.data
                .iter()
                .filter_map(|i| i["id"].as_str().map(str::to_string)),
        );
        true
    })
    .await;
    let before: Vec<String> = first
        .items
        .iter()
        .filter_map(|i| i["id"].as_str().map(str::to_string))
        .collect();
    if complete && again != before {
        let at = before
            .iter()
            .zip(&again)
            .position(|(a, b)| a != b)
            .unwrap_or(before.len().min(again.len()));
        ctx.add(
            35,
            &first.url,
            "",
            format!("a second walk differs from the first at position {at}"),
        );
    }
}

/// The Body a Body list belongs to: the Body whose attribute names it.
fn body_of(ctx: &Ctx, list_url: &str) -> Option<String> {
    let c = ctx.collected.lock().unwrap();
    c.standalone
        .values()
        .filter(|s| s.type_name == "Body")
        .find(|s| {
            s.value
                .as_object()
                .is_some_and(|m| m.values().any(|v| v.as_str() == Some(list_url)))
        })
        .and_then(|s| s.value["id"].as_str().map(str::to_string))
}
