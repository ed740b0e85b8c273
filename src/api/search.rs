//! `GET {base}/search`, this server's full-text search (issue 12): an
//! OParl list page (spec §2.5) of the standalone objects that match, each
//! with `server:score` (its relevance; higher is better) and
//! `server:snippet` (a piece of its text with the words found in
//! `<mark>…</mark>`, HTML-escaped), and `pagination.totalElements`.
//!
//! Query: `q` (the query, see `search::query`), `type` (type names,
//! comma-separated: Paper, Meeting, AgendaItem, File, Person,
//! Organization), `body` and `organization` (numbers of our objects),
//! `created_since`/`_until`, `modified_since`/`_until` (as in lists),
//! `date_since`/`date_until` (a date or date-time, on Paper.date,
//! Meeting.start, File.date), `sort` (`relevance` or `date`), `limit`, and
//! the cursor `after` that `links.next` carries (`format` is taken out
//! before, by `api::negotiate`). Without `q` (the URL the
//! System and each Body advertise as `server:search`) the page is empty. Any other parameter, a
//! repeated one or a malformed value is a 400 with the Error object.

use super::error::ApiError;
use super::http_cache::{Conditions, Tag};
use super::{rendered, AppState, Outcome, Rendering};
use crate::db::AnyConnection;
use crate::model::Kind;
use crate::search::document::{self, parse_date, SEARCHED};
use crate::search::find::{self, Cursor, Filter, Sort};
use crate::search::query::Query;
use crate::search::snippet;
use crate::store::read;
use crate::time::{format_datetime, parse_filter};
use serde_json::json;
use std::collections::HashMap;
use url::form_urlencoded;

/// `server:score` on each hit.
pub const SCORE_PROPERTY: &str = "server:score";
/// `server:snippet` on each hit.
pub const SNIPPET_PROPERTY: &str = "server:snippet";
/// Default page size of the search (a page of a result list, not a
/// harvest).
const DEFAULT_LIMIT: i64 = 20;

/// A parsed search request.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    /// None: the search's entry point as the System and each Body
    /// advertise it (`server:search`), an empty page.
    pub q: Option<String>,
    pub query: Option<Query>,
    pub filter: Filter,
    pub sort: Sort,
    pub limit: Option<i64>,
    pub after: Option<Cursor>,
}

impl SearchQuery {
    pub fn parse(raw: Option<&str>) -> Result<SearchQuery, ApiError> {
        let mut q = None;
        let mut filter = Filter::default();
        let mut sort = Sort::default();
        let mut limit = None;
        let mut after_text = None;
        let mut seen: Vec<String> = Vec::new();
        for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            if seen.iter().any(|k| *k == key) {
                return Err(ApiError::bad_parameter(&key, "given more than once"));
            }
            seen.push(key.to_string());
            let time = || parse_filter(&value).map_err(|e| ApiError::bad_parameter(&key, e));
            let date = || {
                parse_date(&value).ok_or_else(|| {
                    ApiError::bad_parameter(
                        &key,
                        format!("`{value}` is neither a date such as 2026-03-01 nor a date-time"),
                    )
                })
            };
            match key.as_ref() {
                "q" => q = Some(value.to_string()),
                "type" => filter.kinds = kinds(&value)?,
                "body" => filter.body = Some(number(&key, &value)?),
                "organization" => filter.organization = Some(number(&key, &value)?),
                "created_since" => filter.created_since = Some(time()?),
                "created_until" => filter.created_until = Some(time()?),
                "modified_since" => filter.modified_since = Some(time()?),
                "modified_until" => filter.modified_until = Some(time()?),
                "date_since" => filter.date_since = Some(date()?),
                // A date alone includes its whole day.
                "date_until" => {
                    let end_of_day = if value.len() == 10 { 86_399 } else { 0 };
                    filter.date_until = Some(date()? + end_of_day);
                }
                "sort" => {
                    sort = match value.as_ref() {
                        "relevance" => Sort::Relevance,
                        "date" => Sort::Date,
                        _ => {
                            return Err(ApiError::bad_parameter(
                                "sort",
                                format!("`{value}` is neither relevance nor date"),
                            ))
                        }
                    }
                }
                "limit" => limit = Some(super::query::parse_limit(&value)?),
                "after" => after_text = Some(value.to_string()),
                other => {
                    return Err(ApiError::bad_parameter(
                        other,
                        "not a parameter of the search (q, type, body, organization, \
                         created_since, created_until, modified_since, modified_until, \
                         date_since, date_until, sort, limit, after)",
                    ))
                }
            }
        }
        let query = q
            .as_deref()
            .map(Query::parse)
            .transpose()
            .map_err(|e| ApiError::bad_parameter("q", e.0))?;
        let after = after_text
            .map(|text| parse_cursor(&text, sort))
            .transpose()?;
        Ok(SearchQuery {
            q,
            query,
            filter,
            sort,
            limit,
            after,
        })
    }

    fn page_size(&self) -> i64 {
        self.limit.unwrap_or(DEFAULT_LIMIT)
    }

    /// The canonical query string with this cursor: every parameter in
    /// force, in one fixed order.
    fn to_query_string(&self, after: Option<Cursor>) -> String {
        let f = &self.filter;
        let mut out = form_urlencoded::Serializer::for_suffix(String::from("?"), 1);
        if let Some(q) = &self.q {
            out.append_pair("q", q);
        }
        if !f.kinds.is_empty() {
            let names: Vec<&str> = f.kinds.iter().map(|k| k.name()).collect();
            out.append_pair("type", &names.join(","));
        }
        if let Some(body) = f.body {
            out.append_pair("body", &body.to_string());
        }
        if let Some(org) = f.organization {
            out.append_pair("organization", &org.to_string());
        }
        let times = [
            ("created_since", f.created_since),
            ("created_until", f.created_until),
            ("modified_since", f.modified_since),
            ("modified_until", f.modified_until),
            ("date_since", f.date_since),
            ("date_until", f.date_until),
        ];
        for (name, value) in times {
            if let Some(t) = value {
                out.append_pair(name, &format_datetime(t));
            }
        }
        if self.sort == Sort::Date {
            out.append_pair("sort", "date");
        }
        if let Some(limit) = self.limit {
            out.append_pair("limit", &limit.to_string());
        }
        if let Some(after) = after {
            out.append_pair("after", &cursor_text(after));
        }
        let text = out.finish();
        if text == "?" {
            String::new()
        } else {
            text
        }
    }
}

