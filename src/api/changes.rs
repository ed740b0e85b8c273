//! The change feed, this server's extension of OParl: `GET {base}/changes`
//! lists every object that changed after a revision, in revision order,
//! across all Bodies and kinds, each in its standalone form (tombstones
//! included) with its revision as `server:revision`.
//!
//! Why it never misses a change: every change is one revision, writers
//! commit in revision order (`store::write::change`), and a page is read up
//! to the store's revision at the moment it is asked (`server:revision` of
//! the page), so it holds every object of every revision up to that one and
//! nothing of a later one. A harvester that keeps the page's
//! `server:revision` once no `next` is left, and asks `after` it the next
//! time, sees every change exactly once, whatever the clocks or the
//! source's `modified` say. An object changed several times between two
//! polls appears once, at its last revision.
//!
//! Query: `after` (a revision; none = from the beginning), `after_pk` (the
//! cursor inside a revision, as `links.next` carries it), `body` (a Body's
//! number), `type` (type names, comma-separated), `limit` (1 to 1000).

use super::error::ApiError;
use super::http_cache::{Conditions, Tag};
use super::{rendered_from, AppState, Outcome, Rendering};
use crate::db::AnyConnection;
use crate::model::{self, Kind};
use crate::render;
use crate::store::read::{self, ChangeFilter};
use serde_json::json;
use url::form_urlencoded;

/// A parsed feed query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangesQuery {
    pub after: Option<i64>,
    pub after_pk: Option<i64>,
    pub body: Option<i64>,
    pub kinds: Vec<Kind>,
    pub limit: Option<i64>,
}

impl ChangesQuery {
    /// Parse a raw query string. Unknown parameters are ignored; a known one
    /// with a malformed value, or given twice, is an error naming it.
    pub fn parse(raw: Option<&str>) -> Result<ChangesQuery, ApiError> {
        let mut q = ChangesQuery::default();
        let mut seen: Vec<String> = Vec::new();
        for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            if !matches!(
                key.as_ref(),
                "after" | "after_pk" | "body" | "type" | "limit"
            ) {
                continue;
            }
            if seen.iter().any(|k| *k == key) {
                return Err(ApiError::bad_parameter(&key, "given more than once"));
            }
            seen.push(key.to_string());
            match key.as_ref() {
                "after" => q.after = Some(number(&key, &value, 0)?),
                "after_pk" => q.after_pk = Some(number(&key, &value, 0)?),
                "body" => q.body = Some(number(&key, &value, 1)?),
                "limit" => q.limit = Some(super::query::parse_limit(&value)?),
                _ => {
                    for name in value.split(',').map(str::trim) {
                        let kind = Kind::ALL
                            .into_iter()
                            .find(|k| k.name() == name)
                            .ok_or_else(|| {
                                ApiError::bad_parameter(
                                    "type",
                                    format!("`{name}` is not an OParl type name such as Paper"),
                                )
                            })?;
                        if !q.kinds.contains(&kind) {
                            q.kinds.push(kind);
                        }
                    }
                }
            }
        }
        if q.after_pk.is_some() && q.after.is_none() {
            return Err(ApiError::bad_parameter(
                "after_pk",
                "only together with after",
            ));
        }
        // One canonical order, so that equal queries have equal links.
        q.kinds.sort();
        Ok(q)
    }

    fn page_size(&self) -> i64 {
        self.limit.unwrap_or(super::query::DEFAULT_LIMIT)
    }

    /// The canonical query string with this cursor, empty or starting with
    /// `?`: after, after_pk, body, type, limit.
    fn to_query_string(&self, cursor: Option<(i64, Option<i64>)>) -> String {
        let mut out = form_urlencoded::Serializer::for_suffix(String::from("?"), 1);
        let mut any = false;
        let mut pair = |name: &str, value: &str| {
            out.append_pair(name, value);
            any = true;
        };
        if let Some((after, pk)) = cursor {
            pair("after", &after.to_string());
            if let Some(pk) = pk {
                pair("after_pk", &pk.to_string());
            }
        }
        if let Some(body) = self.body {
            pair("body", &body.to_string());
        }
        if !self.kinds.is_empty() {
            let names: Vec<&str> = self.kinds.iter().map(|k| k.name()).collect();
            pair("type", &names.join(","));
        }
        if let Some(limit) = self.limit {
            pair("limit", &limit.to_string());
        }
        let text = out.finish();
        if any {
            text
        } else {
            String::new()
        }
    }
}

