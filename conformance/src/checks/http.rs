//! Error answers: an unknown URL is a 404 with the Error object (66), a
//! malformed filter a 4xx with the Error object (44).

use crate::Ctx;
use serde_json::Value;

pub async fn check_errors(ctx: &Ctx, system_url: &str, bodies: &[Value]) {
    let unknown = format!(
        "{}/oparl-check-unknown-resource-4711",
        system_url.trim_end_matches('/')
    );
    expect_error(ctx, &unknown, 66, |status| status == 404).await;
    let mut lists: Vec<String> = Vec::new();
    for body in bodies {
        if let Some(papers) = body["paper"].as_str() {
            lists.push(papers.to_string());
        }
    }
    for list in lists.iter().take(1) {
        let sep = if list.contains('?') { '&' } else { '?' };
        for (name, value) in [
            ("modified_since", "gestern"),
            ("created_until", "2020-13-45T99:00:00%2B01:00"),
        ] {
            let url = format!("{list}{sep}{name}={value}");
            expect_error(ctx, &url, 44, |status| (400..500).contains(&status)).await;
        }
    }
}

async fn expect_error(ctx: &Ctx, url: &str, rule: u32, status_ok: impl Fn(u16) -> bool) {
    let Ok(answer) = ctx.fetcher.get(url, &[]).await else {
        ctx.add(rule, url, "", "no answer");
        return;
    };
    if !status_ok(answer.status) {
        ctx.add(rule, url, "", format!("answered {}", answer.status));
    }
    match ctx.fetcher.check_json_answer(&answer) {
        Some(v) if crate::schema::is_error_object(&v) => {}
        Some(_) => ctx.add(
            rule,
            url,
            "",
            "the answer is JSON but not the OParl Error object",
        ),
        None => ctx.add(rule, url, "", "the answer is not the OParl Error object"),
    }
}