fn kinds(value: &str) -> Result<Vec<Kind>, ApiError> {
    let mut out = Vec::new();
    for name in value.split(',').map(str::trim) {
        let kind = SEARCHED
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| {
                ApiError::bad_parameter(
                    "type",
                    format!(
                        "`{name}` is not a type the search finds \
                         (Paper, Meeting, AgendaItem, File, Person, Organization)"
                    ),
                )
            })?;
        if !out.contains(&kind) {
            out.push(kind);
        }
    }
    out.sort();
    Ok(out)
}

fn number(key: &str, value: &str) -> Result<i64, ApiError> {
    value
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 1 && value.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            ApiError::bad_parameter(key, format!("`{value}` is not the number of an object"))
        })
}

/// `s<score>_<pk>` or `d<date>_<pk>`: the sort key of the last hit shown.
fn cursor_text(c: Cursor) -> String {
    match c {
        Cursor::Score(s, pk) => format!("s{s}_{pk}"),
        Cursor::Date(d, pk) => format!("d{d}_{pk}"),
    }
}

fn parse_cursor(text: &str, sort: Sort) -> Result<Cursor, ApiError> {
    let bad = || {
        ApiError::bad_parameter(
            "after",
            format!("`{text}` is not a cursor of this search (take links.next as it is)"),
        )
    };
    let (key, pk) = text
        .get(1..)
        .and_then(|t| t.split_once('_'))
        .ok_or_else(bad)?;
    let pk: i64 = pk.parse().map_err(|_| bad())?;
    match (text.as_bytes()[0], sort) {
        (b's', Sort::Relevance) => {
            let s: f64 = key.parse().map_err(|_| bad())?;
            if s.is_finite() {
                Ok(Cursor::Score(s, pk))
            } else {
                Err(bad())
            }
        }
        (b'd', Sort::Date) => Ok(Cursor::Date(key.parse().map_err(|_| bad())?, pk)),
        _ => Err(bad()),
    }
}

