//! The full-text search (`GET {base}/search`, issue 12) over a small city
//! built for it: the query language (stemming, folding, phrases, exclusion,
//! OR, prefix, reference numbers), every filter, both sorts, pagination,
//! the index following every change, and hostile queries.

use crate::support::*;
use hyper::StatusCode;
use oparl::model::{self, Kind};
use oparl::store::write;
use serde_json::{json, Value};

const AT: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const DAY: i64 = 86_400;

struct City {
    body: i64,
    rat: i64,
    bau: i64,
    radweg: i64,
    strasse: i64,
    haushalt: i64,
    file: i64,
    meeting: i64,
    item: i64,
    person: i64,
}

fn create(app: &TestApp, kind: Kind, body: Option<i64>, fields: Value, at: i64) -> i64 {
    let fields = fields.as_object().unwrap().clone();
    write::change(&mut app.conn(), |c| c.create(kind, body, &fields, at)).unwrap()
}

fn link(app: &TestApp, from: i64, owner: Kind, name: &str, to: i64) {
    let code = model::rel(owner, name).code;
    write::change(&mut app.conn(), |c| {
        c.add_link(from, code, to, AT + 9 * DAY)
    })
    .unwrap();
}

fn city(app: &TestApp) -> City {
    let body = create(app, Kind::Body, None, json!({"name": "Teststadt"}), AT);
    let b = Some(body);
    let rat = create(
        app,
        Kind::Organization,
        b,
        json!({"name": "Rat der Stadt", "shortName": "Rat"}),
        AT,
    );
    let bau = create(
        app,
        Kind::Organization,
        b,
        json!({"name": "Bauausschuss"}),
        AT,
    );
    let radweg = create(
        app,
        Kind::Paper,
        b,
        json!({"name": "Anträge zum Radweg am Schloßberg", "reference": "0123/2026", "date": "2026-03-01"}),
        AT + DAY,
    );
    let strasse = create(
        app,
        Kind::Paper,
        b,
        json!({"name": "Eine neue Straße für die Schule", "reference": "VO/2026/123", "date": "2026-02-01"}),
        AT + 2 * DAY,
    );
    let haushalt = create(
        app,
        Kind::Paper,
        b,
        json!({"name": "Haushalt, Bericht zu 0123/2026 und zu 0123/2026", "reference": "0124/2026", "date": "2025-12-01"}),
        AT + 3 * DAY,
    );
    let file = create(
        app,
        Kind::File,
        b,
        json!({"name": "Anlage", "fileName": "anlage.pdf", "date": "2025-12-02",
               "text": "Die Fahrradstraße am Kanal wird gepflastert; der Kämmerer empfiehlt Zustimmung."}),
        AT + 3 * DAY,
    );
    link(app, haushalt, Kind::Paper, "mainFile", file);
    let meeting = create(
        app,
        Kind::Meeting,
        b,
        json!({"name": "Sitzung des Bauausschusses", "start": "2026-03-05T18:00:00+01:00"}),
        AT + 4 * DAY,
    );
    link(app, meeting, Kind::Meeting, "organization", bau);
    let item = create(
        app,
        Kind::AgendaItem,
        b,
        json!({"name": "Radwege in der Innenstadt", "number": "Ö 1"}),
        AT + 4 * DAY,
    );
    link(app, meeting, Kind::Meeting, "agendaItem", item);
    let other = create(
        app,
        Kind::AgendaItem,
        b,
        json!({"name": "Verschiedenes"}),
        AT + 4 * DAY,
    );
    link(app, meeting, Kind::Meeting, "agendaItem", other);
    let consultation = create(
        app,
        Kind::Consultation,
        b,
        json!({"role": "Beratung"}),
        AT + 5 * DAY,
    );
    link(app, strasse, Kind::Paper, "consultation", consultation);
    link(app, consultation, Kind::Consultation, "organization", bau);
    let person = create(
        app,
        Kind::Person,
        b,
        json!({"name": "Erika Mustermann", "formOfAddress": "Frau"}),
        AT + 6 * DAY,
    );
    let membership = create(
        app,
        Kind::Membership,
        b,
        json!({"role": "Mitglied"}),
        AT + 6 * DAY,
    );
    link(app, person, Kind::Person, "membership", membership);
    link(app, membership, Kind::Membership, "organization", rat);
    City {
        body,
        rat,
        bau,
        radweg,
        strasse,
        haushalt,
        file,
        meeting,
        item,
        person,
    }
}

