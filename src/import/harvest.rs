//! Harvesting a live OParl endpoint (1.0 or 1.1): the System, its Bodies and
//! every list a Body offers, following `next` links with loop detection;
//! lists are walked side by side (the fetcher bounds the requests in flight,
//! retries and honours Retry-After), and their pages are staged as they
//! arrive. Objects referenced but in no list are then fetched at their ids.

use super::progress::Progress;
use super::repair::Repair;
use super::report::{Place, Report};
use super::stage::{kind_of_type, source_id, Context, Stage};
use crate::model::{self, Kind, BODY_LISTS, RELS};
use oparl_conformance::fetch::Fetcher;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::mpsc;

/// What the walk found besides the objects.
#[derive(Debug, Default)]
pub struct Walked {
    /// Kinds whose every list was read to its end; only these may be
    /// checked for objects that vanished at the source.
    pub complete_kinds: HashSet<Kind>,
    /// Every list was read to its end.
    pub complete: bool,
}

/// One page of a list, on its way from a walker to the stage.
struct Page {
    url: String,
    items: Vec<Value>,
    kind: Kind,
    body: Option<String>,
    unfiltered: bool,
}

/// How a list walk ended.
enum ListEnd {
    Done,
    Failed(Place, String),
    Looped(Place),
    FilterRefused(Place, String),
}

/// GET a URL and parse its JSON; anything else is an error that says what
/// came back.
pub async fn fetch_json(fetcher: &Fetcher, url: &str) -> Result<Value, String> {
    let answer = fetcher.get(url, &[]).await?;
    let body = answer
        .body
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&answer.body);
    let parsed: Result<Value, _> = serde_json::from_slice(body);
    if answer.status != 200 {
        let what = match &parsed {
            Ok(v) => v
                .get("message")
                .and_then(Value::as_str)
                .map(|m| format!(": {m}"))
                .unwrap_or_default(),
            Err(_) => format!(
                " ({})",
                answer.header("content-type").unwrap_or("no Content-Type")
            ),
        };
        return Err(format!("{url}: HTTP {}{what}", answer.status));
    }
    parsed.map_err(|e| format!("{url}: not JSON: {e}"))
}

/// Walk the endpoint whose System (fetched by the caller) is at
/// `system_url` into `stage`. `since` asks every list for `modified_since`
/// (an incremental run). A System that is not an OParl System is an error.
pub async fn harvest(
    fetcher: Arc<Fetcher>,
    system_url: &str,
    system: Value,
    since: Option<i64>,
    stage: &mut Stage,
    report: &mut Report,
    progress: &mut Progress,
) -> Result<Walked, String> {
    let is_system = system
        .get("type")
        .and_then(Value::as_str)
        .and_then(kind_of_type)
        == Some(Kind::System);
    if !is_system {
        return Err(format!(
            "{system_url}: not an OParl System (type {})",
            system
                .get("type")
                .map(Value::to_string)
                .unwrap_or("missing".into())
        ));
    }
    let Some(bodies_url) = system.get("body").and_then(Value::as_str) else {
        return Err(format!("{system_url}: the System has no body list"));
    };
    let mut walked = Walked {
        complete: true,
        ..Walked::default()
    };
    let (tx, mut rx) = mpsc::channel::<Page>(16);
    let mut ends = Vec::new();
    let mut lists: Vec<(String, Kind, Option<String>)> = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    // The Bodies first: the other lists are only known from them, and are
    // started as each Body page is staged. The Body list is always read
    // whole (it is short, and an unchanged Body names the lists that hold
    // the changes); unchanged Bodies are then skipped by their fingerprint.
    tasks.spawn(walk_list(
        Arc::clone(&fetcher),
        bodies_url.to_string(),
        Kind::Body,
        None,
        None,
        tx.clone(),
    ));
    loop {
        tokio::select! {
            Some(page) = rx.recv() => {
                stage_page(page, stage, report, &mut lists, progress);
            }
            Some(end) = tasks.join_next() => {
                ends.push(end.map_err(|e| format!("internal error while reading lists: {e}"))?);
            }
        }
        if tasks.is_empty() {
            // A walker sends its pages before it ends: what it sent is
            // waiting here and may name more lists.
            while let Ok(page) = rx.try_recv() {
                stage_page(page, stage, report, &mut lists, progress);
            }
        }
        for (url, kind, body) in lists.drain(..) {
            tasks.spawn(walk_list(
                Arc::clone(&fetcher),
                url,
                kind,
                body,
                since,
                tx.clone(),
            ));
        }
        if tasks.is_empty() {
            break;
        }
    }
    let mut incomplete = HashSet::new();
    let mut seen_kinds = HashSet::new();
    for (kind, end) in ends {
        seen_kinds.insert(kind);
        match end {
            ListEnd::Done => {}
            ListEnd::Looped(place) => {
                report.skip(&place, "the next links loop; the list was read up to here");
                incomplete.insert(kind);
            }
            ListEnd::Failed(place, why) => {
                report.skip(&place, why);
                incomplete.insert(kind);
            }
            ListEnd::FilterRefused(place, why) => {
                report.repair(Repair::FilterUnsupported, &place, why);
            }
        }
    }
    walked.complete = incomplete.is_empty();
    walked.complete_kinds = seen_kinds.difference(&incomplete).copied().collect();
    // Embedded kinds arrive with their parents.
    for (parent, child) in [
        (Kind::Body, Kind::LegislativeTerm),
        (Kind::Person, Kind::Membership),
        (Kind::Meeting, Kind::AgendaItem),
        (Kind::Paper, Kind::Consultation),
    ] {
        if walked.complete_kinds.contains(&parent) && !incomplete.contains(&child) {
            walked.complete_kinds.insert(child);
        }
    }
    Ok(walked)
}

