//! The HTML representation of the API's routes: what each page shows is
//! loaded here (the object's JSON as the API renders it, through the same
//! cache, the names of the objects it refers to, and the lists a page
//! adds), then `crate::html` renders it without a query.
//!
//! A page's ETag is the hash of its bytes: a page shows many objects
//! (the names of everything it links to), and hashing what was rendered
//! is exact without listing them. Repeated requests are answered from the
//! whole-answer cache (`AppState::recent`) while the database is unchanged,
//! as JSON answers are.

use super::error::ApiError;
use super::http_cache::Conditions;
use super::negotiate::Format;
use super::query::ListQuery;
use super::route::{self, Resolved, Route};
use super::search::SearchQuery;
use super::{rendered, AppState, Outcome, Rendering};
use crate::db::AnyConnection;
use crate::html::layout::Frame;
use crate::html::lists::{ListForm, SearchForm};
use crate::html::object::Section;
use crate::html::{self, label_of, words, Label, Labels};
use crate::model::{self, Kind, ListKind, MEETING_ORGANIZATION};
use crate::search::find;
use crate::store::{read, ListFilter, ObjectHead, ObjectRow};
use crate::urls::Urls;
use bytes::Bytes;
use serde_json::Value;
use std::collections::HashSet;
use url::form_urlencoded;

/// How many related objects a page lists before linking to all of them.
const SHOWN: usize = 20;

/// The page of a route (404 for a route without one).
pub(super) fn page(
    conn: &mut AnyConnection,
    state: &AppState,
    route: Route,
    query: Option<&str>,
    conditions: &Conditions,
) -> Result<Outcome, ApiError> {
    let urls = &state.urls;
    let site = read::system(conn)?
        .map(|r| label_of(Kind::System, &light(urls, &r)))
        .unwrap_or_default();
    let frame = Frame {
        site,
        start: urls.system(),
        search: urls.search(),
        ..Frame::default()
    };
    let text = match route {
        Route::System => start(conn, urls, frame)?,
        Route::Object(kind, pk) => object(conn, state, frame, kind, pk)?,
        Route::List(list, owner) => list_page(conn, state, frame, list, owner, query)?,
        Route::Search => search(conn, state, frame, query)?,
        Route::Changes => changes(conn, state, frame, query)?,
        other => return Err(ApiError::not_found(other.url(urls))),
    };
    Ok(Outcome::hashed(
        &state.urls,
        Format::Html,
        Bytes::from(text),
        conditions,
    ))
}

/// The start page: bodies, next meetings, newest papers of all bodies.
fn start(conn: &mut AnyConnection, urls: &Urls, mut frame: Frame) -> Result<String, ApiError> {
    let bodies = read::list_page(
        conn,
        ListKind::Bodies,
        None,
        &ListFilter::default(),
        None,
        SHOWN as i64,
    )?;
    let bodies = lights(conn, urls, &bodies.iter().map(|h| h.pk).collect::<Vec<_>>())?;
    let mut sections = vec![Section {
        title: words::kinds(Kind::Body).to_string(),
        kind: Kind::Body,
        items: bodies,
        more: Some((
            urls.list(ListKind::Bodies, 0),
            "Alle Körperschaften".to_string(),
        )),
        empty: "Keine Körperschaften.",
    }];
    sections.extend(dated_sections(conn, urls, None)?);
    frame.title = frame.site.clone();
    frame.json = Some(json_of(&urls.system()));
    Ok(html::start::start(&frame, &sections))
}

/// The next meetings and the newest papers, of one Body or of all.
fn dated_sections(
    conn: &mut AnyConnection,
    urls: &Urls,
    body: Option<i64>,
) -> Result<Vec<Section>, ApiError> {
    let now = crate::time::now();
    // From the start of today: a meeting that began an hour ago is still
    // "next" to someone looking for its agenda.
    let today = now - now.rem_euclid(86_400);
    let meetings = find::dated(conn, Kind::Meeting, body, today, true, SHOWN as i64)?;
    let papers = find::dated(conn, Kind::Paper, body, now, false, SHOWN as i64)?;
    let list = |kind| body.map(|b| urls.list(ListKind::Body(kind), b));
    Ok(vec![
        Section {
            title: "Nächste Sitzungen".into(),
            kind: Kind::Meeting,
            items: lights(conn, urls, &meetings)?,
            more: list(Kind::Meeting).map(|u| (u, "Alle Sitzungen".into())),
            empty: "Keine Sitzungen angesetzt.",
        },
        Section {
            title: "Neueste Drucksachen".into(),
            kind: Kind::Paper,
            items: lights(conn, urls, &papers)?,
            more: list(Kind::Paper).map(|u| (u, "Alle Drucksachen".into())),
            empty: "Keine Drucksachen.",
        },
    ])
}