async fn search(app: &TestApp, query: &str) -> Value {
    app.json(&format!("{BASE}/search?{query}")).await
}

/// The pks of a page's hits, in order.
fn hits(page: &Value) -> Vec<i64> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| pk_of(o["id"].as_str().unwrap()))
        .collect()
}

async fn found(app: &TestApp, q: &str) -> Vec<i64> {
    hits(&search(app, &format!("q={}", enc(q))).await)
}

#[test]
fn german_words_are_stemmed_and_folded() {
    each_backend(false, |app| async move {
        let c = city(&app);
        let l = app.label();
        assert!(
            found(&app, "Antrag").await.contains(&c.radweg),
            "[{l}] Antrag"
        );
        assert!(
            found(&app, "ANTRÄGE").await.contains(&c.radweg),
            "[{l}] ANTRÄGE"
        );
        // "Radwege" finds the Paper's "Radweg", the AgendaItem, and the
        // Meeting through its agenda item.
        let radwege = found(&app, "Radwege").await;
        for pk in [c.radweg, c.item, c.meeting] {
            assert!(
                radwege.contains(&pk),
                "[{l}] Radwege: {radwege:?} lacks {pk}"
            );
        }
        assert_eq!(
            found(&app, "Strasse").await,
            vec![c.strasse],
            "[{l}] Strasse"
        );
        assert_eq!(
            found(&app, "schlossberg").await,
            vec![c.radweg],
            "[{l}] Schlossberg"
        );
        // A word inside a File's text finds the File and its Paper.
        let kammerer = found(&app, "Kaemmerer Kämmerer").await;
        assert!(
            kammerer.is_empty(),
            "[{l}] both words must match: {kammerer:?}"
        );
        let mut kammerer = found(&app, "Kämmerer").await;
        kammerer.sort();
        assert_eq!(kammerer, vec![c.haushalt, c.file], "[{l}] Kämmerer");
    });
}

#[test]
fn phrases_exclusion_or_and_prefix() {
    each_backend(false, |app| async move {
        let c = city(&app);
        let l = app.label();
        assert_eq!(
            found(&app, "\"neue Straße\"").await,
            vec![c.strasse],
            "[{l}]"
        );
        assert!(
            found(&app, "\"Straße neue\"").await.is_empty(),
            "[{l}] order counts"
        );
        let without = found(&app, "Radweg -Schlossberg").await;
        assert!(
            !without.contains(&c.radweg) && without.contains(&c.item),
            "[{l}] {without:?}"
        );
        let mut either = found(&app, "Haushalt ODER Schule").await;
        either.sort();
        assert_eq!(either, vec![c.strasse, c.haushalt], "[{l}] ODER");
        let mut either = found(&app, "Haushalt OR Schule").await;
        either.sort();
        assert_eq!(either, vec![c.strasse, c.haushalt], "[{l}] OR");
        // The last word also finds longer words; an earlier one does not.
        assert_eq!(
            found(&app, "Schlossb").await,
            vec![c.radweg],
            "[{l}] prefix"
        );
        assert!(
            found(&app, "Schlossb Radweg").await.is_empty(),
            "[{l}] not last"
        );
        assert_eq!(found(&app, "Bauaus").await.len(), 2, "[{l}] Bauausschuss");
    });
}