/// Stage one page's items, and note the lists of every Body on it.
fn stage_page(
    page: Page,
    stage: &mut Stage,
    report: &mut Report,
    lists: &mut Vec<(String, Kind, Option<String>)>,
    progress: &mut Progress,
) {
    let place = Place::new(&page.url, None);
    for (i, item) in page.items.into_iter().enumerate() {
        if page.kind == Kind::Body {
            for (field, kind) in BODY_LISTS {
                if let Some(url) = item.get(field).and_then(Value::as_str) {
                    let body = item.get("id").and_then(Value::as_str).map(source_id);
                    lists.push((url.to_string(), kind, body));
                }
            }
        }
        let ctx = Context {
            kind: Some(page.kind),
            body: page.body.as_deref(),
            unfiltered_list: page.unfiltered,
            parent_times: None,
            parent: None,
        };
        stage.add(
            item,
            ctx,
            &place.child("data").child(format!("[{i}]")),
            report,
        );
    }
    progress.tick(stage.len(), &page.url);
}

/// Walk one list from its first page, sending every page to the stage.
async fn walk_list(
    fetcher: Arc<Fetcher>,
    first: String,
    kind: Kind,
    body: Option<String>,
    since: Option<i64>,
    tx: mpsc::Sender<Page>,
) -> (Kind, ListEnd) {
    let mut unfiltered = since.is_none();
    let mut url = match since {
        Some(t) => with_modified_since(&first, t),
        None => first.clone(),
    };
    let mut refused = None;
    let mut seen_urls = HashSet::new();
    let mut seen_ids: HashSet<String> = HashSet::new();
    loop {
        let place = Place::new(&url, None);
        if !seen_urls.insert(url.clone()) {
            return (kind, ListEnd::Looped(place));
        }
        let page = match fetch_json(&fetcher, &url).await {
            Ok(page) => page,
            Err(e) if !unfiltered && seen_urls.len() == 1 => {
                // The endpoint does not answer modified_since: read it all.
                refused = Some((place, e));
                unfiltered = true;
                url = first.clone();
                seen_urls.clear();
                continue;
            }
            Err(e) => return (kind, ListEnd::Failed(place, e)),
        };
        let Some(items) = page.get("data").and_then(Value::as_array) else {
            return (
                kind,
                ListEnd::Failed(place, format!("{url}: not a list page (no data array)")),
            );
        };
        let ids: Vec<String> = items
            .iter()
            .filter_map(|i| i.get("id").and_then(Value::as_str).map(source_id))
            .collect();
        // A server that answers the same page for every page number.
        if !ids.is_empty() && ids.iter().all(|id| seen_ids.contains(id)) {
            return (kind, ListEnd::Looped(place));
        }
        seen_ids.extend(ids);
        let next = page
            .get("links")
            .and_then(|l| l.get("next"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let Value::Object(mut page) = page else {
            unreachable!("a page with data is an object")
        };
        let Some(Value::Array(items)) = page.remove("data") else {
            unreachable!("checked above")
        };
        let sent = tx
            .send(Page {
                url: url.clone(),
                items,
                kind,
                body: body.clone(),
                unfiltered,
            })
            .await;
        if sent.is_err() {
            return (kind, ListEnd::Done);
        }
        match next {
            Some(next) => url = next,
            None => break,
        }
    }
    match refused {
        Some((place, why)) => (kind, ListEnd::FilterRefused(place, why)),
        None => (kind, ListEnd::Done),
    }
}

/// A list URL with `modified_since` added to whatever query it has.
fn with_modified_since(url: &str, since: i64) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.query_pairs_mut()
                .append_pair("modified_since", &crate::time::format_datetime(since));
            u.to_string()
        }
        Err(_) => url.to_string(),
    }
}

