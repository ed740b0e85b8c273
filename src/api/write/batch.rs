//! `POST {base}/batch`: JSON Lines of operations, applied in one change
//! (one transaction, one revision), all or nothing. Objects created in the
//! batch may be given temporary ids (`"id": "temp:m1"`) that later lines
//! (and later parts of the same object) use as references and as the
//! target of `replace`, `patch`, `delete` and `content`.
//!
//! A line is one of:
//! `{"op":"create","list":"<list URL>","object":{...}}`,
//! `{"op":"replace","id":"<id>","object":{...},"ifMatch":"<ETag>"}`,
//! `{"op":"patch","id":"<id>","patch":{...},"ifMatch":"<ETag>"}`,
//! `{"op":"delete","id":"<id>","ifMatch":"<ETag>"}`,
//! `{"op":"content","id":"<File id>","mimeType":"application/pdf","base64":"..."}`.

use super::apply::{Preconditions, Refusal, Writer, TEMP_PREFIX};
use super::{bad_request, problems_body, Stop};
use crate::api::error::ApiError;
use crate::api::route::{self, Resolved, Route};
use crate::api::Body;
use crate::model::{Kind, ListKind};
use hyper::{Response, StatusCode};
use serde_json::{json, Map, Value};

/// The most lines one batch may hold.
pub const MAX_LINES: usize = 100_000;

/// One parsed line.
#[derive(Debug)]
pub struct Line {
    /// Counted from 1, as editors do.
    pub number: usize,
    pub value: Value,
}

/// Split the body into lines of JSON; a line that is not a JSON object is a
/// 400 naming it (nothing is applied).
pub fn parse(bytes: &[u8]) -> Result<Vec<Line>, ApiError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        bad_request(
            "Der Inhalt der Anfrage ist kein gültiges JSON.",
            format!("the batch is not UTF-8: {e}"),
        )
    })?;
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line).map_err(|e| {
            bad_request(
                "Der Inhalt der Anfrage ist kein gültiges JSON.",
                format!("line {}: not JSON: {e}", i + 1),
            )
        })?;
        if !value.is_object() {
            return Err(bad_request(
                "Der Inhalt der Anfrage ist kein gültiges JSON.",
                format!("line {}: expected a JSON object", i + 1),
            ));
        }
        lines.push(Line {
            number: i + 1,
            value,
        });
        if lines.len() > MAX_LINES {
            return Err(bad_request(
                "Zu viele Zeilen.",
                format!("a batch holds at most {MAX_LINES} lines"),
            ));
        }
    }
    if lines.is_empty() {
        return Err(bad_request(
            "Die Anfrage ist leer.",
            "a batch needs at least one line",
        ));
    }
    Ok(lines)
}

/// Apply every line; on success the answer (per line what happened), else
/// every failed line, and the change is rolled back.
pub(crate) fn apply(w: &mut Writer<'_, '_>, lines: Vec<Line>) -> Result<String, Stop> {
    let mut done = Vec::with_capacity(lines.len());
    let mut failed = Vec::new();
    for line in &lines {
        match one(w, &line.value) {
            Ok(entry) => {
                let mut entry = entry;
                entry.insert("line".into(), line.number.into());
                done.push(Value::Object(entry));
            }
            // A database failure ends the batch at once.
            Err(Refusal::Db(e)) => return Err(Stop::Refused(Refusal::Db(e))),
            Err(r) => failed.push((line.number, r)),
        }
    }
    if !failed.is_empty() {
        return Err(Stop::Lines(failed));
    }
    let body = json!({
        "server:revision": w.change.revision(),
        "server:ids": w.temp_ids(),
        "data": done,
    });
    Ok(body.to_string())
}

fn op_problem(path: &str, message: &str) -> Refusal {
    Refusal::Problems(vec![super::apply::Problem {
        path: path.to_string(),
        message: message.to_string(),
    }])
}

/// The object a line names by `id` (ours, or a temporary id of the batch).
fn target(w: &Writer<'_, '_>, line: &Map<String, Value>) -> Result<(Kind, i64), Refusal> {
    let Some(id) = line.get("id").and_then(Value::as_str) else {
        return Err(op_problem("$.id", "required: the id of the object"));
    };
    if id.starts_with(TEMP_PREFIX) {
        return w.temp(id).ok_or_else(|| {
            op_problem("$.id", "unknown temporary id (give it on an earlier line)")
        });
    }
    if w.urls.is_ours(id) {
        if let Resolved::Found(Route::Object(kind, pk)) = route::resolve(w.urls, w.urls.path_of(id))
        {
            return Ok((kind, pk));
        }
    }
    Err(op_problem("$.id", "not the id of an object of this server"))
}

fn preconditions(line: &Map<String, Value>) -> Result<Preconditions, Refusal> {
    Ok(Preconditions {
        if_match: match line.get("ifMatch") {
            None => None,
            Some(Value::String(t)) => Some(vec![t.clone()]),
            Some(_) => return Err(op_problem("$.ifMatch", "expected an ETag (a string)")),
        },
        if_none_match_any: false,
    })
}