/// A non-negative (or, with `min` 1, positive) decimal number.
fn number(key: &str, value: &str, min: i64) -> Result<i64, ApiError> {
    value
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= min && value.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| ApiError::bad_parameter(key, format!("`{value}` is not a number")))
}

/// One page of the feed.
pub(super) fn page(
    conn: &mut AnyConnection,
    state: &AppState,
    q: &ChangesQuery,
    conditions: &Conditions,
) -> Result<Outcome, ApiError> {
    let urls = &state.urls;
    if let Some(body) = q.body {
        if read::head(conn, body)?.is_none_or(|h| h.kind != Kind::Body.code()) {
            return Err(ApiError::not_found(format!(
                "{}?body={body}",
                urls.changes()
            )));
        }
    }
    // Read first: every revision up to it is committed (writers commit in
    // revision order), and nothing later is shown.
    let upto = read::revision(conn)?;
    let size = q.page_size();
    let filter = ChangeFilter {
        after: (q.after.unwrap_or(0), q.after_pk),
        upto,
        body: q.body,
        kinds: q.kinds.iter().map(|k| k.code()).collect(),
    };
    let mut rows = read::changes(conn, &filter, size + 1)?;
    let more = rows.len() as i64 > size;
    rows.truncate(size as usize);
    let feed = urls.changes();
    let cursor = q.after.map(|a| (a, q.after_pk));
    let this_page = format!("{feed}{}", q.to_query_string(cursor));
    let next = more.then(|| rows.last()).flatten().map(|last| {
        format!(
            "{feed}{}",
            q.to_query_string(Some((last.revision, Some(last.pk))))
        )
    });
    let mut tag = Tag::new(urls.system().as_str())
        .add("changes")
        .add(&this_page)
        .add(next.as_deref().unwrap_or(""))
        .number(upto);
    for r in &rows {
        tag = tag.number(r.pk).number(r.revision);
    }
    let etag = tag.finish();
    if conditions.fresh(&etag, None) {
        return Ok(Outcome::Fresh {
            etag,
            modified: None,
        });
    }
    let heads: Vec<read::ObjectHead> = rows.iter().map(|r| r.head()).collect();
    let objects = rendered_from(conn, state, &heads, false, Rendering::Full, Some(rows))?
        .expect("a full rendering always answers");
    let links = super::page_links(
        format!("{feed}{}", q.to_query_string(None)),
        this_page,
        next,
    );
    let mut tail = json!({ "pagination": { "elementsPerPage": size }, "links": links });
    tail[model::REVISION_PROPERTY] = upto.into();
    // Each cached object without its closing brace, then the feed's members
    // (`render::feed_entry`), written straight into the page.
    let entries: Vec<(&[u8], String)> = objects
        .iter()
        .zip(&heads)
        .map(|(object, head)| {
            let open = object.strip_suffix(b"}").unwrap_or(object);
            (open, render::feed_suffix(urls, head))
        })
        .collect();
    Ok(Outcome::Body {
        bytes: super::page_bytes(&entries, &tail),
        etag,
        modified: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_parse_and_print_canonically() {
        let q = ChangesQuery::parse(Some("type=Paper,Meeting&limit=5&body=3&x=1")).unwrap();
        assert_eq!(q.kinds, vec![Kind::Meeting, Kind::Paper]);
        assert_eq!(
            q.to_query_string(Some((7, Some(42)))),
            "?after=7&after_pk=42&body=3&type=Meeting%2CPaper&limit=5"
        );
        assert_eq!(ChangesQuery::parse(None).unwrap().to_query_string(None), "");
        for bad in [
            "after=-1",
            "after=x",
            "after_pk=3",
            "body=0",
            "type=Papier",
            "limit=0",
            "after=1&after=2",
        ] {
            assert!(ChangesQuery::parse(Some(bad)).is_err(), "{bad}");
        }
    }
}