/// Answers which of these source ids the store already has.
pub type KnownIds<'a> = dyn FnMut(&[String]) -> Result<HashSet<String>, String> + 'a;

/// An object to fetch at its id: no list held it, and a staged object
/// refers to it.
struct Wanted {
    sid: String,
    url: String,
    kind: Kind,
    /// The Body of the object that refers to it.
    body: Option<String>,
    /// Where a required reference (`model::REQUIRED_REFS`) names it.
    required_by: Option<Place>,
}

/// Fetch, at their ids, the objects that no list held and the store does
/// not know (`known` answers that) but that staged objects refer to: the
/// targets of their links, and the parents their required back-references
/// name (a Consultation's `paper`, which embeds it), for a few rounds since
/// fetched objects may point further. What cannot be fetched stays
/// unresolved; `apply` reports those references (and keeps the required
/// ones pointing at the source).
pub async fn fetch_unlisted(
    fetcher: &Arc<Fetcher>,
    scheme: &str,
    stage: &mut Stage,
    report: &mut Report,
    known: &mut KnownIds<'_>,
) -> Result<(), String> {
    let mut tried: HashSet<String> = HashSet::new();
    for _round in 0..3 {
        let mut wanted: Vec<Wanted> = Vec::new();
        for s in &stage.objects {
            let required_by = |name: &str| {
                let named = model::required_refs(s.kind).any(|r| r.name == name);
                named.then(|| s.place.child(name))
            };
            for l in &s.links {
                if !stage.contains(&l.to) && tried.insert(l.to.clone()) {
                    let rel = &RELS[l.field as usize];
                    wanted.push(Wanted {
                        sid: l.to.clone(),
                        url: format!("{scheme}://{}", l.to),
                        kind: rel.target,
                        body: s.body.clone(),
                        required_by: required_by(rel.name),
                    });
                }
            }
            for r in model::required_refs(s.kind).filter(|r| r.is_back_reference()) {
                let Some((_, url)) = s.required.iter().find(|(name, _)| *name == r.name) else {
                    continue;
                };
                let sid = source_id(url);
                if !stage.contains(&sid) && tried.insert(sid.clone()) {
                    wanted.push(Wanted {
                        sid,
                        url: url.clone(),
                        kind: RELS[r.rel as usize].owner,
                        body: s.body.clone(),
                        required_by: Some(s.place.child(r.name)),
                    });
                }
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let sids: Vec<String> = wanted.iter().map(|w| w.sid.clone()).collect();
        let in_store = known(&sids)?;
        wanted.retain(|w| !in_store.contains(&w.sid));
        let mut tasks = tokio::task::JoinSet::new();
        for w in wanted {
            let fetcher = Arc::clone(fetcher);
            tasks.spawn(async move {
                let got = fetch_json(&fetcher, &w.url).await;
                (w, got)
            });
        }
        while let Some(done) = tasks.join_next().await {
            let (w, got) =
                done.map_err(|e| format!("internal error while fetching objects: {e}"))?;
            // A failure is not reported here: apply reports the unresolved
            // reference with the object that holds it.
            if let Ok(value) = got {
                let ctx = Context {
                    kind: Some(w.kind),
                    body: w.body.as_deref(),
                    unfiltered_list: false,
                    parent_times: None,
                    parent: None,
                };
                let place = Place::new(&w.url, None);
                // A deleted object is in no unfiltered list by right.
                let live = value.get("deleted") != Some(&Value::Bool(true));
                if stage.add(value, ctx, &place, report).is_some() && live {
                    if let Some(at) = &w.required_by {
                        report.repair(Repair::RequiredReferenceFetched, at, &w.url);
                    }
                }
            }
        }
    }
    Ok(())
}
