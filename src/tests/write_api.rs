//! The write API: tokens and their scopes, every operation and status,
//! preconditions, validation with JSON paths, idempotent retries, batches
//! (all or nothing, temporary ids, File bytes), deletion cleaning
//! references, the audit log, a harvester following writes, and hostile
//! requests.

use crate::support::*;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::{Method, Request, StatusCode};
use oparl::api::{self, write::WriteSettings, AppState};
use oparl::store::{audit, read, tokens};
use oparl::urls::Urls;
use serde_json::{json, Value};
use std::sync::Arc;

/// A write request with a body, as a client sends it.
async fn send(
    state: &Arc<AppState>,
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Answer {
    let target = url.strip_prefix("http://oparl.test").unwrap_or(url);
    let mut req = Request::builder().method(method).uri(target);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = req.body(http_body_util::Full::new(body.into())).unwrap();
    let response = api::handle(Arc::clone(state), req).await;
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

/// A token's secret; `bodies` empty for every Body.
fn token(app: &TestApp, name: &str, bodies: &[i64], read_only: bool) -> String {
    tokens::create(&mut app.conn(), name, bodies, read_only, oparl::time::now())
        .unwrap()
        .1
}

fn bearer(secret: &str) -> String {
    format!("Bearer {secret}")
}

/// A write with a token and a JSON body.
async fn write(app: &TestApp, method: Method, url: &str, secret: &str, body: &Value) -> Answer {
    let auth = bearer(secret);
    send(
        &app.state,
        method,
        url,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        body.to_string(),
    )
    .await
}

/// Insist on a status; show the answer otherwise.
#[track_caller]
fn expect(answer: &Answer, status: u16, what: &str) {
    assert_eq!(
        answer.status.as_u16(),
        status,
        "{what}: {}",
        String::from_utf8_lossy(&answer.body)
    );
}

/// Insist on an Error object with a 4xx status.
#[track_caller]
fn expect_error(answer: &Answer, status: u16, what: &str) -> Value {
    expect(answer, status, what);
    let body = answer.json();
    assert_eq!(body["type"], "https://schema.oparl.org/1.1/Error", "{what}");
    assert!(body["message"].is_string(), "{what}");
    body
}

fn revision(app: &TestApp) -> i64 {
    read::revision(&mut app.conn()).unwrap()
}

/// A new Body, made through the API with a token for every Body.
async fn new_body(app: &TestApp, admin: &str, name: &str) -> String {
    let answer = write(
        app,
        Method::POST,
        &format!("{BASE}/body"),
        admin,
        &json!({ "name": name }),
    )
    .await;
    expect(&answer, 201, "POST body");
    answer.header("location").unwrap().to_string()
}

/// A new Organization named "Rat" in this Body; its id.
async fn new_organization(app: &TestApp, admin: &str, body: &str) -> String {
    let answer = write(
        app,
        Method::POST,
        &format!("{body}/organization"),
        admin,
        &json!({"name": "Rat"}),
    )
    .await;
    expect(&answer, 201, "POST organization");
    answer.json()["id"].as_str().unwrap().to_string()
}

fn problem_paths(body: &Value) -> Vec<String> {
    body["server:problems"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|p| p["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn tokens_authenticate_and_scope_every_write() {
    each_backend(false, |app| async move {
        let admin = token(&app, "admin", &[], false);
        let body = new_body(&app, &admin, "Stadt A").await;
        let other = new_body(&app, &admin, "Stadt B").await;
        let scoped = token(&app, "a-only", &[pk_of(&body)], false);
        let reader = token(&app, "reader", &[], true);
        let revoked = token(&app, "gone", &[], false);
        let id = tokens::list(&mut app.conn())
            .unwrap()
            .into_iter()
            .find(|t| t.name == "gone")
            .unwrap()
            .id;
        assert!(tokens::revoke(&mut app.conn(), id, oparl::time::now()).unwrap());
        let before = revision(&app);
        let paper = json!({ "name": "Antrag" });
        let papers = format!("{body}/paper");

        let none = send(&app.state, Method::POST, &papers, &[], paper.to_string()).await;
        expect_error(&none, 401, "no token");
        assert!(none
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer"));
        let unknown = write(&app, Method::POST, &papers, "oparl_nope", &paper).await;
        expect_error(&unknown, 401, "unknown token");
        assert!(unknown
            .header("www-authenticate")
            .unwrap()
            .contains("invalid_token"));
        expect_error(
            &write(&app, Method::POST, &papers, &revoked, &paper).await,
            401,
            "revoked",
        );
        expect_error(
            &write(&app, Method::POST, &papers, &reader, &paper).await,
            403,
            "read-only",
        );
        let elsewhere = format!("{other}/paper");
        expect_error(
            &write(&app, Method::POST, &elsewhere, &scoped, &paper).await,
            403,
            "other Body",
        );
        let new_body = write(
            &app,
            Method::POST,
            &format!("{BASE}/body"),
            &scoped,
            &json!({"name": "X"}),
        )
        .await;
        expect_error(&new_body, 403, "a scoped token makes no Body");
        let in_query = send(
            &app.state,
            Method::POST,
            &format!("{papers}?access_token={scoped}"),
            &[],
            paper.to_string(),
        )
        .await;
        let refused = expect_error(&in_query, 400, "token in the query string");
        assert!(
            !refused.to_string().contains(&scoped),
            "the token is not echoed"
        );
        assert_eq!(revision(&app), before, "nothing was written");

        let made = write(&app, Method::POST, &papers, &scoped, &paper).await;
        expect(&made, 201, "the right token");
        // The read API stays open.
        expect(
            &app.get(made.header("location").unwrap()).await,
            200,
            "read without token",
        );
    });
}

#[test]
fn failed_authentications_are_limited_per_client() {
    each_backend(false, |app| async move {
        let state = Arc::new(
            AppState::new(app.store.db().clone(), Urls::new(BASE).unwrap(), 1 << 20).with_writes(
                WriteSettings {
                    auth_failures_per_minute: 3,
                    ..WriteSettings::default()
                },
            ),
        );
        let good = token(&app, "admin", &[], false);
        let url = format!("{BASE}/body");
        for _ in 0..3 {
            let a = send(
                &state,
                Method::POST,
                &url,
                &[("authorization", "Bearer oparl_guess")],
                "{}",
            )
            .await;
            expect_error(&a, 401, "a wrong guess");
        }
        let auth = bearer(&good);
        let a = send(
            &state,
            Method::POST,
            &url,
            &[("authorization", &auth)],
            r#"{"name":"B"}"#,
        )
        .await;
        expect_error(
            &a,
            429,
            "blocked after three failures, even with a good token",
        );
        assert!(a.header("retry-after").is_some());
        // Reads are not affected.
        expect(&ask(&state, Method::GET, BASE, &[]).await, 200, "reading");
    });
}

#[test]
fn create_replace_patch_delete_with_preconditions_and_audit() {
    each_backend(false, |app| async move {
        let admin = token(&app, "admin", &[], false);
        let body = new_body(&app, &admin, "Stadt").await;
        let org_id = new_organization(&app, &admin, &body).await;

        // A Meeting with its agenda and location, created at once.
        let meeting = json!({
            "type": "https://schema.oparl.org/1.1/Meeting",
            "name": "1. Sitzung des Rates",
            "start": "2026-12-10T17:00:00+01:00",
            "organization": [org_id],
            "location": { "description": "Rathaus, Saal 1" },
            "agendaItem": [
                { "number": "1", "name": "Eröffnung", "order": 0 },
                { "number": "2", "name": "Haushalt" },
                { "number": "3", "name": "Verschiedenes" }
            ]
        });
        let made = write(
            &app,
            Method::POST,
            &format!("{body}/meeting"),
            &admin,
            &meeting,
        )
        .await;
        expect(&made, 201, "POST meeting");
        let location = made.header("location").unwrap().to_string();
        let etag = made.header("etag").unwrap().to_string();
        let m = made.json();
        assert_eq!(m["id"], location);
        assert_eq!(m["name"], "1. Sitzung des Rates");
        assert_eq!(m["agendaItem"].as_array().unwrap().len(), 3);
        assert_eq!(m["agendaItem"][2]["order"], 2);
        assert_eq!(m["location"]["description"], "Rathaus, Saal 1");
        let read = app.get(&location).await;
        assert_eq!(read.header("etag").unwrap(), etag, "the ETag of GET");
        assert_eq!(read.json(), m, "the answer is the object as served");
        let item = app.json(m["agendaItem"][1]["id"].as_str().unwrap()).await;
        assert_eq!(item["meeting"], location);
        assert_eq!(item["order"], 1);
        let org_now = app.json(&org_id).await;
        assert!(org_now["meeting"].is_string());

        // PUT with the current ETag; then the old one is stale.
        let mut replaced = m.clone();
        replaced["name"] = json!("1. Sitzung (geändert)");
        let auth = bearer(&admin);
        let put = send(
            &app.state,
            Method::PUT,
            &location,
            &[("authorization", &auth), ("if-match", &etag)],
            replaced.to_string(),
        )
        .await;
        expect(&put, 200, "PUT with If-Match");
        assert_eq!(put.json()["name"], "1. Sitzung (geändert)");
        assert_eq!(
            put.json()["agendaItem"],
            m["agendaItem"],
            "children kept as they were"
        );
        let stale = send(
            &app.state,
            Method::PUT,
            &location,
            &[("authorization", &auth), ("if-match", &etag)],
            replaced.to_string(),
        )
        .await;
        expect_error(&stale, 412, "PUT with a stale ETag");
        let create_only = send(
            &app.state,
            Method::PUT,
            &location,
            &[("authorization", &auth), ("if-none-match", "*")],
            replaced.to_string(),
        )
        .await;
        expect_error(&create_only, 412, "If-None-Match: * on an existing object");
        let nothing = send(
            &app.state,
            Method::PUT,
            &format!("{BASE}/meeting/999999"),
            &[("authorization", &auth), ("if-none-match", "*")],
            replaced.to_string(),
        )
        .await;
        expect_error(&nothing, 404, "PUT to an id the server did not mint");

        // PATCH: a merge patch that drops the last agenda item.
        let items = m["agendaItem"].as_array().unwrap();
        let dropped = items[2]["id"].as_str().unwrap().to_string();
        let patch =
            json!({ "name": "1. Sitzung", "agendaItem": [items[0], items[1]], "start": null });
        let patched = write(&app, Method::PATCH, &location, &admin, &patch).await;
        expect(&patched, 200, "PATCH");
        let p = patched.json();
        assert_eq!(p["name"], "1. Sitzung");
        assert!(p.get("start").is_none(), "null removes a member");
        assert_eq!(p["agendaItem"].as_array().unwrap().len(), 2);
        assert_eq!(
            app.json(&dropped).await["deleted"],
            true,
            "the dropped item is a tombstone"
        );

        // A Paper consulted in the meeting; deleting the meeting takes
        // the references to it out of the Consultation.
        let paper = json!({
            "name": "Haushaltssatzung 2027",
            "reference": "VO/2026/1",
            "date": "2026-11-30",
            "consultation": [{ "meeting": location, "agendaItem": items[1]["id"], "role": "Beschluss" }]
        });
        let made = write(&app, Method::POST, &format!("{body}/paper"), &admin, &paper).await;
        expect(&made, 201, "POST paper");
        let consultation = made.json()["consultation"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(app.json(&consultation).await["meeting"], location);
        let deleted = send(
            &app.state,
            Method::DELETE,
            &location,
            &[("authorization", &auth)],
            "",
        )
        .await;
        expect(&deleted, 204, "DELETE");
        assert_eq!(app.json(&location).await["deleted"], true);
        let c = app.json(&consultation).await;
        assert!(
            c.get("meeting").is_none() && c.get("agendaItem").is_none(),
            "{c}"
        );
        let again = send(
            &app.state,
            Method::DELETE,
            &location,
            &[("authorization", &auth)],
            "",
        )
        .await;
        expect_error(&again, 410, "DELETE of a tombstone");
        // A deleted item stays deleted (its Meeting let go of it); a
        // deleted Meeting comes back with PUT, without what went with it.
        let item = write(&app, Method::PUT, &dropped, &admin, &json!({"name": "x"})).await;
        expect_error(&item, 410, "PUT to a deleted AgendaItem");
        let back = write(
            &app,
            Method::PUT,
            &location,
            &admin,
            &json!({"name": "wieder da"}),
        )
        .await;
        expect(&back, 200, "PUT to a deleted Meeting");
        assert_eq!(app.json(&location).await["name"], "wieder da");
        assert!(app.json(&location).await.get("agendaItem").is_none());
        expect(
            &send(
                &app.state,
                Method::DELETE,
                &location,
                &[("authorization", &auth)],
                "",
            )
            .await,
            204,
            "DELETE again",
        );
        let gone = write(
            &app,
            Method::PATCH,
            &location,
            &admin,
            &json!({"name": "x"}),
        )
        .await;
        expect_error(&gone, 410, "PATCH of a tombstone");
        expect_error(
            &send(
                &app.state,
                Method::DELETE,
                &format!("{BASE}/paper/999999"),
                &[("authorization", &auth)],
                "",
            )
            .await,
            404,
            "DELETE of nothing",
        );
        expect_error(
            &send(&app.state, Method::GET, &format!("{BASE}/batch"), &[], "").await,
            405,
            "GET of the batch URL",
        );

        // Every write is in the audit log, with the token's name.
        let entries = audit::entries(&mut app.conn(), None, Some("admin")).unwrap();
        let has = |op: &str, url: &str| {
            entries
                .iter()
                .any(|e| e.operation == op && url.ends_with(&format!("/{}", e.object_pk)))
        };
        assert!(has("create", &location) && has("replace", &location) && has("delete", &location));
        assert!(has("delete", &dropped), "the dropped child is audited");
        assert!(entries.iter().all(|e| e.token == "admin" && e.revision > 0));
        assert!(
            audit::entries(&mut app.conn(), Some(oparl::time::now() + 100), None)
                .unwrap()
                .is_empty()
        );
    });
}

#[test]
fn invalid_writes_are_422_with_every_path_and_store_nothing() {
    each_backend(false, |app| async move {
        let admin = token(&app, "admin", &[], false);
        let body = new_body(&app, &admin, "Stadt").await;
        let other = new_body(&app, &admin, "Nachbarstadt").await;
        let foreign = write(
            &app,
            Method::POST,
            &format!("{other}/person"),
            &admin,
            &json!({"name": "N"}),
        )
        .await;
        let foreign_person = foreign.json()["id"].as_str().unwrap().to_string();
        let org_id = new_organization(&app, &admin, &body).await;
        let before = revision(&app);
        let paper = json!({
            "name": 42,
            "date": "2026-13-01",
            "modified": "yesterday",
            "foo": "bar",
            "city:note": "a vendor property is fine",
            "originatorPerson": [foreign_person, org_id, "https://elsewhere.example/person/1", format!("{BASE}/person/999999")],
            "underDirectionOf": org_id,
            "mainFile": { "name": "Vorlage", "size": "big" },
            "body": other,
            "deleted": true
        });
        let answer = write(&app, Method::POST, &format!("{body}/paper"), &admin, &paper).await;
        let error = expect_error(&answer, 422, "an invalid Paper");
        let paths = problem_paths(&error);
        for path in [
            "$.name",
            "$.date",
            "$.modified",
            "$.foo",
            "$.originatorPerson[0]",
            "$.originatorPerson[1]",
            "$.originatorPerson[2]",
            "$.originatorPerson[3]",
            "$.underDirectionOf",
            "$.mainFile.size",
            "$.body",
            "$.deleted",
        ] {
            assert!(paths.iter().any(|p| p == path), "{path} in {paths:?}");
        }
        assert!(!paths.iter().any(|p| p.contains("city")), "{paths:?}");
        assert_eq!(revision(&app), before, "nothing of it was stored");
        let list = app.json(&format!("{body}/paper")).await;
        assert_eq!(list["data"].as_array().unwrap().len(), 0);

        // AgendaItem.order must be the item's position.
        let meeting = json!({"name": "S", "agendaItem": [{"name": "a", "order": 1}]});
        let answer = write(
            &app,
            Method::POST,
            &format!("{body}/meeting"),
            &admin,
            &meeting,
        )
        .await;
        let error = expect_error(&answer, 422, "an inconsistent order");
        assert_eq!(
            problem_paths(&error),
            vec!["$.agendaItem[0].order".to_string()]
        );
        // Wrong JSON type of the whole object, and of a member.
        let answer = write(
            &app,
            Method::POST,
            &format!("{body}/meeting"),
            &admin,
            &json!([1, 2]),
        )
        .await;
        expect_error(&answer, 422, "an array instead of an object");
        let answer = write(
            &app,
            Method::POST,
            &format!("{body}/meeting"),
            &admin,
            &json!({"agendaItem": "x"}),
        )
        .await;
        expect_error(&answer, 422, "a string instead of an array");
        assert_eq!(revision(&app), before, "nothing of it was stored");
    });
}

#[test]
fn a_retried_post_with_an_idempotency_key_creates_once() {
    each_backend(false, |app| async move {
        let admin = token(&app, "admin", &[], false);
        let body = new_body(&app, &admin, "Stadt").await;
        let auth = bearer(&admin);
        let url = format!("{body}/person");
        let headers = [("authorization", auth.as_str()), ("idempotency-key", "k-1")];
        let first = send(
            &app.state,
            Method::POST,
            &url,
            &headers,
            r#"{"name":"Erika"}"#,
        )
        .await;
        expect(&first, 201, "first POST");
        let second = send(
            &app.state,
            Method::POST,
            &url,
            &headers,
            r#"{"name":"Erika"}"#,
        )
        .await;
        expect(&second, 201, "retried POST");
        assert_eq!(first.header("location"), second.header("location"));
        assert_eq!(first.body, second.body);
        assert_eq!(app.json(&url).await["data"].as_array().unwrap().len(), 1);
        let reused = send(
            &app.state,
            Method::POST,
            &url,
            &headers,
            r#"{"name":"Max"}"#,
        )
        .await;
        expect_error(&reused, 422, "the key with another request");
        let fresh = [("authorization", auth.as_str()), ("idempotency-key", "k-2")];
        expect(
            &send(&app.state, Method::POST, &url, &fresh, r#"{"name":"Max"}"#).await,
            201,
            "new key",
        );
        assert_eq!(app.json(&url).await["data"].as_array().unwrap().len(), 2);
    });
}

/// A meeting with its agenda, a paper consulted in it and the paper's PDF,
/// as one batch.
fn meeting_batch(body: &str, org: &str, pdf: &[u8]) -> String {
    use base64::Engine;
    let lines = [
        json!({"op": "create", "list": format!("{body}/meeting"), "object": {
        "id": "temp:m", "name": "3. Sitzung", "start": "2026-12-17T17:00:00+01:00",
        "organization": [org],
        "agendaItem": [
            {"id": "temp:top1", "number": "1", "name": "Eröffnung"},
            {"id": "temp:top2", "number": "2", "name": "Radweg Schulstraße"}
        ]}}),
        json!({"op": "create", "list": format!("{body}/paper"), "object": {
            "id": "temp:p", "name": "Radweg Schulstraße", "reference": "VO/2026/7", "date": "2026-12-01",
            "mainFile": {"id": "temp:f", "name": "Vorlage", "fileName": "vorlage.pdf", "mimeType": "application/pdf"},
            "consultation": [{"meeting": "temp:m", "agendaItem": "temp:top2", "organization": [org], "role": "Beschluss"}]
        }}),
        json!({"op": "content", "id": "temp:f", "mimeType": "application/pdf",
               "base64": base64::engine::general_purpose::STANDARD.encode(pdf)}),
        json!({"op": "patch", "id": "temp:top2", "patch": {"result": "vertagt"}}),
    ];
    lines.iter().map(|l| l.to_string() + "\n").collect()
}

#[test]
fn a_batch_applies_all_or_nothing_with_references_within_it() {
    each_backend(false, |app| async move {
        use sha2::Digest;
        let admin = token(&app, "admin", &[], false);
        let body = new_body(&app, &admin, "Stadt").await;
        let org = new_organization(&app, &admin, &body).await;
        let auth = bearer(&admin);
        let pdf = oparl::demo::pdf::document("Vorlage", &["Radweg an der Schulstraße".into()]);
        let batch = meeting_batch(&body, &org, &pdf);

        // One bad line at the end: nothing of the others is stored.
        let before = revision(&app);
        let bad = format!(
            "{batch}{}\n",
            json!({"op": "create", "list": format!("{body}/person"), "object": {"name": ["not", "a", "string"]}})
        );
        let answer = send(
            &app.state,
            Method::POST,
            &format!("{BASE}/batch"),
            &[("authorization", &auth)],
            bad,
        )
        .await;
        let error = expect_error(&answer, 422, "a batch with a bad line");
        assert_eq!(error["server:lines"][0]["line"], 5, "{error}");
        assert_eq!(
            error["server:lines"][0]["problems"][0]["path"],
            "$.object.name"
        );
        assert_eq!(revision(&app), before, "rolled back");
        assert!(app.json(&format!("{body}/meeting")).await["data"]
            .as_array()
            .unwrap()
            .is_empty());

        let keyed = [
            ("authorization", auth.as_str()),
            ("idempotency-key", "batch-1"),
        ];
        let answer = send(
            &app.state,
            Method::POST,
            &format!("{BASE}/batch"),
            &keyed,
            batch.clone(),
        )
        .await;
        expect(&answer, 200, "the batch");
        let applied = revision(&app);
        // Sent again (the answer was lost): nothing new, the same answer.
        let retry = send(
            &app.state,
            Method::POST,
            &format!("{BASE}/batch"),
            &keyed,
            batch,
        )
        .await;
        expect(&retry, 200, "the retried batch");
        assert_eq!(retry.body, answer.body);
        assert_eq!(revision(&app), applied, "applied once");
        let result = answer.json();
        assert_eq!(result["data"].as_array().unwrap().len(), 4);
        assert_eq!(result["data"][0]["status"], 201);
        let ids = &result["server:ids"];
        let meeting = app.json(ids["temp:m"].as_str().unwrap()).await;
        let paper = app.json(ids["temp:p"].as_str().unwrap()).await;
        let top2 = ids["temp:top2"].as_str().unwrap();
        assert_eq!(meeting["agendaItem"][1]["id"], top2);
        assert_eq!(meeting["agendaItem"][1]["result"], "vertagt");
        assert_eq!(paper["consultation"][0]["meeting"], meeting["id"]);
        assert_eq!(paper["consultation"][0]["agendaItem"], top2);
        let file = &paper["mainFile"];
        assert_eq!(file["size"], pdf.len());
        assert_eq!(
            file["sha512Checksum"],
            oparl::text::hex(&sha2::Sha512::digest(&pdf))
        );
        // The PDF's text, read before the batch's change.
        assert_eq!(file["text"], "Vorlage\nRadweg an der Schulstraße");
        let bytes = app.get(file["accessUrl"].as_str().unwrap()).await;
        expect(&bytes, 200, "the File's bytes");
        assert_eq!(bytes.body.as_ref(), pdf.as_slice());
        // One change: every object of it has the batch's revision.
        let batch_revision = result["server:revision"].as_i64().unwrap();
        let feed = app.json(&format!("{BASE}/changes?after={before}")).await;
        let data = feed["data"].as_array().unwrap();
        assert!(
            data.iter().all(|e| e["server:revision"] == batch_revision),
            "{feed}"
        );
        let audit = audit::entries(&mut app.conn(), None, None).unwrap();
        assert!(
            audit
                .iter()
                .filter(|e| e.revision == batch_revision)
                .count()
                >= 6
        );
        // A PATCH of the Paper writes the Paper alone: the children it
        // embeds, sent back unchanged, are not written again.
        let patched = write(
            &app,
            Method::PATCH,
            paper["id"].as_str().unwrap(),
            &admin,
            &json!({"name": "Radweg"}),
        )
        .await;
        expect(&patched, 200, "PATCH paper");
        let last = revision(&app);
        let written: Vec<_> = audit::entries(&mut app.conn(), None, None)
            .unwrap()
            .into_iter()
            .filter(|e| e.revision == last)
            .map(|e| (e.operation, e.kind))
            .collect();
        assert_eq!(
            written,
            vec![("replace".to_string(), oparl::model::Kind::Paper.code())]
        );
    });
}

#[test]
fn file_content_is_stored_with_its_size_and_checksums_and_limited() {
    each_backend(false, |app| async move {
        use sha2::Digest;
        let admin = token(&app, "admin", &[], false);
        let body = new_body(&app, &admin, "Stadt").await;
        let made = write(
            &app,
            Method::POST,
            &format!("{body}/file"),
            &admin,
            &json!({"name": "Protokoll", "fileName": "p.txt"}),
        )
        .await;
        expect(&made, 201, "POST file");
        let id = made.header("location").unwrap().to_string();
        let auth = bearer(&admin);
        let text = "Protokoll der Sitzung vom 10. Dezember".as_bytes();
        let put = send(
            &app.state,
            Method::PUT,
            &format!("{id}/content"),
            &[("authorization", &auth), ("content-type", "text/plain")],
            text.to_vec(),
        )
        .await;
        expect(&put, 200, "PUT content");
        let f = put.json();
        assert_eq!(f["size"], text.len());
        assert_eq!(
            f["sha512Checksum"],
            oparl::text::hex(&sha2::Sha512::digest(text))
        );
        assert_eq!(f["mimeType"], "text/plain");
        assert_eq!(f["text"], "Protokoll der Sitzung vom 10. Dezember");
        assert_eq!(
            app.get(f["downloadUrl"].as_str().unwrap())
                .await
                .body
                .as_ref(),
            text
        );
        let found = app
            .json(&format!("{BASE}/search?q=Dezember&type=File"))
            .await;
        assert_eq!(found["data"][0]["id"], id, "the text is searched: {found}");
        // A Body that still holds objects is not deleted.
        let refused = send(
            &app.state,
            Method::DELETE,
            &body,
            &[("authorization", &bearer(&admin))],
            "",
        )
        .await;
        expect_error(&refused, 409, "DELETE of a Body with objects");
        // The size and checksums cannot be overwritten by hand.
        let patched = write(
            &app,
            Method::PATCH,
            &id,
            &admin,
            &json!({"size": 1, "name": "P"}),
        )
        .await;
        expect(&patched, 200, "PATCH");
        assert_eq!(patched.json()["size"], text.len());

        let small = Arc::new(
            AppState::new(app.store.db().clone(), Urls::new(BASE).unwrap(), 1 << 20).with_writes(
                WriteSettings {
                    max_body_bytes: 1024,
                    max_file_bytes: 2048,
                    ..WriteSettings::default()
                },
            ),
        );
        let before = revision(&app);
        let big = send(
            &small,
            Method::PUT,
            &format!("{id}/content"),
            &[("authorization", &auth)],
            vec![b'x'; 4096],
        )
        .await;
        expect_error(&big, 413, "content over the limit");
        let declared = send(
            &small,
            Method::POST,
            &format!("{body}/person"),
            &[("authorization", &auth), ("content-length", "104857600")],
            "{}",
        )
        .await;
        expect_error(&declared, 413, "a declared 100 MB body");
        let long = json!({"name": "x".repeat(2000)}).to_string();
        let big = send(
            &small,
            Method::POST,
            &format!("{body}/person"),
            &[("authorization", &auth)],
            long,
        )
        .await;
        expect_error(&big, 413, "JSON over the limit");
        assert_eq!(revision(&app), before);
    });
}

#[test]
fn a_pdf_uploaded_as_file_content_gets_its_text_and_is_found() {
    each_backend(false, |app| async move {
        let admin = token(&app, "admin", &[], false);
        let body = new_body(&app, &admin, "Stadt").await;
        let made = write(
            &app,
            Method::POST,
            &format!("{body}/paper"),
            &admin,
            &json!({"name": "Haushaltssatzung 2027", "mainFile":
                {"name": "Entwurf", "fileName": "entwurf.pdf", "mimeType": "application/pdf"}}),
        )
        .await;
        expect(&made, 201, "POST paper");
        let file = made.json()["mainFile"]["id"].as_str().unwrap().to_string();
        let pdf = oparl::demo::pdf::document(
            "Entwurf der Haushaltssatzung",
            &["Die Grundsteuer für Wohngebäude steigt um fünf Prozent.".into()],
        );
        let put = send(
            &app.state,
            Method::PUT,
            &format!("{file}/content"),
            &[
                ("authorization", &bearer(&admin)),
                ("content-type", "application/pdf"),
            ],
            pdf,
        )
        .await;
        expect(&put, 200, "PUT content");
        assert_eq!(
            put.json()["text"],
            "Entwurf der Haushaltssatzung\nDie Grundsteuer für Wohngebäude steigt um fünf Prozent."
        );
        let found = app.json(&format!("{BASE}/search?q=Wohngebäude")).await;
        let mut ids: Vec<&str> = found["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap())
            .collect();
        ids.sort();
        let mut want = vec![file.as_str(), made.header("location").unwrap()];
        want.sort();
        assert_eq!(ids, want, "the File and its Paper: {found}");

        // Bytes that are no PDF replace the text with none.
        let put = send(
            &app.state,
            Method::PUT,
            &format!("{file}/content"),
            &[("authorization", &bearer(&admin))],
            b"%PDF-1.4 truncated".to_vec(),
        )
        .await;
        expect(&put, 200, "PUT broken content");
        assert!(put.json().get("text").is_none(), "{}", put.json());
        let found = app.json(&format!("{BASE}/search?q=Wohngebäude")).await;
        assert_eq!(found["data"].as_array().unwrap().len(), 0, "{found}");
    });
}

#[test]
fn a_harvester_sees_every_write_exactly_once() {
    each_backend(false, |app| async move {
        let admin = token(&app, "admin", &[], false);
        let body = new_body(&app, &admin, "Stadt").await;
        let start = oparl::time::now();
        let mut after = revision(&app);
        let mut seen: Vec<(String, i64)> = Vec::new();
        let mut expected: Vec<(String, Option<String>)> = Vec::new();
        let papers = format!("{body}/paper");
        for round in 0..6 {
            // A write of each kind, then one poll of the feed.
            let made = write(
                &app,
                Method::POST,
                &papers,
                &admin,
                &json!({"name": format!("Vorlage {round}")}),
            )
            .await;
            expect(&made, 201, "POST");
            let id = made.header("location").unwrap().to_string();
            expected.push((id.clone(), Some(format!("Vorlage {round}"))));
            if round % 2 == 1 {
                let (prev, _) = expected[round - 1].clone();
                let p = write(
                    &app,
                    Method::PATCH,
                    &prev,
                    &admin,
                    &json!({"name": format!("geändert {round}")}),
                )
                .await;
                expect(&p, 200, "PATCH");
                expected[round - 1].1 = Some(format!("geändert {round}"));
            }
            if round == 4 {
                let auth = bearer(&admin);
                let d = send(
                    &app.state,
                    Method::DELETE,
                    &expected[0].0,
                    &[("authorization", &auth)],
                    "",
                )
                .await;
                expect(&d, 204, "DELETE");
                expected[0].1 = None;
            }
            let mut next = Some(format!("{BASE}/changes?after={after}"));
            while let Some(url) = next {
                let page = app.json(&url).await;
                for e in page["data"].as_array().unwrap() {
                    seen.push((
                        e["id"].as_str().unwrap().to_string(),
                        e["server:revision"].as_i64().unwrap(),
                    ));
                }
                after = page["server:revision"].as_i64().unwrap();
                next = page["links"]["next"].as_str().map(str::to_string);
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "no change twice: {seen:?}");
        for (id, name) in &expected {
            assert!(seen.iter().any(|(s, _)| s == id), "{id} seen in the feed");
            let now = app.json(id).await;
            match name {
                Some(name) => assert_eq!(&now["name"], name),
                None => assert_eq!(now["deleted"], true),
            }
        }
        // The same with modified_since: every written paper, in its last state.
        let since = enc(&oparl::time::format_datetime(start));
        let listed = app.walk(&format!("{papers}?modified_since={since}")).await;
        for (id, name) in &expected {
            let entry = listed.iter().filter(|p| p["id"] == *id).collect::<Vec<_>>();
            assert_eq!(entry.len(), 1, "{id} listed once");
            match name {
                Some(name) => assert_eq!(&entry[0]["name"], name),
                None => assert_eq!(entry[0]["deleted"], true),
            }
        }
    });
}

#[test]
fn hostile_writes_get_4xx_store_nothing_and_the_server_keeps_serving() {
    each_backend(false, |app| async move {
        let admin = token(&app, "admin", &[], false);
        let body = new_body(&app, &admin, "Stadt").await;
        let other = new_body(&app, &admin, "Nachbarstadt").await;
        let theirs = write(
            &app,
            Method::POST,
            &format!("{other}/organization"),
            &admin,
            &json!({"name": "R"}),
        )
        .await;
        let theirs = theirs.json()["id"].as_str().unwrap().to_string();
        let auth = bearer(&admin);
        let papers = format!("{body}/paper");
        let before = revision(&app);
        let post = |raw: String| {
            let state = Arc::clone(&app.state);
            let url = papers.clone();
            let auth = auth.clone();
            async move { send(&state, Method::POST, &url, &[("authorization", &auth)], raw).await }
        };
        // Malformed JSON and deep nesting: 400.
        for raw in [
            "{\"name\": ".to_string(),
            "\u{0}".to_string(),
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
            format!(
                "{{\"city:x\": {}1{}}}",
                "{\"a\":".repeat(5000),
                "}".repeat(5000)
            ),
        ] {
            expect_error(&post(raw).await, 400, "malformed or too deep");
        }
        // Wrong types, foreign ids, metacharacters in references and ids.
        for (value, path) in [
            (json!({"name": {"a": 1}}), "$.name"),
            (json!({"keyword": "not an array"}), "$.keyword"),
            (json!({"relatedPaper": [1, 2]}), "$.relatedPaper[0]"),
            (
                json!({"underDirectionOf": [theirs]}),
                "$.underDirectionOf[0]",
            ),
            (
                json!({"underDirectionOf": ["https://other.example/oparl/v1.1/organization/1"]}),
                "$.underDirectionOf[0]",
            ),
            (
                json!({"underDirectionOf": [format!("{BASE}/organization/1' OR '1'='1")]}),
                "$.underDirectionOf[0]",
            ),
            (
                json!({"underDirectionOf": [format!("{BASE}/../../etc/passwd")]}),
                "$.underDirectionOf[0]",
            ),
            (
                json!({"underDirectionOf": [format!("{BASE}/organization/%2e%2e")]}),
                "$.underDirectionOf[0]",
            ),
            (
                json!({"id": format!("{BASE}/paper/1; DROP TABLE object")}),
                "$.id",
            ),
            (json!({"mainFile": {"id": "../../file/1"}}), "$.mainFile.id"),
            (
                json!({"'; DROP TABLE object; --": 1}),
                "$[\"'; DROP TABLE object; --\"]",
            ),
        ] {
            let answer = post(value.to_string()).await;
            let error = expect_error(&answer, 422, &value.to_string());
            assert!(
                problem_paths(&error).iter().any(|p| p == path),
                "{path}: {error}"
            );
        }
        // Metacharacters in paths of write requests.
        for url in [
            format!("{BASE}/paper/1%27%20OR%201=1"),
            format!("{BASE}/paper/../body"),
            format!("{BASE}/body/1;DROP/paper"),
        ] {
            let answer = send(
                &app.state,
                Method::PUT,
                &url,
                &[("authorization", &auth)],
                "{}",
            )
            .await;
            assert!(answer.status.is_client_error(), "{url}: {}", answer.status);
            expect_error(&answer, answer.status.as_u16(), &url);
        }
        // A body over the default limit of 16 MB, without Content-Length.
        let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(17 << 20));
        expect_error(&post(huge).await, 413, "a 17 MB body");
        assert_eq!(revision(&app), before, "nothing of it was stored");
        // A plain value with metacharacters is just text, kept as it is.
        let name = "'; DROP TABLE object; -- ../../etc/passwd %00 <script>";
        let made = write(&app, Method::POST, &papers, &admin, &json!({"name": name})).await;
        expect(&made, 201, "a name with metacharacters");
        assert_eq!(
            app.json(made.header("location").unwrap()).await["name"],
            name
        );
        // And the server keeps serving.
        expect(&app.get(BASE).await, 200, "the System");
        assert_eq!(app.json(&papers).await["data"].as_array().unwrap().len(), 1);
        let _ = StatusCode::OK;
    });
}

#[test]
fn cors_preflights_for_writes_are_answered_only_for_configured_origins() {
    each_backend(false, |app| async move {
        let preflight = |state: Arc<AppState>| async move {
            ask(
                &state,
                Method::OPTIONS,
                &format!("{BASE}/body"),
                &[
                    ("origin", "https://admin.example.de"),
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", "authorization"),
                ],
            )
            .await
        };
        let closed = preflight(Arc::clone(&app.state)).await;
        assert!(
            closed.header("access-control-allow-methods").is_none(),
            "none by default"
        );
        let open = Arc::new(
            AppState::new(app.store.db().clone(), Urls::new(BASE).unwrap(), 1 << 20).with_writes(
                WriteSettings {
                    cors_origins: vec!["https://admin.example.de".into()],
                    ..WriteSettings::default()
                },
            ),
        );
        let allowed = preflight(Arc::clone(&open)).await;
        assert_eq!(allowed.status, 204);
        assert_eq!(
            allowed.header("access-control-allow-origin"),
            Some("https://admin.example.de")
        );
        assert!(allowed
            .header("access-control-allow-methods")
            .unwrap()
            .contains("PATCH"));
        assert!(allowed
            .header("access-control-allow-headers")
            .unwrap()
            .contains("Authorization"));
        // The read API keeps its open CORS header; write answers name the
        // configured origin only.
        let read = ask(
            &open,
            Method::GET,
            BASE,
            &[("origin", "https://evil.example")],
        )
        .await;
        assert_eq!(read.header("access-control-allow-origin"), Some("*"));
        let write = send(
            &open,
            Method::POST,
            &format!("{BASE}/body"),
            &[("origin", "https://evil.example")],
            "{}",
        )
        .await;
        assert_eq!(write.status, 401);
        assert_ne!(
            write.header("access-control-allow-origin"),
            Some("https://evil.example")
        );
        let auth = bearer(&token(&app, "admin", &[], false));
        let mine = send(
            &open,
            Method::POST,
            &format!("{BASE}/body"),
            &[
                ("origin", "https://admin.example.de"),
                ("authorization", &auth),
            ],
            r#"{"name": "B"}"#,
        )
        .await;
        assert_eq!(mine.status, 201);
        assert_eq!(
            mine.header("access-control-allow-origin"),
            Some("https://admin.example.de")
        );
    });
}

#[test]
fn objects_that_live_inside_a_parent_are_created_into_it() {
    each_backend(false, |app| async move {
        let admin = token(&app, "admin", &[], false);
        let body = new_body(&app, &admin, "Stadt").await;
        let post = |list: &str, value: Value| {
            let url = format!("{body}/{list}");
            let admin = admin.clone();
            let app = &app;
            async move { write(app, Method::POST, &url, &admin, &value).await }
        };
        let meeting = post(
            "meeting",
            json!({"name": "S", "agendaItem": [{"name": "a"}]}),
        )
        .await;
        let meeting = meeting.json()["id"].as_str().unwrap().to_string();
        let item = post(
            "agenda-item",
            json!({"meeting": meeting, "name": "b", "order": 1}),
        )
        .await;
        expect(&item, 201, "an AgendaItem into its Meeting");
        assert_eq!(item.json()["meeting"], meeting);
        assert_eq!(item.json()["order"], 1);
        assert_eq!(app.json(&meeting).await["agendaItem"][1]["name"], "b");
        let orphan = post("agenda-item", json!({"name": "c"})).await;
        let error = expect_error(&orphan, 422, "an AgendaItem without its Meeting");
        assert_eq!(problem_paths(&error), vec!["$.meeting".to_string()]);

        let person = post("person", json!({"name": "Erika Mustermann"})).await;
        let person = person.json()["id"].as_str().unwrap().to_string();
        let org = post("organization", json!({"name": "Rat"})).await;
        let org = org.json()["id"].as_str().unwrap().to_string();
        let membership = post(
            "membership",
            json!({"person": person, "organization": org, "role": "Mitglied"}),
        )
        .await;
        expect(&membership, 201, "a Membership into its Person");
        let membership = membership.json()["id"].as_str().unwrap().to_string();
        assert_eq!(app.json(&person).await["membership"][0]["id"], membership);
        assert_eq!(app.json(&org).await["membership"][0], membership);
        let term = post(
            "legislative-term",
            json!({"name": "2026-2031", "startDate": "2026-11-01"}),
        )
        .await;
        expect(&term, 201, "a LegislativeTerm into its Body");
        assert_eq!(
            app.json(&body).await["legislativeTerm"][0]["name"],
            "2026-2031"
        );

        // A write does not move a child to another parent.
        let other = post("person", json!({"name": "Max"})).await;
        let other = other.json()["id"].as_str().unwrap().to_string();
        let moved = write(
            &app,
            Method::PATCH,
            &membership,
            &admin,
            &json!({"person": other}),
        )
        .await;
        let error = expect_error(&moved, 422, "moving a Membership");
        assert_eq!(problem_paths(&error), vec!["$.person".to_string()]);
        let stolen = write(
            &app,
            Method::PATCH,
            &other,
            &admin,
            &json!({"membership": [membership]}),
        )
        .await;
        expect_error(&stolen, 422, "embedding another Person's Membership");
        // Deleting the Person deletes its Memberships, and the
        // Organization no longer lists it.
        let auth = bearer(&admin);
        expect(
            &send(
                &app.state,
                Method::DELETE,
                &person,
                &[("authorization", &auth)],
                "",
            )
            .await,
            204,
            "DELETE",
        );
        assert_eq!(app.json(&membership).await["deleted"], true);
        assert!(app.json(&org).await.get("membership").is_none());
    });
}

/// `oparl` on this test's store, with its standard output.
fn cli(app: &TestApp, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_oparl"))
        .arg("--database-url")
        .arg(&app.store.url)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    if !out.status.success() {
        // Shown with the assertion that fails on it.
        eprintln!(
            "oparl {args:?} ended with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn token_and_audit_commands() {
    each_backend(false, |app| async move {
        let admin = token(&app, "admin", &[], false);
        let body = new_body(&app, &admin, "Stadt").await;
        let n = pk_of(&body).to_string();
        let (ok, out) = cli(
            &app,
            &["token", "create", "--name", "Ratsinfo", "--body", &n],
        );
        assert!(ok, "{out}");
        let secret = out.trim().to_string();
        assert!(
            secret.starts_with("oparl_") && secret.len() == 70,
            "{secret}"
        );
        let (ok, _) = cli(
            &app,
            &["token", "create", "--name", "x", "--body", "999999"],
        );
        assert!(!ok, "a token for a Body that does not exist");
        let (_, list) = cli(&app, &["token", "list"]);
        assert!(
            list.contains("Ratsinfo") && !list.contains(&secret),
            "{list}"
        );
        assert!(
            !list.contains(&tokens::hash_of(&secret)),
            "not even the hash is shown"
        );

        let made = write(
            &app,
            Method::POST,
            &format!("{body}/person"),
            &secret,
            &json!({"name": "E"}),
        )
        .await;
        expect(&made, 201, "POST with the new token");
        let (_, log) = cli(&app, &["audit", "--token", "Ratsinfo"]);
        let pk = pk_of(made.header("location").unwrap()).to_string();
        assert!(
            log.lines().any(|l| l.contains("Ratsinfo")
                && l.contains("create")
                && l.contains("Person")
                && l.ends_with(&pk)),
            "{log}"
        );
        let (_, none) = cli(
            &app,
            &[
                "audit",
                "--token",
                "admin",
                "--since",
                "2100-01-01T00:00:00+00:00",
            ],
        );
        assert_eq!(none.lines().count(), 1, "the header only: {none}");

        let id = list
            .lines()
            .find(|l| l.contains("Ratsinfo"))
            .unwrap()
            .split('\t')
            .next()
            .unwrap()
            .to_string();
        let (ok, _) = cli(&app, &["token", "revoke", &id]);
        assert!(ok);
        let refused = write(
            &app,
            Method::POST,
            &format!("{body}/person"),
            &secret,
            &json!({"name": "F"}),
        )
        .await;
        expect_error(&refused, 401, "a revoked token");
    });
}

/// A PATCH of plain values takes the short way (`apply::plain_patch`): the
/// same outcome as the full walk, which a patch naming `type` still takes.
/// Checked on twin Meetings: both end up alike, children and references
/// kept, what embeds the patched item re-stamped, bad values refused, and
/// a patch that changes nothing leaves the ETag.
#[test]
fn a_patch_of_plain_values_equals_the_full_walk() {
    each_backend(false, |app| async move {
        let admin = token(&app, "admin", &[], false);
        let body = new_body(&app, &admin, "Stadt").await;
        let org_id = new_organization(&app, &admin, &body).await;
        let meeting = json!({
            "name": "Sitzung",
            "organization": [org_id],
            "location": { "description": "Rathaus" },
            "agendaItem": [{ "number": "1", "name": "Eröffnung" }, { "number": "2", "name": "Haushalt" }]
        });
        let mut twins = Vec::new();
        for _ in 0..2 {
            let made = write(
                &app,
                Method::POST,
                &format!("{body}/meeting"),
                &admin,
                &meeting,
            )
            .await;
            expect(&made, 201, "POST meeting");
            twins.push(made.json());
        }
        let first_etag = app
            .get(twins[0]["id"].as_str().unwrap())
            .await
            .header("etag")
            .unwrap()
            .to_string();
        // The second agenda item of each, patched: the short way, and the
        // full walk (a patch naming `type` takes it).
        let patch = json!({"name": "Haushalt 2027", "public": false, "city:note": {"a": 1}});
        let mut full = patch.clone();
        full["type"] = json!("https://schema.oparl.org/1.1/AgendaItem");
        let mut items = Vec::new();
        for (twin, patch) in twins.iter().zip([&patch, &full]) {
            let url = twin["agendaItem"][1]["id"].as_str().unwrap().to_string();
            let before = revision(&app);
            let patched = write(&app, Method::PATCH, &url, &admin, patch).await;
            expect(&patched, 200, "PATCH of an agenda item");
            assert_eq!(revision(&app), before + 1);
            items.push((url, patched));
        }
        let strip = |mut v: Value| {
            for key in ["id", "meeting", "created", "modified"] {
                v.as_object_mut().unwrap().remove(key);
            }
            v
        };
        assert_eq!(strip(items[0].1.json()), strip(items[1].1.json()));
        let item = items[0].1.json();
        assert_eq!(item["name"], "Haushalt 2027");
        assert_eq!(item["public"], false);
        assert_eq!(item["order"], 1);
        assert_eq!(item["meeting"], twins[0]["id"]);
        // What embeds it shows the change and was re-stamped.
        let m = app.get(twins[0]["id"].as_str().unwrap()).await;
        assert_eq!(m.json()["agendaItem"][1]["name"], "Haushalt 2027");
        assert_eq!(m.json()["agendaItem"][0], twins[0]["agendaItem"][0]);
        assert_eq!(m.json()["location"]["description"], "Rathaus");
        assert_ne!(
            m.header("etag").unwrap(),
            first_etag,
            "the Meeting was re-stamped"
        );
        // Objects merge member by member (RFC 7396), null removes.
        let (url, _) = &items[0];
        let merged = write(
            &app,
            Method::PATCH,
            url,
            &admin,
            &json!({"city:note": {"b": 2}, "public": null}),
        )
        .await;
        expect(&merged, 200, "PATCH merging an object");
        assert_eq!(merged.json()["city:note"], json!({"a": 1, "b": 2}));
        assert!(merged.json().get("public").is_none());
        // A wrong type is refused with its path, and nothing is stored.
        let before = revision(&app);
        let wrong = write(&app, Method::PATCH, url, &admin, &json!({"name": 5})).await;
        let refused = expect_error(&wrong, 422, "PATCH with a number for a name");
        assert_eq!(problem_paths(&refused), ["$.name"]);
        assert_eq!(revision(&app), before);
        assert_eq!(app.json(url).await["name"], "Haushalt 2027");
        // A patch that changes nothing keeps the ETag.
        let etag = app.get(url).await.header("etag").unwrap().to_string();
        let same = write(
            &app,
            Method::PATCH,
            url,
            &admin,
            &json!({"name": "Haushalt 2027"}),
        )
        .await;
        expect(&same, 200, "PATCH to the same value");
        assert_eq!(same.header("etag").unwrap(), etag);
    });
}

/// A batch larger than what the write path keeps waiting before it writes
/// (`store::write::PENDING_ROWS`), with reads of waiting objects between
/// the creates (a patch of one, a reference to one): every object lands
/// once, with its own id, in the lists and the search index.
#[test]
fn a_large_batch_lands_whole_with_reads_between_its_creates() {
    each_backend(false, |app| async move {
        let admin = token(&app, "admin", &[], false);
        let body = new_body(&app, &admin, "Stadt").await;
        let mut lines = String::new();
        let person = |i: usize| {
            json!({"op": "create", "list": format!("{body}/person"),
                   "object": {"id": format!("temp:p{i}"), "name": format!("Person {i}")}})
        };
        for i in 0..1500 {
            lines.push_str(&format!("{}\n", person(i)));
        }
        lines.push_str(&format!(
            "{}\n",
            json!({"op": "patch", "id": "temp:p7", "patch": {"name": "Zwirbelmeier"}})
        ));
        for i in 1500..3000 {
            lines.push_str(&format!("{}\n", person(i)));
        }
        lines.push_str(&format!(
            "{}\n",
            json!({"op": "create", "list": format!("{body}/paper"),
                   "object": {"name": "Antrag", "originatorPerson": ["temp:p2999", "temp:p7"]}})
        ));
        let answer = send(
            &app.state,
            Method::POST,
            &format!("{BASE}/batch"),
            &[("authorization", &bearer(&admin))],
            lines,
        )
        .await;
        expect(&answer, 200, "the batch");
        let ids = answer.json()["server:ids"].as_object().unwrap().clone();
        assert_eq!(ids.len(), 3000);
        let distinct: std::collections::HashSet<&str> =
            ids.values().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(distinct.len(), 3000, "every object its own id");
        let mut listed = std::collections::HashSet::new();
        let mut next = Some(format!("{body}/person?limit=1000"));
        while let Some(url) = next {
            let page = app.json(&url).await;
            for p in page["data"].as_array().unwrap() {
                listed.insert(p["id"].as_str().unwrap().to_string());
            }
            next = page["links"]["next"].as_str().map(str::to_string);
        }
        assert_eq!(listed.len(), 3000, "every Person listed once");
        assert!(distinct.iter().all(|id| listed.contains(*id)));
        let last = app.json(ids["temp:p2999"].as_str().unwrap()).await;
        assert_eq!(last["name"], "Person 2999");
        assert_eq!(
            app.json(ids["temp:p7"].as_str().unwrap()).await["name"],
            "Zwirbelmeier"
        );
        let papers = app.json(&format!("{body}/paper")).await;
        assert_eq!(
            papers["data"][0]["originatorPerson"],
            json!([ids["temp:p2999"], ids["temp:p7"]])
        );
        let found = app.json(&format!("{BASE}/search?q=Zwirbelmeier")).await;
        assert_eq!(found["data"][0]["id"], ids["temp:p7"], "{found}");
    });
}
