//! Calendars and feeds of the API's routes: what they show is loaded here
//! and rendered by `crate::ical` and `crate::atom`.
//!
//! - `text/calendar` (`?format=ics`): a Meeting; the meetings of a Body
//!   (`B/body/N/meeting`) or an Organization (`B/organization/N/meeting`)
//!   from a year ago on, for subscription.
//! - `application/atom+xml` (`?format=atom`): the newest papers of a Body
//!   (`B/body/N/paper`) or of an Organization (the papers consulted in it,
//!   `B/organization/N/consultation`), the next meetings of a Body or an
//!   Organization (`…/meeting`), and any search (`B/search?q=…`, newest
//!   first).
//!
//! Their ETags, like the pages', hash the bytes (see `api::pages`).

use super::error::ApiError;
use super::http_cache::Conditions;
use super::negotiate::Format;
use super::pages::light;
use super::route::Route;
use super::search::SearchQuery;
use super::{AppState, Outcome};
use crate::atom::{self, Entry, Feed};
use crate::db::AnyConnection;
use crate::html::{label_of, words};
use crate::ical::{self, Event};
use crate::model::{
    self, Kind, ListKind, CONSULTATION_ORGANIZATION, MEETING_ORGANIZATION, PAPER_CONSULTATION,
};
use crate::search::find::{self, Sort};
use crate::store::{read, ObjectRow};
use bytes::Bytes;
use hyper::StatusCode;
use serde_json::Value;
use std::collections::HashMap;

/// Entries in a feed.
const ENTRIES: usize = 50;
/// How far back a subscribed calendar reaches.
const CALENDAR_DAYS: i64 = 365;
/// Most events in one calendar.
const CALENDAR_EVENTS: i64 = 10_000;

/// The representations of a route besides JSON and HTML.
pub(super) fn offered(route: Route) -> &'static [Format] {
    use Format::*;
    match route {
        Route::Object(Kind::Meeting, _) => &[Json, Html, Calendar],
        Route::List(ListKind::Body(Kind::Meeting), _)
        | Route::List(ListKind::OrganizationMeetings, _) => &[Json, Html, Calendar, Atom],
        Route::List(ListKind::Body(Kind::Paper), _)
        | Route::List(ListKind::OrganizationConsultations, _)
        | Route::Search => &[Json, Html, Atom],
        Route::System | Route::Object(..) | Route::List(..) | Route::Changes => &[Json, Html],
        _ => &[Json],
    }
}

/// The calendar or feed of a route.
pub(super) fn answer(
    conn: &mut AnyConnection,
    state: &AppState,
    route: Route,
    format: Format,
    query: Option<&str>,
    conditions: &Conditions,
) -> Result<Outcome, ApiError> {
    let text = match format {
        Format::Calendar => calendar(conn, state, route)?,
        Format::Atom => feed(conn, state, route, query)?,
        other => {
            return Err(ApiError::bad_parameter(
                "format",
                format!("{} is not a feed", other.name()),
            ))
        }
    };
    Ok(Outcome::hashed(
        &state.urls,
        format,
        Bytes::from(text),
        conditions,
    ))
}