/// One page of hits.
pub(super) fn page(
    conn: &mut AnyConnection,
    state: &AppState,
    q: &SearchQuery,
    conditions: &Conditions,
) -> Result<Outcome, ApiError> {
    let urls = &state.urls;
    let size = q.page_size();
    if let Some(body) = q.filter.body {
        if read::head(conn, body)?.is_none_or(|h| h.kind() != Kind::Body) {
            return Err(ApiError::not_found(format!(
                "{}?body={body}",
                urls.search()
            )));
        }
    }
    let (mut hits, total) = match &q.query {
        Some(query) => find::hits(conn, query, &q.filter, q.sort, q.after, size + 1)?,
        None => (Vec::new(), 0),
    };
    let more = hits.len() as i64 > size;
    hits.truncate(size as usize);
    let base = urls.search();
    let this_page = format!("{base}{}", q.to_query_string(q.after));
    let next = more
        .then(|| hits.last())
        .flatten()
        .map(|h| format!("{base}{}", q.to_query_string(Some(h.cursor(q.sort)))));
    let pks: Vec<i64> = hits.iter().map(|h| h.pk).collect();
    let mut rows = read::objects(conn, &pks)?;
    let position: HashMap<i64, usize> = pks.iter().enumerate().map(|(i, pk)| (*pk, i)).collect();
    rows.retain(|r| position.contains_key(&r.pk));
    rows.sort_by_key(|r| position[&r.pk]);
    let mut tag = Tag::new(urls.system().as_str())
        .add("search")
        .add(&this_page)
        .add(next.as_deref().unwrap_or(""))
        .number(total);
    for (r, h) in rows.iter().zip(&hits) {
        tag = tag
            .number(r.pk)
            .number(r.revision)
            .add(h.score.to_bits().to_be_bytes());
    }
    let etag = tag.finish();
    if conditions.fresh(&etag, None) {
        return Ok(Outcome::Fresh {
            etag,
            modified: None,
        });
    }
    let key = (etag.clone(), "identity");
    if let Some(bytes) = state.answers.get(&key) {
        return Ok(Outcome::Body {
            bytes,
            etag,
            modified: None,
        });
    }
    let heads: Vec<_> = rows.iter().map(|r| r.head()).collect();
    let docs: HashMap<i64, document::Document> = document::documents(conn, &rows)?
        .into_iter()
        .map(|d| (d.pk, d))
        .collect();
    let objects = rendered(conn, state, &heads, false, Rendering::Full)?
        .expect("a full rendering always answers");
    let shown = q.query.as_ref().map(Query::shown).unwrap_or_default();
    let scores: HashMap<i64, f64> = hits.iter().map(|h| (h.pk, h.score)).collect();
    let links = super::page_links(
        format!("{base}{}", q.to_query_string(None)),
        this_page,
        next,
    );
    let tail = json!({
        "pagination": { "totalElements": total, "elementsPerPage": size },
        "links": links,
    });
    let entries: Vec<Vec<u8>> = objects
        .iter()
        .zip(&heads)
        .map(|(object, head)| {
            let mut extra = serde_json::Map::new();
            extra.insert(SCORE_PROPERTY.into(), json!(scores[&head.pk]));
            if let Some(s) = docs.get(&head.pk).and_then(|d| snippet::snippet(d, &shown)) {
                extra.insert(SNIPPET_PROPERTY.into(), s.into());
            }
            let extra = serde_json::to_vec(&extra).expect("a JSON value always serialises");
            let open = object.strip_suffix(b"}").unwrap_or(object);
            [open, b",", &extra[1..]].concat()
        })
        .collect();
    let bytes = super::page_bytes(&entries, &tail);
    state.answers.put(key, bytes.clone());
    Ok(Outcome::Body {
        bytes,
        etag,
        modified: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_parse_and_print_canonically() {
        let q = SearchQuery::parse(Some(
            "q=Radweg&type=Paper,Meeting&date_since=2026-01-01&sort=date&limit=5&body=3",
        ))
        .unwrap();
        assert_eq!(q.filter.kinds, vec![Kind::Meeting, Kind::Paper]);
        assert_eq!(
            q.to_query_string(Some(Cursor::Date(7, 42))),
            "?q=Radweg&type=Meeting%2CPaper&body=3&date_since=2026-01-01T00%3A00%3A00%2B00%3A00&sort=date&limit=5&after=d7_42"
        );
        let again =
            SearchQuery::parse(Some(&q.to_query_string(Some(Cursor::Date(7, 42)))[1..])).unwrap();
        assert_eq!(again.after, Some(Cursor::Date(7, 42)));
        assert_eq!(SearchQuery::parse(None).unwrap().to_query_string(None), "");
        for bad in [
            "q=",
            "q=a&q=b",
            "q=a&type=Body",
            "q=a&sort=name",
            "q=a&after=s1.5_2&sort=date",
            "q=a&after=x",
            "q=a&after=sNaN_1",
            "q=a&body=0",
            "q=a&foo=1",
            "q=a&date_since=gestern",
        ] {
            assert!(SearchQuery::parse(Some(bad)).is_err(), "{bad}");
        }
    }
}