#[test]
fn a_reference_number_finds_its_paper_first() {
    each_backend(false, |app| async move {
        let c = city(&app);
        let l = app.label();
        let hits = found(&app, "0123/2026").await;
        assert_eq!(hits.first(), Some(&c.radweg), "[{l}] {hits:?}");
        assert!(
            hits.contains(&c.haushalt),
            "[{l}] the other mention is found too"
        );
        assert_eq!(
            found(&app, "VO/2026/123").await.first(),
            Some(&c.strasse),
            "[{l}]"
        );
        let page = search(&app, "q=0123%2F2026").await;
        let first = &page["data"][0];
        assert!(
            first["server:score"].as_f64().unwrap()
                > page["data"][1]["server:score"].as_f64().unwrap()
        );
        assert_eq!(
            first["server:snippet"], "<mark>0123</mark>/<mark>2026</mark>",
            "[{l}]"
        );
    });
}

#[test]
fn the_page_is_an_oparl_list_with_score_and_snippet() {
    each_backend(false, |app| async move {
        let c = city(&app);
        let l = app.label();
        let page = search(&app, "q=Schlo%C3%9Fberg&type=Paper").await;
        assert_eq!(page["pagination"]["totalElements"], 1, "[{l}] {page}");
        let hit = &page["data"][0];
        assert_eq!(hit["id"], format!("{BASE}/paper/{}", c.radweg));
        assert_eq!(hit["type"], "https://schema.oparl.org/1.1/Paper");
        assert_eq!(
            hit["server:snippet"],
            "Anträge zum Radweg am <mark>Schloßberg</mark>"
        );
        assert!(hit["server:score"].as_f64().unwrap() > 0.0);
        assert_eq!(
            page["links"]["self"],
            format!("{BASE}/search?q=Schlo%C3%9Fberg&type=Paper")
        );
        // A match in a File's text is shown from that text.
        let page = search(&app, "q=gepflastert&type=File").await;
        assert_eq!(
            page["data"][0]["server:snippet"],
            "Die Fahrradstraße am Kanal wird <mark>gepflastert</mark>; der Kämmerer empfiehlt Zustimmung."
        );
        // The same query again is the same answer with the same ETag.
        let first = app.get(&format!("{BASE}/search?q=Radweg")).await;
        let again = app.get(&format!("{BASE}/search?q=Radweg")).await;
        assert_eq!(first.body, again.body);
        assert_eq!(first.header("etag"), again.header("etag"));
        let etag = first.header("etag").unwrap().to_string();
        let fresh = app
            .request(
                hyper::Method::GET,
                &format!("{BASE}/search?q=Radweg"),
                &[("if-none-match", &etag)],
            )
            .await;
        assert_eq!(fresh.status, StatusCode::NOT_MODIFIED, "[{l}]");
    });
}