fn one(w: &mut Writer<'_, '_>, value: &Value) -> Result<Map<String, Value>, Refusal> {
    let line = value.as_object().expect("lines are objects (see parse)");
    let op = line.get("op").and_then(Value::as_str).unwrap_or("");
    let mut out = Map::new();
    out.insert("op".into(), op.into());
    let object = |name: &str| -> Result<&Value, Refusal> {
        line.get(name)
            .ok_or_else(|| op_problem(&format!("$.{name}"), "required"))
    };
    match op {
        "create" => {
            let list = line.get("list").and_then(Value::as_str).unwrap_or("");
            let path = if list.starts_with("http://") || list.starts_with("https://") {
                w.urls.path_of(list).to_string()
            } else {
                format!("{}/{}", w.urls.base_path(), list.trim_start_matches('/'))
            };
            let (kind, body) = match (w.urls.is_ours(list) || !list.contains("://"))
                .then(|| route::resolve(w.urls, &path))
            {
                Some(Resolved::Found(Route::List(ListKind::Body(kind), body))) => {
                    (kind, Some(body))
                }
                Some(Resolved::Found(Route::List(ListKind::Bodies, _))) => (Kind::Body, None),
                _ => {
                    return Err(op_problem(
                        "$.list",
                        "expected the URL of a Body's list (…/body/N/meeting) or of the Bodies",
                    ))
                }
            };
            let pk = w.create(kind, body, object("object")?, "$.object")?;
            out.insert("status".into(), 201.into());
            out.insert("id".into(), w.urls.object(kind, pk).into());
        }
        "replace" => {
            let (kind, pk) = target(w, line)?;
            let pre = preconditions(line)?;
            w.replace(kind, pk, object("object")?, "$.object", &pre)?;
            out.insert("status".into(), 200.into());
            out.insert("id".into(), w.urls.object(kind, pk).into());
        }
        "patch" => {
            let (kind, pk) = target(w, line)?;
            let pre = preconditions(line)?;
            w.patch(kind, pk, object("patch")?, "$.patch", &pre)?;
            out.insert("status".into(), 200.into());
            out.insert("id".into(), w.urls.object(kind, pk).into());
        }
        "delete" => {
            let (kind, pk) = target(w, line)?;
            let pre = preconditions(line)?;
            w.delete(kind, pk, &pre)?;
            out.insert("status".into(), 204.into());
            out.insert("id".into(), w.urls.object(kind, pk).into());
        }
        "content" => {
            use base64::Engine;
            let (kind, pk) = target(w, line)?;
            if kind != Kind::File {
                return Err(op_problem("$.id", "content is stored for Files only"));
            }
            let Some(data) = line.get("base64").and_then(Value::as_str) else {
                return Err(op_problem("$.base64", "required: the bytes, in base64"));
            };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data.trim())
                .map_err(|e| op_problem("$.base64", &format!("not base64: {e}")))?;
            let mime = line.get("mimeType").and_then(Value::as_str);
            let pre = preconditions(line)?;
            w.content(pk, &bytes, mime, &pre)?;
            out.insert("status".into(), 200.into());
            out.insert("id".into(), w.urls.object(kind, pk).into());
        }
        _ => {
            return Err(op_problem(
                "$.op",
                "expected one of create, replace, patch, delete, content",
            ))
        }
    }
    Ok(out)
}

/// The answer to a batch with failed lines: the status of the first
/// (422 when any line broke rules), and for every failed line its status
/// and problems, in `server:lines`. Nothing was applied.
pub(crate) fn failed(lines: Vec<(usize, Refusal)>) -> Response<Body> {
    let mut statuses = Vec::new();
    let mut entries = Vec::new();
    for (number, refusal) in lines {
        let (s, entry) = match refusal {
            Refusal::Problems(p) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({ "line": number, "status": 422, "problems": problems_body(&p) }),
            ),
            Refusal::Api(e) => (
                e.status,
                json!({ "line": number, "status": e.status.as_u16(), "message": e.debug }),
            ),
            Refusal::Db(e) => {
                let e = ApiError::from(e);
                (
                    e.status,
                    json!({ "line": number, "status": e.status.as_u16(), "message": e.debug }),
                )
            }
        };
        statuses.push(s);
        entries.push(entry);
    }
    let status = if statuses.contains(&StatusCode::UNPROCESSABLE_ENTITY) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        statuses[0]
    };
    let e = ApiError::new(
        status,
        "Der Stapel wurde nicht angewendet; nichts wurde gespeichert.",
        format!(
            "{} line(s) failed; the whole batch was rolled back",
            entries.len()
        ),
    );
    let mut body = e.body();
    body["server:lines"] = Value::Array(entries);
    crate::api::json_response(status, &body)
}