/// The page of one object (a tombstone's says when it was deleted).
fn object(
    conn: &mut AnyConnection,
    state: &AppState,
    mut frame: Frame,
    kind: Kind,
    pk: i64,
) -> Result<String, ApiError> {
    let urls = &state.urls;
    let head = read::head(conn, pk)?
        .filter(|h| h.kind() == kind)
        .ok_or_else(|| ApiError::not_found(urls.object(kind, pk)))?;
    let value = one_json(conn, state, head)?;
    frame.json = Some(json_of(&urls.object(kind, pk)));
    frame.crumbs = crumbs(conn, urls, &frame, kind, head.body_pk)?;
    if head.deleted {
        frame.title = format!("{} (gelöscht)", words::kind(kind));
        return Ok(html::object::tombstone(&frame, &value));
    }
    frame.title = label_of(kind, &value);
    frame.alternates = subscriptions(urls, Route::Object(kind, pk));
    let labels = labels(conn, state, &value)?;
    let sections = match kind {
        Kind::Body => {
            let organizations = read::list_page(
                conn,
                ListKind::Body(Kind::Organization),
                Some(pk),
                &ListFilter::default(),
                None,
                100,
            )?;
            let pks: Vec<i64> = organizations.iter().map(|h| h.pk).collect();
            let mut sections = vec![Section {
                title: "Gremien".into(),
                kind: Kind::Organization,
                items: lights(conn, urls, &pks)?,
                more: Some((
                    urls.list(ListKind::Body(Kind::Organization), pk),
                    "Alle Gremien".into(),
                )),
                empty: "Keine Gremien.",
            }];
            sections.extend(dated_sections(conn, urls, Some(pk))?);
            sections
        }
        Kind::Organization => {
            let mut meetings = referrers(conn, urls, pk, MEETING_ORGANIZATION)?;
            sort_by_date(&mut meetings, "start");
            meetings.truncate(SHOWN);
            vec![Section {
                title: "Sitzungen".into(),
                kind: Kind::Meeting,
                items: meetings,
                more: Some((
                    urls.list(ListKind::OrganizationMeetings, pk),
                    "Alle Sitzungen".into(),
                )),
                empty: "Keine Sitzungen.",
            }]
        }
        Kind::Person => {
            let code = model::rel(Kind::Paper, "originatorPerson").code;
            let mut papers = referrers(conn, urls, pk, code)?;
            sort_by_date(&mut papers, "date");
            papers.truncate(100);
            vec![Section {
                title: "Drucksachen".into(),
                kind: Kind::Paper,
                items: papers,
                more: None,
                empty: "Keine Drucksachen als Urheber verzeichnet.",
            }]
        }
        _ => Vec::new(),
    };
    Ok(html::object::live(&frame, kind, &value, &labels, &sections))
}

/// The way from the start page to an object of this kind: its Body and
/// the Body's list of such objects.
fn crumbs(
    conn: &mut AnyConnection,
    urls: &Urls,
    frame: &Frame,
    kind: Kind,
    body: Option<i64>,
) -> Result<Vec<(String, String)>, ApiError> {
    let mut crumbs = vec![(frame.start.clone(), frame.site.clone())];
    if let Some(body) = body.filter(|_| kind != Kind::Body) {
        if let Some(row) = read::object(conn, body)? {
            crumbs.push((
                urls.object(Kind::Body, body),
                label_of(Kind::Body, &light(urls, &row)),
            ));
            if model::BODY_LISTS.iter().any(|(_, k)| *k == kind) {
                crumbs.push((
                    urls.list(ListKind::Body(kind), body),
                    words::kinds(kind).to_string(),
                ));
            }
        }
    }
    Ok(crumbs)
}

