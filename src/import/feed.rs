//! Mirroring a server of this kind exactly: its System advertises the
//! change feed (`server:changes`) and the bulk dump (`server:dump`). A first
//! run loads the dump, which shows the source as of one revision, and then
//! reads the feed after that revision; later runs read only the feed after
//! the revision the last run reached (kept in `import_source`). The feed
//! lists every change in revision order, tombstones included, whatever the
//! source's clocks or `modified` say, so nothing is missed and nothing is
//! read twice, unlike the `modified_since` walk other servers need.

use super::dump::read_jsonl;
use super::harvest::fetch_json;
use super::progress::Progress;
use super::report::{Place, Report};
use super::stage::{Context, Stage};
use crate::dumps::DumpHeader;
use crate::model::{CHANGES_PROPERTY, DUMP_PROPERTY, REVISION_PROPERTY};
use oparl_conformance::fetch::{FetchOptions, Fetcher};
use serde_json::Value;
use std::collections::HashSet;

/// What a System of this kind advertises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advertised {
    pub changes: String,
    pub dump: Option<String>,
}

/// The feed and dump a System advertises, if it is a server of this kind.
pub fn advertised(system: &Value) -> Option<Advertised> {
    let url = |name: &str| {
        system
            .get(name)
            .and_then(Value::as_str)
            .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
            .map(str::to_string)
    };
    Some(Advertised {
        changes: url(CHANGES_PROPERTY)?,
        dump: url(DUMP_PROPERTY),
    })
}

/// Whether a source URL names a dump rather than a System: the path of a
/// dump of this kind (`.../dump`, `.../body/N/dump`) or a `.jsonl.gz` file.
pub fn is_dump_url(url: &str) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.ends_with("/dump") || path.ends_with(".jsonl.gz")
}

/// Download a dump of this kind and stage it; its header says where the
/// feed continues. The whole file is one document: `max_bytes` (the largest
/// document accepted) bounds each of its lines, not the file.
pub async fn read_dump(
    fetch: &FetchOptions,
    url: &str,
    max_bytes: u64,
    stage: &mut Stage,
    report: &mut Report,
    progress: &mut Progress,
) -> Result<DumpHeader, String> {
    progress.phase(&format!("downloading {url}"));
    let fetcher = Fetcher::new(&FetchOptions {
        max_body_bytes: u64::MAX,
        ..fetch.clone()
    })?;
    let answer = fetcher.get(url, &[]).await?;
    if answer.status != 200 {
        return Err(format!("{url}: HTTP {}", answer.status));
    }
    let input = Box::new(std::io::Cursor::new(answer.body));
    read_jsonl(input, url, max_bytes, stage, report, progress)?.ok_or_else(|| {
        format!("{url}: not a dump of this server (its first line is no server:Dump header)")
    })
}

/// Read the feed at `feed` after revision `after` (from its beginning with
/// None) to its end, staging every entry; returns the revision the feed
/// stood at when its last page was read, where the next run continues.
pub async fn follow(
    fetcher: &Fetcher,
    feed: &str,
    after: Option<i64>,
    stage: &mut Stage,
    report: &mut Report,
    progress: &mut Progress,
) -> Result<i64, String> {
    let separator = if feed.contains('?') { '&' } else { '?' };
    let mut url = match after {
        Some(r) => format!("{feed}{separator}after={r}&limit=1000"),
        None => format!("{feed}{separator}limit=1000"),
    };
    let mut seen = HashSet::new();
    loop {
        if !seen.insert(url.clone()) {
            return Err(format!(
                "{url}: the change feed leads back to a page it showed"
            ));
        }
        let mut page = fetch_json(fetcher, &url).await?;
        let revision = page
            .get(REVISION_PROPERTY)
            .and_then(Value::as_i64)
            .ok_or_else(|| {
                format!("{url}: not a change feed of this server (no {REVISION_PROPERTY})")
            })?;
        let Some(Value::Array(entries)) = page.get_mut("data").map(Value::take) else {
            return Err(format!("{url}: not a change feed page (no data array)"));
        };
        for (i, entry) in entries.into_iter().enumerate() {
            let place = Place::new(&url, None).child(format!("data[{i}]"));
            stage.add(entry, Context::default(), &place, report);
        }
        progress.tick(stage.len(), &url);
        match page.pointer("/links/next").and_then(Value::as_str) {
            Some(next) => url = next.to_string(),
            None => return Ok(revision),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_system_of_this_kind_is_known_by_its_feed() {
        let ours = json!({
            "server:changes": "https://ris.example/oparl/changes",
            "server:dump": "https://ris.example/oparl/dump",
        });
        assert_eq!(
            advertised(&ours),
            Some(Advertised {
                changes: "https://ris.example/oparl/changes".into(),
                dump: Some("https://ris.example/oparl/dump".into()),
            })
        );
        assert_eq!(advertised(&json!({ "name": "Vendor" })), None);
        assert_eq!(advertised(&json!({ "server:changes": "/relative" })), None);
        assert!(is_dump_url("https://ris.example/oparl/body/3/dump"));
        assert!(is_dump_url("https://ris.example/files/all.jsonl.gz?x=1"));
        assert!(!is_dump_url("https://ris.example/oparl/system"));
    }
}