fn calendar(conn: &mut AnyConnection, state: &AppState, route: Route) -> Result<String, ApiError> {
    let urls = &state.urls;
    let since = crate::time::now() - CALENDAR_DAYS * 86_400;
    let (name, rows) = match route {
        Route::Object(Kind::Meeting, pk) => {
            let row = live(conn, state, Kind::Meeting, pk)?;
            (label_of(Kind::Meeting, &light(urls, &row)), vec![row])
        }
        Route::List(ListKind::Body(Kind::Meeting), body) => {
            let owner = live(conn, state, Kind::Body, body)?;
            let pks = find::dated(
                conn,
                Kind::Meeting,
                Some(body),
                since,
                true,
                CALENDAR_EVENTS,
            )?;
            let name = format!("Sitzungen – {}", label_of(Kind::Body, &light(urls, &owner)));
            (name, read::live_objects(conn, &pks)?)
        }
        Route::List(ListKind::OrganizationMeetings, org) => {
            let owner = live(conn, state, Kind::Organization, org)?;
            let pks = referrers(conn, org, MEETING_ORGANIZATION)?;
            let mut rows = read::live_objects(conn, &pks)?;
            rows.retain(|r| start_of(r).is_some_and(|s| s >= since));
            let name = format!(
                "Sitzungen – {}",
                label_of(Kind::Organization, &light(urls, &owner))
            );
            (name, rows)
        }
        other => return Err(ApiError::not_found(other.url(urls))),
    };
    // Where each meeting takes place: its Location's description or address.
    let location_code = model::rel(Kind::Meeting, "location").code;
    let pks: Vec<i64> = rows.iter().map(|r| r.pk).collect();
    let location_of: HashMap<i64, i64> = read::links_from(conn, &pks)?
        .into_iter()
        .filter(|l| l.field == location_code)
        .map(|l| (l.from_pk, l.to_pk))
        .collect();
    let places: HashMap<i64, String> =
        read::live_objects(conn, &location_of.values().copied().collect::<Vec<_>>())?
            .iter()
            .map(|r| (r.pk, label_of(Kind::Location, &light(urls, r))))
            .collect();
    let mut events: Vec<Event> = rows
        .iter()
        .map(|r| {
            let v = light(urls, r);
            let time = |k: &str| v.get(k).and_then(Value::as_str).and_then(parse_time);
            let url = urls.object(Kind::Meeting, r.pk);
            Event {
                // The name alone: the calendar shows the day.
                summary: v
                    .get("name")
                    .and_then(Value::as_str)
                    .filter(|n| !n.trim().is_empty())
                    .map_or_else(|| label_of(Kind::Meeting, &v), str::to_string),
                start: time("start"),
                end: time("end"),
                location: location_of
                    .get(&r.pk)
                    .and_then(|to| places.get(to).cloned()),
                description: Some(format!("Tagesordnung und Unterlagen: {url}")),
                cancelled: v.get("cancelled").and_then(Value::as_bool) == Some(true),
                sequence: r.revision,
                modified: r.modified,
                url,
            }
        })
        .collect();
    events.sort_by(|a, b| (a.start, &a.url).cmp(&(b.start, &b.url)));
    Ok(ical::calendar(&name, &events))
}

fn feed(
    conn: &mut AnyConnection,
    state: &AppState,
    route: Route,
    query: Option<&str>,
) -> Result<String, ApiError> {
    let urls = &state.urls;
    let author = read::system(conn)?
        .map(|r| label_of(Kind::System, &light(urls, &r)))
        .unwrap_or_default();
    let now = crate::time::now();
    let today = now - now.rem_euclid(86_400);
    let page = route.url(urls);
    let (title, entries) = match route {
        Route::List(ListKind::Body(kind), body) => {
            let owner = live(conn, state, Kind::Body, body)?;
            let name = label_of(Kind::Body, &light(urls, &owner));
            let (forward, from, what) = if kind == Kind::Meeting {
                (true, today, "Nächste Sitzungen")
            } else {
                (false, now, "Neueste Drucksachen")
            };
            let pks = find::dated(conn, kind, Some(body), from, forward, ENTRIES as i64)?;
            let rows = read::live_objects_in_order(conn, &pks)?;
            (format!("{what} – {name}"), entries_of(urls, kind, &rows))
        }
        Route::List(list, org) => {
            let owner = live(conn, state, Kind::Organization, org)?;
            let name = label_of(Kind::Organization, &light(urls, &owner));
            if list == ListKind::OrganizationMeetings {
                let pks = referrers(conn, org, MEETING_ORGANIZATION)?;
                let mut rows = read::live_objects(conn, &pks)?;
                rows.retain(|r| start_of(r).is_some_and(|s| s >= today));
                // Keys read once each: a row's values are JSON text.
                rows.sort_by_cached_key(start_of);
                rows.truncate(ENTRIES);
                (
                    format!("Nächste Sitzungen – {name}"),
                    entries_of(urls, Kind::Meeting, &rows),
                )
            } else {
                // The papers consulted in the Organization, newest first.
                let consultations = referrers(conn, org, CONSULTATION_ORGANIZATION)?;
                let mut papers: Vec<i64> =
                    read::links_to(conn, &consultations, &[PAPER_CONSULTATION])?
                        .into_iter()
                        .map(|(l, _)| l.from_pk)
                        .collect();
                papers.sort_unstable();
                papers.dedup();
                let mut rows = read::live_objects(conn, &papers)?;
                rows.sort_by_cached_key(|r| std::cmp::Reverse(field(r, "date")));
                rows.truncate(ENTRIES);
                let entries = entries_of(urls, Kind::Paper, &rows);
                (format!("Neueste Drucksachen – {name}"), entries)
            }
        }
        Route::Search => {
            let mut q = SearchQuery::parse(query)?;
            let Some(text) = q.q.clone() else {
                return Err(ApiError::bad_parameter(
                    "q",
                    "a feed of a search needs a query",
                ));
            };
            q.sort = Sort::Date;
            q.limit = Some(ENTRIES as i64);
            q.after = None;
            let outcome = super::search::page(conn, state, &q, &Conditions::default())?;
            let Outcome::Body { bytes, .. } = outcome else {
                return Err(ApiError::unavailable(
                    "a search answered not modified unasked",
                ));
            };
            let json: Value = serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::unavailable(format!("search JSON: {e}")))?;
            let entries = json["data"]
                .as_array()
                .map(|items| items.iter().map(search_entry).collect())
                .unwrap_or_default();
            (format!("Suche nach „{text}“"), entries)
        }
        other => return Err(ApiError::not_found(other.url(urls))),
    };
    // The feed's own URL asks for the feed whatever a reader's `Accept`
    // says; the page's URL is the same without `format` (which `query`
    // no longer holds, see `negotiate::without_format`).
    let page = match query.filter(|q| !q.is_empty()) {
        Some(q) => format!("{page}?{q}"),
        None => page,
    };
    let sep = if page.contains('?') { '&' } else { '?' };
    let own = format!("{page}{sep}format=atom");
    Ok(atom::feed(
        &Feed {
            url: own,
            title,
            page,
            author,
        },
        &entries,
    ))
}