/// A page of a list, with its filters as a form.
fn list_page(
    conn: &mut AnyConnection,
    state: &AppState,
    mut frame: Frame,
    list: ListKind,
    owner: i64,
    query: Option<&str>,
) -> Result<String, ApiError> {
    let urls = &state.urls;
    let (query, form_values) = form_query(query);
    let q = ListQuery::parse(Some(&query))?;
    let outcome = super::list_page(
        conn,
        state,
        list,
        owner,
        &q,
        &Conditions::default(),
        Rendering::Full,
    )?
    .expect("a full rendering always answers");
    let json = outcome_json(outcome)?;
    let kind = list.item_kind();
    let first = urls.list(list, owner);
    let owner_kind = match list {
        ListKind::Bodies => None,
        ListKind::Body(_) => Some(Kind::Body),
        _ => Some(Kind::Organization),
    };
    frame.crumbs = vec![(frame.start.clone(), frame.site.clone())];
    frame.title = words::kinds(kind).to_string();
    if let Some(owner_kind) = owner_kind {
        let row = read::object(conn, owner)?;
        let name = row.map_or_else(String::new, |r| label_of(owner_kind, &light(urls, &r)));
        frame
            .crumbs
            .push((urls.object(owner_kind, owner), name.clone()));
        frame.title = format!("{} – {name}", words::kinds(kind));
    }
    let value = |key: &str| {
        form_values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let form = ListForm {
        action: first.clone(),
        created_since: value("created_since"),
        created_until: value("created_until"),
        modified_since: value("modified_since"),
        modified_until: value("modified_until"),
    };
    frame.json = Some(json_of(&format!("{first}{}", q.to_query_string(q.after))));
    frame.alternates = subscriptions(urls, Route::List(list, owner));
    // What each entry belongs to (a Consultation's Paper, an AgendaItem's
    // Meeting, a Membership's Person), named beside it.
    let context: Vec<String> = json["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| html::lists::context_of(kind, item))
        .map(str::to_string)
        .collect();
    let labels = labels_of(conn, state, context, &HashSet::new())?;
    Ok(html::lists::list(&frame, kind, &json, &form, &labels))
}

/// The search page: the form, and the hits when a query was given.
fn search(
    conn: &mut AnyConnection,
    state: &AppState,
    mut frame: Frame,
    query: Option<&str>,
) -> Result<String, ApiError> {
    let (query, form_values) = form_query(query);
    let mut form = SearchForm {
        action: state.urls.search(),
        ..SearchForm::default()
    };
    for (k, v) in &form_values {
        match k.as_str() {
            "q" => form.q = v.clone(),
            "type" => form.types.extend(v.split(',').map(str::to_string)),
            "sort" => form.sort_by_date = v == "date",
            "date_since" => form.date_since = v.clone(),
            "date_until" => form.date_until = v.clone(),
            "body" | "organization" => form.kept.push((k.clone(), v.clone())),
            _ => {}
        }
    }
    // Checkboxes send one `type` each; the API takes them comma-separated.
    let query = join_types(&query);
    let q = SearchQuery::parse(Some(&query))?;
    frame.crumbs = vec![(frame.start.clone(), frame.site.clone())];
    frame.query = form.q.clone();
    frame.json = Some(json_of(&with_query(&state.urls.search(), &query)));
    let json = if q.q.is_some() {
        frame.title = format!("Suche nach „{}“", form.q);
        frame.alternates = vec![(
            format!("{}?{query}&format=atom", state.urls.search()),
            "application/atom+xml",
            format!("Neue Treffer für „{}“", form.q),
        )];
        let outcome = super::search::page(conn, state, &q, &Conditions::default())?;
        Some(outcome_json(outcome)?)
    } else {
        frame.title = "Suche".into();
        None
    };
    Ok(html::lists::search(&frame, json.as_ref(), &form))
}

/// A page of the change feed.
fn changes(
    conn: &mut AnyConnection,
    state: &AppState,
    mut frame: Frame,
    query: Option<&str>,
) -> Result<String, ApiError> {
    let (query, _) = form_query(query);
    let q = super::changes::ChangesQuery::parse(Some(&query))?;
    let outcome = super::changes::page(conn, state, &q, &Conditions::default())?;
    let json = outcome_json(outcome)?;
    frame.crumbs = vec![(frame.start.clone(), frame.site.clone())];
    frame.title = "Änderungen".into();
    frame.json = Some(json_of(&with_query(&state.urls.changes(), &query)));
    Ok(html::lists::changes(&frame, &json))
}

/// The calendars and feeds a page links to (see `api::feeds`).
fn subscriptions(urls: &Urls, route: Route) -> Vec<(String, &'static str, String)> {
    let calendar = "text/calendar";
    let atom = "application/atom+xml";
    let meetings = |list, owner| urls.list(list, owner);
    match route {
        Route::Object(Kind::Meeting, pk) => vec![(
            format!("{}?format=ics", urls.object(Kind::Meeting, pk)),
            calendar,
            "Diese Sitzung in den Kalender übernehmen".into(),
        )],
        Route::Object(Kind::Body, pk)
        | Route::List(ListKind::Body(Kind::Meeting | Kind::Paper), pk) => {
            vec![
                (
                    urls.calendar(Kind::Body, pk),
                    calendar,
                    "Sitzungskalender".into(),
                ),
                (
                    format!(
                        "{}?format=atom",
                        meetings(ListKind::Body(Kind::Meeting), pk)
                    ),
                    atom,
                    "Nächste Sitzungen".into(),
                ),
                (
                    format!("{}?format=atom", urls.list(ListKind::Body(Kind::Paper), pk)),
                    atom,
                    "Neueste Drucksachen".into(),
                ),
            ]
        }
        Route::Object(Kind::Organization, pk)
        | Route::List(ListKind::OrganizationMeetings | ListKind::OrganizationConsultations, pk) => {
            vec![
                (
                    urls.calendar(Kind::Organization, pk),
                    calendar,
                    "Sitzungskalender des Gremiums".into(),
                ),
                (
                    format!(
                        "{}?format=atom",
                        meetings(ListKind::OrganizationMeetings, pk)
                    ),
                    atom,
                    "Nächste Sitzungen des Gremiums".into(),
                ),
                (
                    format!(
                        "{}?format=atom",
                        urls.list(ListKind::OrganizationConsultations, pk)
                    ),
                    atom,
                    "Neueste Drucksachen des Gremiums".into(),
                ),
            ]
        }
        _ => Vec::new(),
    }
}

/// The query a form sent, as the API reads it: empty fields left out
/// (a form sends every field), a day alone
/// (`<input type="date">`) widened to its start for `…_since` and its
/// end for `…_until` (UTC, as the search reads days). Also the values as
/// the form shows them again.
fn form_query(query: Option<&str>) -> (String, Vec<(String, String)>) {
    let mut out = form_urlencoded::Serializer::new(String::new());
    let mut values = Vec::new();
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if v.trim().is_empty() {
            continue;
        }
        values.push((k.to_string(), v.to_string()));
        let list_filter = matches!(
            k.as_ref(),
            "created_since" | "created_until" | "modified_since" | "modified_until"
        );
        if list_filter && crate::time::is_date(&v) {
            let time = if k.ends_with("_since") {
                "T00:00:00+00:00"
            } else {
                "T23:59:59+00:00"
            };
            out.append_pair(&k, &format!("{v}{time}"));
        } else {
            out.append_pair(&k, &v);
        }
    }
    (out.finish(), values)
}

/// `type=Paper&type=Meeting` as `type=Paper,Meeting`.
fn join_types(query: &str) -> String {
    let mut types = Vec::new();
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k == "type" {
            types.push(v.to_string());
        } else {
            out.append_pair(&k, &v);
        }
    }
    if !types.is_empty() {
        out.append_pair("type", &types.join(","));
    }
    out.finish()
}

