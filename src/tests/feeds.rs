//! Calendars (RFC 5545) and feeds (RFC 4287), read back by parsers of
//! others: a Meeting's calendar and how it follows a change, the Body's
//! and an Organization's subscribed calendars, the feeds of papers,
//! meetings and a search.

use crate::support::*;
use hyper::{Method, StatusCode};
use oparl::store::{read, write};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Properties of every event of a calendar: name -> value (with the
/// parameters as `NAME;PARAM=…`).
fn parse_calendar(text: &str) -> (Vec<Vec<(String, String)>>, Vec<String>) {
    let mut parser = ical::IcalParser::new(text.as_bytes());
    let calendar = parser.next().expect("one calendar").expect("it parses");
    assert!(parser.next().is_none(), "more than one calendar");
    let zones: Vec<String> = calendar
        .timezones
        .iter()
        .flat_map(|z| z.properties.iter())
        .filter(|p| p.name == "TZID")
        .filter_map(|p| p.value.clone())
        .collect();
    let events = calendar
        .events
        .iter()
        .map(|e| {
            e.properties
                .iter()
                .map(|p| {
                    let params = p
                        .params
                        .iter()
                        .flatten()
                        .map(|(k, v)| format!(";{k}={}", v.join(",")))
                        .collect::<String>();
                    (
                        format!("{}{params}", p.name),
                        p.value.clone().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .collect();
    (events, zones)
}

fn prop<'a>(event: &'a [(String, String)], name: &str) -> Option<&'a str> {
    event
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

async fn first_of(app: &TestApp, list: &str) -> Value {
    app.json(list).await["data"][0].clone()
}

#[test]
fn a_meeting_calendar_follows_its_changes() {
    each_backend(true, |app| async move {
        let body = first_of(&app, "/oparl/v1.1/body").await;
        let meeting = first_of(&app, body["meeting"].as_str().unwrap()).await;
        let url = meeting["id"].as_str().unwrap().to_string();
        let answer = app
            .request(Method::GET, &url, &[("accept", "text/calendar")])
            .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(
            answer.header("content-type"),
            Some("text/calendar; charset=utf-8")
        );
        let text = String::from_utf8(answer.body.to_vec()).unwrap();
        let (events, zones) = parse_calendar(&text);
        assert_eq!(zones, vec!["Europe/Berlin".to_string()]);
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(prop(e, "UID"), Some(url.as_str()));
        assert_eq!(prop(e, "URL"), Some(url.as_str()));
        assert_eq!(prop(e, "STATUS"), Some("CONFIRMED"));
        let start = prop(e, "DTSTART;TZID=Europe/Berlin").expect("a local start");
        // The demo's meetings start at a full hour of Berlin time.
        let json_start = meeting["start"].as_str().unwrap();
        assert_eq!(
            &start[9..13],
            &format!("{}{}", &json_start[11..13], &json_start[14..16])
        );
        let sequence: i64 = prop(e, "SEQUENCE").unwrap().parse().unwrap();
        // Cancel it: a new SEQUENCE, STATUS:CANCELLED, a new ETag.
        let pk = pk_of(&url);
        let mut fields: Map<String, Value> =
            serde_json::from_str(&read::object(&mut app.conn(), pk).unwrap().unwrap().fields)
                .unwrap();
        fields.insert("cancelled".into(), true.into());
        let at = oparl::time::now();
        write::change(&mut app.conn(), |c| c.update_fields(pk, &fields, at)).unwrap();
        let again = app.get(&format!("{url}?format=ics")).await;
        assert_ne!(again.header("etag"), answer.header("etag"));
        let (events, _) = parse_calendar(std::str::from_utf8(&again.body).unwrap());
        let e = &events[0];
        assert_eq!(prop(e, "STATUS"), Some("CANCELLED"));
        let later: i64 = prop(e, "SEQUENCE").unwrap().parse().unwrap();
        assert!(later > sequence, "SEQUENCE {sequence} -> {later}");
        assert_eq!(
            prop(e, "LAST-MODIFIED"),
            Some(
                chrono::DateTime::from_timestamp(at, 0)
                    .unwrap()
                    .format("%Y%m%dT%H%M%SZ")
                    .to_string()
                    .as_str()
            )
        );
        // The page of the meeting links its calendar.
        let page = app
            .request(Method::GET, &url, &[("accept", "text/html")])
            .await;
        let html = String::from_utf8(page.body.to_vec()).unwrap();
        assert!(html.contains(&format!("{url}?format=ics")));
        assert!(html.contains("abgesagt"));
    });
}

#[test]
fn body_and_organization_calendars_hold_their_meetings() {
    each_backend(true, |app| async move {
        let body = first_of(&app, "/oparl/v1.1/body").await;
        let since = oparl::time::now() - 365 * 86_400;
        let recent = |m: &Value| {
            m["deleted"].as_bool() != Some(true)
                && m["start"]
                    .as_str()
                    .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                    .is_some_and(|t| t.timestamp() >= since)
        };
        let expected: BTreeSet<String> = app
            .walk(body["meeting"].as_str().unwrap())
            .await
            .iter()
            .filter(|m| recent(m))
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect();
        assert!(!expected.is_empty(), "the demo city has recent meetings");
        // Advertised on the Body, and what it advertises is a calendar.
        let calendar = body["server:calendar"].as_str().unwrap();
        let answer = app.get(calendar).await;
        assert_eq!(answer.status, StatusCode::OK);
        let (events, _) = parse_calendar(std::str::from_utf8(&answer.body).unwrap());
        let uids: BTreeSet<String> = events
            .iter()
            .map(|e| prop(e, "UID").unwrap().to_string())
            .collect();
        assert_eq!(uids.len(), events.len(), "a UID twice");
        assert_eq!(uids, expected, "[{}]", app.label());
        // An Organization's calendar: only its meetings.
        let org = first_of(&app, body["organization"].as_str().unwrap()).await;
        let mine: BTreeSet<String> = app
            .walk(org["meeting"].as_str().unwrap())
            .await
            .iter()
            .filter(|m| recent(m))
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect();
        let answer = app.get(org["server:calendar"].as_str().unwrap()).await;
        assert_eq!(answer.status, StatusCode::OK);
        let (events, _) = parse_calendar(std::str::from_utf8(&answer.body).unwrap());
        let uids: BTreeSet<String> = events
            .iter()
            .map(|e| prop(e, "UID").unwrap().to_string())
            .collect();
        assert_eq!(uids, mine);
    });
}

fn atom(answer: &Answer) -> atom_syndication::Feed {
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(
        answer.header("content-type"),
        Some("application/atom+xml; charset=utf-8")
    );
    atom_syndication::Feed::read_from(&answer.body[..]).expect("the feed parses")
}

#[test]
fn feeds_of_papers_meetings_and_searches() {
    each_backend(true, |app| async move {
        let body = first_of(&app, "/oparl/v1.1/body").await;
        let papers = body["paper"].as_str().unwrap();
        let feed = atom(
            &app.request(Method::GET, papers, &[("accept", "application/atom+xml")])
                .await,
        );
        assert!(!feed.entries().is_empty());
        assert!(feed.entries().len() <= 50);
        // Newest first, every entry a paper of ours with its page and JSON.
        let mut last = String::from("9999");
        for e in feed.entries() {
            let paper = app.json(e.id()).await;
            assert_eq!(paper["type"], "https://schema.oparl.org/1.1/Paper");
            let date = paper["date"].as_str().unwrap_or("").to_string();
            assert!(date <= last, "{date} after {last}");
            last = date;
            assert_eq!(
                e.updated().to_rfc3339().get(..19),
                paper["modified"].as_str().unwrap().get(..19)
            );
            let types: Vec<_> = e.links().iter().filter_map(|l| l.mime_type()).collect();
            assert_eq!(types, vec!["text/html", "application/json"]);
        }
        let meetings = atom(
            &app.get(&format!(
                "{}?format=atom",
                body["meeting"].as_str().unwrap()
            ))
            .await,
        );
        let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
        assert!(
            !meetings.entries().is_empty(),
            "the demo city has coming meetings"
        );
        for e in meetings.entries() {
            let m = app.json(e.id()).await;
            assert!(
                m["start"].as_str().unwrap()[..10] >= *today,
                "a past meeting"
            );
        }
        // A search as a feed, newest first, and linked from its page.
        let search = atom(&app.get("/oparl/v1.1/search?q=Haushalt&format=atom").await);
        assert!(!search.entries().is_empty());
        let json = app
            .json("/oparl/v1.1/search?q=Haushalt&sort=date&limit=50")
            .await;
        let ids: Vec<&str> = json["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap())
            .collect();
        let got: Vec<&str> = search.entries().iter().map(|e| e.id()).collect();
        assert_eq!(got, ids);
        let page = app
            .request(
                Method::GET,
                "/oparl/v1.1/search?q=Haushalt",
                &[("accept", "text/html")],
            )
            .await;
        assert!(String::from_utf8(page.body.to_vec())
            .unwrap()
            .contains("format=atom"));
        // An Organization's papers: those consulted in it.
        let org = first_of(&app, body["organization"].as_str().unwrap()).await;
        let feed = atom(
            &app.get(&format!(
                "{}?format=atom",
                org["consultation"].as_str().unwrap()
            ))
            .await,
        );
        assert!(!feed.entries().is_empty(), "the committee consulted papers");
        for e in feed.entries() {
            let paper = app.json(e.id()).await;
            let consulted = paper["consultation"].as_array().unwrap().iter().any(|c| {
                c["organization"]
                    .as_array()
                    .is_some_and(|o| o.contains(&org["id"]))
            });
            assert!(consulted, "{} is not consulted in {}", e.id(), org["id"]);
        }
        // A feed of a search without a query is a 400, not an empty feed.
        let bad = app.get("/oparl/v1.1/search?format=atom").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    });
}
