//! The checks, by what they look at.

pub mod files;
pub mod filters;
pub mod http;
pub mod lists;
pub mod objects;

use crate::Ctx;
use serde_json::Value;
use std::sync::Arc;

/// Walk the two lists of every Organization of a Body.
pub async fn organization_lists(ctx: &Arc<Ctx>, body: &Value) {
    let body_id = body["id"].as_str().map(str::to_string);
    let orgs: Vec<Value> = {
        let c = ctx.collected.lock().unwrap();
        c.standalone
            .values()
            .filter(|s| s.type_name == "Organization" && s.body == body_id)
            .map(|s| s.value.clone())
            .collect()
    };
    let mut tasks = tokio::task::JoinSet::new();
    for org in orgs {
        for (attribute, type_name) in [("meeting", "Meeting"), ("consultation", "Consultation")] {
            if let Some(url) = org[attribute].as_str() {
                let (ctx, url) = (Arc::clone(ctx), url.to_string());
                tasks.spawn(async move {
                    lists::walk(&ctx, &url, type_name, false).await;
                });
            }
        }
    }
    while let Some(done) = tasks.join_next().await {
        ctx.joined(done, "walking an Organization's list");
    }
}