/// The standalone JSON of one object as the API serves it.
fn one_json(
    conn: &mut AnyConnection,
    state: &AppState,
    head: ObjectHead,
) -> Result<Value, ApiError> {
    let bytes = rendered(conn, state, &[head], false, Rendering::Full)?
        .expect("a full rendering always answers")
        .remove(0);
    parse(&bytes)
}

fn outcome_json(outcome: Outcome) -> Result<Value, ApiError> {
    match outcome {
        Outcome::Body { bytes, .. } => parse(&bytes),
        Outcome::Fresh { .. } => Err(ApiError::unavailable(
            "a page was asked without conditions and answered not modified",
        )),
    }
}

fn parse(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::unavailable(format!("rendered JSON does not parse: {e}")))
}

/// The names of every object of ours that `value` refers to (not those it
/// embeds, which it names itself), and of the Papers, Persons, Meetings
/// and Organizations of the Consultations and Memberships among them.
fn labels(conn: &mut AnyConnection, state: &AppState, value: &Value) -> Result<Labels, ApiError> {
    let mut own = HashSet::new();
    collect_ids(value, &mut own);
    let mut wanted = Vec::new();
    collect_refs(value, &mut wanted);
    labels_of(conn, state, wanted, &own)
}

/// The names of the objects at these URLs (those in `own` left out), and
/// of the Papers, Persons, Meetings and Organizations of the
/// Consultations and Memberships among them.
fn labels_of(
    conn: &mut AnyConnection,
    state: &AppState,
    mut wanted: Vec<String>,
    own: &HashSet<String>,
) -> Result<Labels, ApiError> {
    let mut labels = Labels::default();
    for round in 0..2 {
        let pks: Vec<i64> = wanted
            .iter()
            .filter(|u| !own.contains(*u) && labels.get(u).is_none())
            .filter_map(|u| object_pk(&state.urls, u))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if pks.is_empty() {
            break;
        }
        // A name needs only the object's own values; a Consultation's
        // Paper and Meeting and a Membership's Person and Organization
        // are links, shown in their JSON (small objects).
        let rows = read::objects(conn, &pks)?;
        let linked: Vec<ObjectHead> = rows
            .iter()
            .filter(|r| matches!(r.kind(), Kind::Consultation | Kind::Membership))
            .map(ObjectRow::head)
            .collect();
        let mut values: std::collections::HashMap<i64, Value> = linked
            .iter()
            .zip(
                rendered(conn, state, &linked, false, Rendering::Full)?
                    .expect("a full rendering always answers"),
            )
            .map(|(h, bytes)| Ok((h.pk, parse(&bytes)?)))
            .collect::<Result<_, ApiError>>()?;
        wanted.clear();
        for row in &rows {
            let kind = row.kind();
            let value = values
                .remove(&row.pk)
                .unwrap_or_else(|| light(&state.urls, row));
            if round == 0 && matches!(kind, Kind::Consultation | Kind::Membership) {
                for key in ["paper", "meeting", "person", "organization"] {
                    if let Some(u) = value.get(key).and_then(Value::as_str) {
                        wanted.push(u.to_string());
                    }
                }
            }
            labels.insert(
                state.urls.object(kind, row.pk),
                Label {
                    kind,
                    text: label_of(kind, &value),
                    deleted: row.deleted,
                    value,
                },
            );
        }
    }
    Ok(labels)
}