#[test]
fn every_filter_narrows_the_hits() {
    each_backend(false, |app| async move {
        let c = city(&app);
        let l = app.label();
        let q = "q=Radweg%20ODER%20Bauausschuss%20ODER%20Erika%20ODER%20Schule%20ODER%20Kanal";
        let all = hits(&search(&app, q).await);
        let mut sorted = all.clone();
        sorted.sort();
        let mut expected = vec![
            c.bau, c.radweg, c.strasse, c.haushalt, c.file, c.meeting, c.item, c.person,
        ];
        expected.sort();
        assert_eq!(sorted, expected, "[{l}]");
        let with = |extra: &str| {
            let app = &app;
            let url = format!("{q}&{extra}");
            async move {
                let mut h = hits(&search(app, &url).await);
                h.sort();
                h
            }
        };
        assert_eq!(
            with("type=Meeting,AgendaItem").await,
            vec![c.meeting, c.item],
            "[{l}] type"
        );
        assert_eq!(
            with(&format!("body={}", c.body)).await,
            sorted,
            "[{l}] body"
        );
        // Meetings of, Papers consulted in, Persons who are members of.
        assert_eq!(
            with(&format!("organization={}", c.bau)).await,
            vec![c.strasse, c.meeting],
            "[{l}]"
        );
        assert_eq!(
            with(&format!("organization={}", c.rat)).await,
            vec![c.person],
            "[{l}]"
        );
        assert_eq!(
            with("date_since=2026-02-01&date_until=2026-03-01").await,
            vec![c.radweg, c.strasse],
            "[{l}] date"
        );
        assert_eq!(
            with("date_since=2026-03-05T00%3A00%3A00%2B01%3A00").await,
            vec![c.meeting],
            "[{l}] date-time"
        );
        assert_eq!(
            with("created_until=2026-01-03T00%3A00%3A00Z").await,
            vec![c.bau, c.radweg, c.strasse],
            "[{l}] created"
        );
        assert_eq!(
            with("created_since=2026-01-07T00%3A00%3A00Z").await,
            vec![c.person],
            "[{l}] created since"
        );
        // Linking touched these (their JSON changed on day 9).
        let touched = with("modified_since=2026-01-10T00%3A00%3A00Z").await;
        assert!(
            touched.contains(&c.meeting) && !touched.contains(&c.radweg),
            "[{l}] {touched:?}"
        );
        let before = with("modified_until=2026-01-02T00%3A00%3A00Z").await;
        assert!(
            before.contains(&c.radweg) && !before.contains(&c.meeting),
            "[{l}] {before:?}"
        );
        // By date: newest first, objects without a date last.
        let by_date = hits(&search(&app, &format!("{q}&sort=date")).await);
        assert_eq!(
            &by_date[..5],
            &[c.meeting, c.radweg, c.strasse, c.file, c.haushalt],
            "[{l}]"
        );
        let page = search(&app, &format!("{q}&sort=date")).await;
        assert!(page["links"]["self"]
            .as_str()
            .unwrap()
            .contains("sort=date"));
        // By relevance: scores never rise.
        let page = search(&app, q).await;
        let scores: Vec<f64> = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["server:score"].as_f64().unwrap())
            .collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "[{l}] {scores:?}");
    });
}

#[test]
fn pages_never_repeat_or_skip_a_hit() {
    each_backend(false, |app| async move {
        let c = city(&app);
        let l = app.label();
        let mut made = vec![c.radweg, c.item, c.meeting];
        for i in 0..23 {
            let name = format!("Radweg {} {}", "Ausbau ".repeat(i % 4), i);
            let date = format!("2026-04-{:02}", 1 + i % 5);
            made.push(create(
                &app,
                Kind::Paper,
                Some(c.body),
                json!({"name": name, "date": date}),
                AT + i as i64,
            ));
        }
        made.sort();
        for sort in ["relevance", "date"] {
            let first = format!("{BASE}/search?q=Radweg&sort={sort}&limit=4");
            let pages = app.json(&first).await;
            assert_eq!(
                pages["pagination"]["totalElements"],
                made.len(),
                "[{l}] {sort}"
            );
            let walked: Vec<i64> = app
                .walk(&first)
                .await
                .iter()
                .map(|o| pk_of(o["id"].as_str().unwrap()))
                .collect();
            let mut sorted = walked.clone();
            sorted.sort();
            assert_eq!(sorted, made, "[{l}] {sort}: every hit once");
        }
        // A cursor of the other sort is refused.
        let page = app.json(&format!("{BASE}/search?q=Radweg&limit=2")).await;
        let next = page["links"]["next"].as_str().unwrap();
        let wrong = app.get(&format!("{next}&sort=date")).await;
        assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "[{l}]");
    });
}