/// Feed entries of rows, in their order.
fn entries_of(urls: &crate::urls::Urls, kind: Kind, rows: &[ObjectRow]) -> Vec<Entry> {
    rows.iter()
        .map(|r| {
            let v = light(urls, r);
            let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
            let summary = match kind {
                Kind::Meeting => words::date_time(s("start")),
                _ => [s("paperType"), &words::date(s("date"))]
                    .iter()
                    .filter(|p| !p.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            Entry {
                url: urls.object(kind, r.pk),
                title: label_of(kind, &v),
                updated: r.modified,
                published: Some(r.created),
                summary: (!summary.is_empty()).then_some(summary),
            }
        })
        .collect()
}

/// An entry of a search hit, from its JSON.
fn search_entry(item: &Value) -> Entry {
    let kind = item["type"]
        .as_str()
        .and_then(Kind::from_type_uri)
        .unwrap_or(Kind::Paper);
    let time = |k: &str| item[k].as_str().and_then(parse_time).unwrap_or(0);
    let snippet = item[super::search::SNIPPET_PROPERTY].as_str().map(plain);
    Entry {
        url: item["id"].as_str().unwrap_or("").to_string(),
        title: format!("{}: {}", words::kind(kind), label_of(kind, item)),
        updated: time("modified"),
        published: Some(time("created")),
        summary: snippet,
    }
}

/// A snippet (HTML-escaped, words in `<mark>`) as plain text.
fn plain(snippet: &str) -> String {
    snippet
        .replace("<mark>", "")
        .replace("</mark>", "")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// A live object of this kind, or 404 (410 for a deleted one).
fn live(
    conn: &mut AnyConnection,
    state: &AppState,
    kind: Kind,
    pk: i64,
) -> Result<ObjectRow, ApiError> {
    let url = state.urls.object(kind, pk);
    match read::object(conn, pk)? {
        Some(r) if r.kind() == kind && !r.deleted => Ok(r),
        Some(r) if r.kind() == kind => Err(ApiError::new(
            StatusCode::GONE,
            "Dieses Objekt wurde gelöscht.",
            format!("{url} was deleted"),
        )),
        _ => Err(ApiError::not_found(url)),
    }
}

/// The objects whose relation `code` points at `pk`.
pub(super) fn referrers(
    conn: &mut AnyConnection,
    pk: i64,
    code: i16,
) -> Result<Vec<i64>, ApiError> {
    let mut from: Vec<i64> = read::links_to(conn, &[pk], &[code])?
        .into_iter()
        .map(|(l, _)| l.from_pk)
        .collect();
    from.sort_unstable();
    from.dedup();
    Ok(from)
}

fn start_of(row: &ObjectRow) -> Option<i64> {
    parse_time(&field(row, "start"))
}

/// A text member of a row's own values ("" when it has none).
fn field(row: &ObjectRow, key: &str) -> String {
    serde_json::from_str::<Value>(&row.fields)
        .ok()
        .and_then(|v| v.get(key)?.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn parse_time(text: &str) -> Option<i64> {
    crate::search::document::parse_date(text)
}