/// The ids of the object and of everything it embeds.
fn collect_ids(value: &Value, out: &mut HashSet<String>) {
    match value {
        Value::Object(m) => {
            if let Some(id) = m.get("id").and_then(Value::as_str) {
                out.insert(id.to_string());
            }
            m.values().for_each(|v| collect_ids(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| collect_ids(v, out)),
        _ => {}
    }
}

/// Every URL among the values (ids left out).
fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                if k != "id" {
                    collect_refs(v, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        Value::String(s) if s.starts_with("http") => out.push(s.clone()),
        _ => {}
    }
}

/// The pk of one of our objects by its URL.
fn object_pk(urls: &Urls, url: &str) -> Option<i64> {
    if !urls.is_ours(url) {
        return None;
    }
    match route::resolve(urls, urls.path_of(url)) {
        Resolved::Found(Route::Object(_, pk)) => Some(pk),
        _ => None,
    }
}

/// The live objects whose relation `code` points at `pk`, as light values.
fn referrers(
    conn: &mut AnyConnection,
    urls: &Urls,
    pk: i64,
    code: i16,
) -> Result<Vec<Value>, ApiError> {
    let from = super::feeds::referrers(conn, pk, code)?;
    lights(conn, urls, &from)
}

/// Newest first by a date member (ISO dates and date-times sort as text).
fn sort_by_date(items: &mut [Value], key: &str) {
    fn day<'v>(v: &'v Value, key: &str) -> &'v str {
        v.get(key).and_then(Value::as_str).unwrap_or("")
    }
    items.sort_by(|a, b| day(b, key).cmp(day(a, key)));
}

/// Live objects as their own values and `id`, without what links add:
/// enough to name and date them in a list, at the cost of one query.
pub(super) fn lights(
    conn: &mut AnyConnection,
    urls: &Urls,
    pks: &[i64],
) -> Result<Vec<Value>, ApiError> {
    Ok(read::live_objects_in_order(conn, pks)?
        .iter()
        .map(|r| light(urls, r))
        .collect())
}

pub(super) fn light(urls: &Urls, row: &ObjectRow) -> Value {
    let mut value: Value = serde_json::from_str(&row.fields).unwrap_or(Value::Null);
    if !value.is_object() {
        value = Value::Object(serde_json::Map::new());
    }
    value["id"] = urls.object(row.kind(), row.pk).into();
    value
}

/// A URL with a query string, if there is one.
fn with_query(url: &str, query: &str) -> String {
    if query.is_empty() {
        url.to_string()
    } else {
        format!("{url}?{query}")
    }
}

/// The JSON of a page's resource, whatever the client's `Accept`.
fn json_of(url: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}format=json")
}