#[test]
fn a_change_is_found_at_once_and_a_deleted_object_is_gone() {
    each_backend(false, |app| async move {
        let c = city(&app);
        let l = app.label();
        assert!(found(&app, "Mobilitätskonzept").await.is_empty());
        let mut fields = serde_json::Map::new();
        fields.insert("name".into(), "Mobilitätskonzept 2030".into());
        write::change(&mut app.conn(), |ch| {
            ch.update_fields(c.haushalt, &fields, AT + 20 * DAY)
        })
        .unwrap();
        assert_eq!(
            found(&app, "Mobilitätskonzept").await,
            vec![c.haushalt],
            "[{l}]"
        );
        assert!(
            !found(&app, "Haushalt").await.contains(&c.haushalt),
            "[{l}] the old name is gone"
        );
        // A new text of the File finds its Paper too (the Paper shows it).
        let mut file = serde_json::Map::new();
        file.insert("name".into(), "Anlage".into());
        file.insert("text".into(), "Lärmschutzwand an der Bahn".into());
        write::change(&mut app.conn(), |ch| {
            ch.update_fields(c.file, &file, AT + 21 * DAY)
        })
        .unwrap();
        let mut lsw = found(&app, "Lärmschutzwand").await;
        lsw.sort();
        assert_eq!(lsw, vec![c.haushalt, c.file], "[{l}]");
        // A renamed agenda item changes what finds its Meeting.
        let mut item = serde_json::Map::new();
        item.insert("name".into(), "Spielplatz Nord".into());
        write::change(&mut app.conn(), |ch| {
            ch.update_fields(c.item, &item, AT + 22 * DAY)
        })
        .unwrap();
        let mut spiel = found(&app, "Spielplatz").await;
        spiel.sort();
        assert_eq!(spiel, vec![c.meeting, c.item], "[{l}]");
        // Deleted: gone, with what existed only inside it.
        assert!(app.delete(c.meeting, AT + 23 * DAY));
        assert!(found(&app, "Spielplatz").await.is_empty(), "[{l}]");
        assert!(app.delete(c.radweg, AT + 23 * DAY));
        assert!(
            !found(&app, "Schlossberg").await.contains(&c.radweg),
            "[{l}]"
        );
        // Another server on the same database finds what this one wrote.
        let other = std::sync::Arc::new(oparl::api::AppState::new(
            app.store.db().clone(),
            oparl::urls::Urls::new(BASE).unwrap(),
            1 << 20,
        ));
        let seen = ask(
            &other,
            hyper::Method::GET,
            &format!("{BASE}/search?q=Spielplatz"),
            &[],
        )
        .await;
        assert_eq!(seen.json()["pagination"]["totalElements"], 0, "[{l}]");
        let p = create(
            &app,
            Kind::Paper,
            Some(c.body),
            json!({"name": "Spielplatz Süd"}),
            AT + 24 * DAY,
        );
        let seen = ask(
            &other,
            hyper::Method::GET,
            &format!("{BASE}/search?q=Spielplatz"),
            &[],
        )
        .await;
        assert_eq!(hits(&seen.json()), vec![p], "[{l}]");
    });
}

#[test]
fn hostile_queries_are_a_400_or_a_result_never_a_500() {
    each_backend(false, |app| async move {
        city(&app);
        let l = app.label();
        let long = "Radweg ".repeat(100);
        let bad = [
            "q=",
            "q=%20%20",
            &format!("q={}", enc(&long)),
            "q=-Radweg",
            "q=%22",
            "q=*",
            "q=Radweg&type=Body",
            "q=Radweg&type=Papier",
            "q=Radweg&sort=alphabet",
            "q=Radweg&after=xyz",
            "q=Radweg&limit=0",
            "q=Radweg&date_since=gestern",
            "q=Radweg&wurst=1",
            "q=Radweg&q=Schule",
        ];
        for query in bad {
            let answer = app.get(&format!("{BASE}/search?{query}")).await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "[{l}] {query}");
            assert_eq!(answer.json()["type"], model::ERROR_TYPE, "[{l}] {query}");
        }
        let odd = [
            "NEAR(Radweg Schule)",
            "Radweg*",
            "name:Radweg",
            "Radweg^2",
            "(Radweg",
            "Radweg)",
            "Radweg & Schule",
            "Radweg | Schule",
            "!Radweg",
            "\"Radweg",
            "Radweg\"",
            "'Radweg'",
            "Radweg AND",
            "OR",
            "ODER Radweg",
            "Radweg -",
            "--Radweg",
            "\\",
            "%",
            "Radweg:*",
            "a'b",
            "x <-> y",
            "{Radweg}",
            "Radweg NOT Schule",
            "🚲 Radweg",
            "ß",
            "½",
            "x²",
            "ª",
            "٣",
            "Ⅻ",
            "e\u{301}",
            "\u{345}",
            "ǅ",
            "\u{0}",
            "Radweg\u{200b}",
        ];
        for q in odd {
            let answer = app.get(&format!("{BASE}/search?q={}", enc(q))).await;
            assert!(
                answer.status == StatusCode::OK || answer.status == StatusCode::BAD_REQUEST,
                "[{l}] {q}: {}",
                answer.status
            );
            let text = String::from_utf8_lossy(&answer.body).to_lowercase();
            for leak in ["fts5", "syntax", "tsquery", "sqlite", "postgres"] {
                assert!(!text.contains(leak), "[{l}] {q}: {text}");
            }
        }
        assert_eq!(
            hits(&search(&app, &format!("q={}", enc("NEAR(Radweg"))).await),
            Vec::<i64>::new()
        );
        assert!(
            !hits(&search(&app, &format!("q={}", enc("(Radweg)"))).await).is_empty(),
            "[{l}]"
        );
    });
}

#[test]
fn the_system_and_each_body_advertise_the_search() {
    each_backend(false, |app| async move {
        let c = city(&app);
        let l = app.label();
        let system = app.json(BASE).await;
        assert_eq!(system["server:search"], format!("{BASE}/search"), "[{l}]");
        let body = app.json(&format!("{BASE}/body/{}", c.body)).await;
        let url = body["server:search"].as_str().unwrap().to_string();
        assert_eq!(url, format!("{BASE}/search?body={}", c.body));
        // The advertised URL answers (an empty page), and with a query
        // finds within that Body.
        let empty = app.json(&url).await;
        assert_eq!(empty["pagination"]["totalElements"], 0, "[{l}]");
        let page = app.json(&format!("{url}&q=Schlossberg")).await;
        assert_eq!(hits(&page), vec![c.radweg], "[{l}]");
        let unknown = app
            .get(&format!("{BASE}/search?body=999999&q=Radweg"))
            .await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND, "[{l}]");
    });
}

#[test]
fn a_store_from_before_the_index_is_indexed_by_the_migration() {
    each_backend(false, |app| async move {
        let c = city(&app);
        let l = app.label();
        // The store as it was before migration 000008 ran: no index, and
        // the mark that the migration leaves.
        {
            let mut conn = app.conn();
            let clear = "DELETE FROM search_doc; INSERT INTO search_pending (id) VALUES (1)";
            diesel::connection::SimpleConnection::batch_execute(&mut *conn, clear).unwrap();
            if app.label() == "sqlite" {
                diesel::connection::SimpleConnection::batch_execute(
                    &mut *conn,
                    "DELETE FROM search_text",
                )
                .unwrap();
            }
        }
        assert!(found(&app, "Schlossberg").await.is_empty(), "[{l}]");
        oparl::db::run_migrations(&mut app.conn()).unwrap();
        assert_eq!(found(&app, "Schlossberg").await, vec![c.radweg], "[{l}]");
        let mut radwege = found(&app, "Radwege").await;
        radwege.sort();
        assert_eq!(radwege, vec![c.radweg, c.meeting, c.item], "[{l}]");
        // Once: the mark is gone.
        oparl::db::run_migrations(&mut app.conn()).unwrap();
        let revision = oparl::store::read::revision(&mut app.conn()).unwrap();
        oparl::db::run_migrations(&mut app.conn()).unwrap();
        assert_eq!(
            oparl::store::read::revision(&mut app.conn()).unwrap(),
            revision
        );
    });
}

#[test]
fn papers_rank_above_the_agenda_items_that_repeat_their_names() {
    each_backend(true, |app| async move {
        for q in ["Radweg", "Haushalt", "Schlossberg", "Klimaschutzkonzept"] {
            let page = app.json(&format!("{BASE}/search?q={q}&limit=5")).await;
            let first = &page["data"][0];
            assert_eq!(
                first["type"],
                "https://schema.oparl.org/1.1/Paper",
                "[{}] {q}: {first}",
                app.label()
            );
        }
    });
}
