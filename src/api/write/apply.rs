//! Applying the writes of the write API inside one change of the store:
//! OParl JSON in, objects and links out, with every rule of the read side
//! checked on the way (references resolve to live objects of the right
//! type in the same Body, dates well-formed, members known or
//! vendor-prefixed, types right: see [`Writer::node`]). A problem does not
//! stop the walk, so one answer lists them all; the caller then rolls the
//! change back ([`Refusal`] is an `Err` of `store::write::change_with`),
//! and nothing of the request stays.

use crate::api::error::ApiError;
use crate::api::route::{self, Resolved, Route};
use crate::db::{AnyConnection, DbError};
use crate::model::{self, Kind, Shape, MEETING_AGENDA_ITEM, ORGANIZATION_MEMBERSHIP, RELS};
use crate::render::{self, Options};
use crate::store::read::{self, LinkRow, ObjectHead, ObjectRow};
use crate::store::tokens::Token;
use crate::store::write::{Change, Fields, NewObject};
use crate::urls::Urls;
use hyper::StatusCode;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// What a client may call an object it creates, to refer to it later in
/// the same request (a batch): `temp:` and a name of its choice.
pub const TEMP_PREFIX: &str = "temp:";

/// One problem of a request, at its JSON path (`$.agendaItem[2].start`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

/// Why a write was not applied. Every variant rolls the change back.
#[derive(Debug)]
pub enum Refusal {
    /// The request is well-formed but breaks rules: 422, listing them.
    Problems(Vec<Problem>),
    /// Anything else with a status of its own (403, 404, 410, 412, ...).
    Api(ApiError),
    Db(DbError),
}

impl From<DbError> for Refusal {
    fn from(e: DbError) -> Refusal {
        Refusal::Db(e)
    }
}

impl From<diesel::result::Error> for Refusal {
    fn from(e: diesel::result::Error) -> Refusal {
        Refusal::Db(e.into())
    }
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Refusal {
        Refusal::Api(e)
    }
}

/// The preconditions of a request on an existing object (RFC 9110 §13.1).
#[derive(Debug, Clone, Default)]
pub struct Preconditions {
    /// `If-Match`: the ETags one of which the object must have now (`*`:
    /// any existing object).
    pub if_match: Option<Vec<String>>,
    /// `If-None-Match: *`: only if the object does not exist.
    pub if_none_match_any: bool,
}

/// The ETag of an object's standalone JSON, as `GET {id}` sends it.
pub fn object_etag(urls: &Urls, head: &ObjectHead) -> String {
    crate::api::http_cache::Tag::new(urls.system().as_str())
        .add("object")
        .number(head.pk)
        .number(head.revision)
        .add([0u8])
        .finish()
}

/// The writes of one request, applied to one open change.
pub struct Writer<'w, 'c> {
    pub change: &'w mut Change<'c>,
    pub urls: &'w Urls,
    pub now: i64,
    token: &'w Token,
    /// Temporary ids of this request: pk, kind, Body.
    temps: HashMap<String, (i64, Kind, i64)>,
    /// What was written on purpose: operation, pk, kind.
    pub audit: Vec<(&'static str, i64, Kind)>,
    problems: Vec<Problem>,
    /// Objects this request created: stamped already, never touched again.
    created: HashSet<i64>,
    /// Bodies found live in this change, so that a batch of creates in one
    /// Body asks for it once; forgotten when a Body is deleted.
    live_bodies: HashSet<i64>,
    /// PDFs of this request read before its change (see
    /// `write::read_pdfs_early`).
    pub pdfs_read: super::PdfsRead,
}

/// A relation member being written: the owner and its old links.
struct Owner<'a> {
    pk: i64,
    body: i64,
    old: &'a HashSet<(i16, i64)>,
}

impl<'w, 'c> Writer<'w, 'c> {
    pub fn new(change: &'w mut Change<'c>, urls: &'w Urls, token: &'w Token, now: i64) -> Self {
        Writer {
            change,
            urls,
            now,
            token,
            temps: HashMap::new(),
            audit: Vec::new(),
            problems: Vec::new(),
            created: HashSet::new(),
            live_bodies: HashSet::new(),
            pdfs_read: super::PdfsRead::new(),
        }
    }

    /// The temporary ids of this request and the ids they became.
    pub fn temp_ids(&self) -> Map<String, Value> {
        let mut out: Vec<(&String, &(i64, Kind, i64))> = self.temps.iter().collect();
        out.sort_by_key(|(_, (pk, _, _))| *pk);
        out.into_iter()
            .map(|(name, (pk, kind, _))| (name.clone(), self.urls.object(*kind, *pk).into()))
            .collect()
    }

    /// The object behind a temporary id of this request.
    pub fn temp(&self, name: &str) -> Option<(Kind, i64)> {
        self.temps.get(name).map(|(pk, kind, _)| (*kind, *pk))
    }

    fn problem(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.to_string(),
            message: message.into(),
        });
    }

    /// Refuse with every problem found so far, if any.
    fn check(&mut self) -> Result<(), Refusal> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(Refusal::Problems(std::mem::take(&mut self.problems)))
        }
    }

    fn conn(&mut self) -> Result<&mut AnyConnection, DbError> {
        self.change.conn()
    }

    /// A 403 unless the token may write objects of this Body.
    fn may_write(&self, body: i64) -> Result<(), Refusal> {
        if self.token.may_write(body) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "Dieser Zugang darf diese Körperschaft nicht ändern.",
                format!(
                    "the token `{}` may not write objects of {}",
                    self.token.name,
                    self.urls.object(Kind::Body, body)
                ),
            )
            .into())
        }
    }

    /// The live-or-deleted object at a URL of ours, of this kind, that the
    /// token may write; checks the preconditions against it.
    pub fn existing(
        &mut self,
        kind: Kind,
        pk: i64,
        pre: &Preconditions,
    ) -> Result<ObjectRow, Refusal> {
        let url = self.urls.object(kind, pk);
        let row = read::object(self.conn()?, pk)?.filter(|r| r.kind == kind.code());
        let Some(row) = row else {
            if pre.if_none_match_any {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "Die angeforderte Ressource existiert nicht.",
                    format!(
                        "nothing at {url}: this server mints the ids of new objects, \
                         create them with POST to their list"
                    ),
                )
                .into());
            }
            return Err(ApiError::not_found(url).into());
        };
        if kind == Kind::System {
            return Err(ApiError::not_found(url).into());
        }
        self.may_write(row.body_pk.unwrap_or(0))?;
        if pre.if_none_match_any {
            return Err(precondition_failed(&url, "it exists (If-None-Match: *)"));
        }
        if let Some(tags) = &pre.if_match {
            let etag = object_etag(self.urls, &row.head());
            let matches = tags.iter().any(|t| {
                t == "*"
                    || *t == etag
                    || ["gzip", "br"]
                        .iter()
                        .any(|c| *t == crate::api::http_cache::coded_etag(&etag, c))
            });
            // `*` matches any current representation; a tombstone is one,
            // but not of the object a client means to change.
            if !matches || (row.deleted && tags.iter().all(|t| t == "*")) {
                return Err(precondition_failed(&url, "it changed (If-Match)"));
            }
        }
        Ok(row)
    }

    /// Create an object in a list: of a Body (`body`), or a new Body
    /// (`None`). Returns its pk.
    pub fn create(
        &mut self,
        kind: Kind,
        body: Option<i64>,
        value: &Value,
        path: &str,
    ) -> Result<i64, Refusal> {
        let body = match body {
            None => {
                // A new Body: only a token for every Body may make one.
                if self.token.body_pks().is_some() {
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "Dieser Zugang darf keine Körperschaft anlegen.",
                        "only a token without --body may create a Body",
                    )
                    .into());
                }
                None
            }
            Some(b) => {
                if !self.live_bodies.contains(&b) {
                    let head = read::head(self.conn()?, b)?;
                    if head.is_none_or(|h| h.kind() != Kind::Body || h.deleted) {
                        return Err(ApiError::not_found(self.urls.object(Kind::Body, b)).into());
                    }
                    self.live_bodies.insert(b);
                }
                self.may_write(b)?;
                Some(b)
            }
        };
        let temp = match value.get("id") {
            None => None,
            Some(Value::String(s)) if s.starts_with(TEMP_PREFIX) => Some(s.clone()),
            Some(_) => {
                self.problem(
                    &format!("{path}.id"),
                    format!(
                        "the server mints the ids of new objects; leave `id` out or give a \
                         temporary id `{TEMP_PREFIX}<name>` (to change an object, PUT or PATCH it)"
                    ),
                );
                None
            }
        };
        // A kind that exists only inside a parent is created inside it.
        let parent = match body {
            Some(b) => self.parent_of_new(kind, b, value, path)?,
            None => None,
        };
        let position = match parent {
            Some((rel, parent)) if rel == MEETING_AGENDA_ITEM => {
                Some(self.children(parent, rel)?.len())
            }
            _ => None,
        };
        let pk = self.node(kind, None, temp, body, value, path, position)?;
        self.check()?;
        if let Some((rel, parent)) = parent {
            self.change.add_link(parent, rel, pk, self.now)?;
        }
        Ok(pk)
    }

    /// Replace an object with this JSON (PUT).
    pub fn replace(
        &mut self,
        kind: Kind,
        pk: i64,
        value: &Value,
        path: &str,
        pre: &Preconditions,
    ) -> Result<i64, Refusal> {
        let row = self.existing(kind, pk, pre)?;
        if row.deleted && model::owned_by_parent(kind) {
            // Its parent let go of it when it was deleted: restored, it
            // would be served without the parent OParl requires.
            return Err(ApiError::gone(self.urls.object(kind, pk)).into());
        }
        let body = row.body_pk.unwrap_or(pk);
        if let Some(id) = value.get("id") {
            if *id != Value::String(self.urls.object(kind, pk)) {
                self.problem(
                    &format!("{path}.id"),
                    "differs from the id the request was sent to",
                );
            }
        }
        let position = self.check_parent(kind, pk, value, path)?;
        self.node(kind, Some(row), None, Some(body), value, path, position)?;
        self.check()?;
        Ok(pk)
    }

    /// Apply a JSON Merge Patch (RFC 7396) to an object's standalone JSON
    /// and write the result as [`Writer::replace`] does.
    pub fn patch(
        &mut self,
        kind: Kind,
        pk: i64,
        patch: &Value,
        path: &str,
        pre: &Preconditions,
    ) -> Result<i64, Refusal> {
        let row = self.existing(kind, pk, pre)?;
        if row.deleted {
            return Err(ApiError::gone(self.urls.object(kind, pk)).into());
        }
        if let Some(values) = plain_patch(kind, &row, patch) {
            return self.patch_values(kind, row, values, path);
        }
        let mut current: Value = {
            let urls = self.urls;
            let text = render::standalone(
                self.change.conn()?,
                urls,
                vec![row],
                Options {
                    omit_internal: false,
                },
            )?;
            serde_json::from_str(&text[0]).expect("rendered JSON parses")
        };
        merge_patch(&mut current, patch);
        // The preconditions held; the object is read again by `replace`.
        self.replace(kind, pk, &current, path, &Preconditions::default())
    }

    /// A patch of plain values only (see [`plain_patch`]): its relations
    /// and children stay as they are, so only the object's own values are
    /// merged, checked against the schema and written. The same outcome as
    /// the full walk of [`Writer::replace`], which would find every link
    /// unchanged, in a handful of statements instead of several per child
    /// and reference (a PATCH of a Paper's keywords took about 60).
    fn patch_values(
        &mut self,
        kind: Kind,
        row: ObjectRow,
        values: Map<String, Value>,
        path: &str,
    ) -> Result<i64, Refusal> {
        self.schema_problems(kind, &values, path);
        self.check()?;
        let fields = Fields::new(kind, &values);
        if !same_values(&row.fields, &fields) {
            self.change.set_fields(row.pk, &fields, self.now)?;
            self.audit.push(("replace", row.pk, kind));
        }
        Ok(row.pk)
    }

    /// Delete an object: a tombstone, and every reference to it removed
    /// (`Change::delete`).
    pub fn delete(&mut self, kind: Kind, pk: i64, pre: &Preconditions) -> Result<(), Refusal> {
        let row = self.existing(kind, pk, pre)?;
        if row.deleted {
            return Err(ApiError::gone(self.urls.object(kind, pk)).into());
        }
        if kind == Kind::Body && self.holds_live_objects(pk)? {
            // Its objects would stay live in the lists of a tombstone.
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "Die Körperschaft enthält noch Objekte.",
                format!(
                    "{} still holds live objects; delete them first",
                    self.urls.object(kind, pk)
                ),
            )
            .into());
        }
        self.change.delete(pk, self.now)?;
        if kind == Kind::Body {
            self.live_bodies.remove(&pk);
        }
        self.audit.push(("delete", pk, kind));
        Ok(())
    }

    /// Whether any live object but the Body itself belongs to it.
    fn holds_live_objects(&mut self, body: i64) -> Result<bool, Refusal> {
        use crate::db::schema::object;
        use diesel::prelude::*;
        let one: Option<i64> = object::table
            .filter(object::body_pk.eq(body))
            .filter(object::deleted.eq(false))
            .filter(object::pk.ne(body))
            .select(object::pk)
            .first(self.conn()?)
            .optional()?;
        Ok(one.is_some())
    }

    /// Store the bytes of a File; its size and checksums are computed here.
    pub fn content(
        &mut self,
        pk: i64,
        bytes: &[u8],
        mime: Option<&str>,
        pre: &Preconditions,
    ) -> Result<(), Refusal> {
        use sha2::Digest;
        let row = self.existing(Kind::File, pk, pre)?;
        if row.deleted {
            return Err(ApiError::gone(self.urls.object(Kind::File, pk)).into());
        }
        let mut fields: Map<String, Value> = serde_json::from_str(&row.fields).unwrap_or_default();
        let sha512 = crate::text::hex(&sha2::Sha512::digest(bytes));
        fields.insert("size".into(), bytes.len().into());
        fields.insert("sha512Checksum".into(), sha512.clone().into());
        // Deprecated in 1.1, but a stale one must not stay.
        fields.insert(
            "sha1Checksum".into(),
            crate::text::hex(&sha1::Sha1::digest(bytes)).into(),
        );
        if let Some(mime) = mime.filter(|m| !fields.contains_key("mimeType") && m.contains('/')) {
            fields.insert("mimeType".into(), mime.into());
        }
        let mime = fields
            .get("mimeType")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        // `text` is the text of the bytes (OParl 1.1, 7.10): new bytes
        // replace it, and bytes that give none (a scan, another format)
        // leave none, rather than the text of what they replaced. The
        // upload is refused for none of these: the bytes are stored.
        let text = match self.pdfs_read.get(&sha512) {
            Some(read) if crate::text_extract::reads_as_pdf(&mime, bytes) => read.clone(),
            _ => crate::text_extract::extract(&mime, bytes),
        }
        .into_text();
        match text {
            Some(text) => fields.insert("text".into(), text.into()),
            None => fields.remove("text"),
        };
        // The URLs of the bytes are ours from now on (the renderer writes them).
        fields.remove("accessUrl");
        fields.remove("downloadUrl");
        self.change.store_file_bytes(pk, bytes)?;
        self.change.update_fields(pk, &fields, self.now)?;
        self.audit.push(("content", pk, Kind::File));
        Ok(())
    }

    /// The standalone JSON and the ETag of an object as this change left it.
    pub fn rendered(&mut self, pk: i64) -> Result<(String, String), Refusal> {
        let row = read::object(self.conn()?, pk)?.ok_or(diesel::result::Error::NotFound)?;
        let etag = object_etag(self.urls, &row.head());
        let urls = self.urls;
        let text = render::standalone(
            self.change.conn()?,
            urls,
            vec![row],
            Options {
                omit_internal: false,
            },
        )?;
        Ok((text.into_iter().next().unwrap_or_default(), etag))
    }

    /// For a new object of a kind that exists only inside a parent: the
    /// relation and the parent, named by the object's back-reference (a
    /// LegislativeTerm goes into its Body).
    fn parent_of_new(
        &mut self,
        kind: Kind,
        body: i64,
        value: &Value,
        path: &str,
    ) -> Result<Option<(i16, i64)>, Refusal> {
        if kind == Kind::LegislativeTerm {
            return Ok(Some((model::rel(Kind::Body, "legislativeTerm").code, body)));
        }
        let Some(required) = model::required_refs(kind).find(|r| r.is_back_reference()) else {
            return Ok(None);
        };
        let rel = &RELS[required.rel as usize];
        let at = format!("{path}.{}", required.name);
        match value.get(required.name) {
            Some(Value::String(url)) => {
                let url = url.clone();
                Ok(self
                    .reference(&url, rel.owner, body, &at)?
                    .map(|parent| (rel.code, parent)))
            }
            _ => {
                self.problem(
                    &at,
                    format!(
                        "required: the {} this {} belongs to (its id)",
                        rel.owner.name(),
                        kind.name()
                    ),
                );
                Ok(None)
            }
        }
    }

    /// For an existing object that exists only inside a parent: its
    /// back-reference, if given, must name the parent it has (a write does
    /// not move it); returns an AgendaItem's position.
    fn check_parent(
        &mut self,
        kind: Kind,
        pk: i64,
        value: &Value,
        path: &str,
    ) -> Result<Option<usize>, Refusal> {
        let Some(required) = model::required_refs(kind).find(|r| r.is_back_reference()) else {
            return Ok(None);
        };
        let rel = &RELS[required.rel as usize];
        let parents = read::links_to(self.conn()?, &[pk], &[rel.code])?;
        let parent = parents
            .iter()
            .find(|(_, deleted)| !deleted)
            .map(|(l, _)| *l);
        if let (Some(given), Some(l)) = (value.get(required.name), parent) {
            if *given != Value::String(self.urls.object(rel.owner, l.from_pk)) {
                self.problem(
                    &format!("{path}.{}", required.name),
                    format!(
                        "a write does not move a {} to another {}: delete it and create it there",
                        kind.name(),
                        rel.owner.name()
                    ),
                );
            }
        }
        Ok(parent
            .filter(|l| l.field == MEETING_AGENDA_ITEM)
            .map(|l| l.position as usize))
    }

    /// The targets of one relation of an object, in order.
    fn children(&mut self, pk: i64, field: i16) -> Result<Vec<i64>, Refusal> {
        Ok(read::links_from(self.conn()?, &[pk])?
            .into_iter()
            .filter(|l| l.field == field)
            .map(|l| l.to_pk)
            .collect())
    }

    /// Resolve a reference (an id of ours or a temporary id of this
    /// request) to a live object of this kind in this Body.
    fn reference(
        &mut self,
        url: &str,
        kind: Kind,
        body: i64,
        path: &str,
    ) -> Result<Option<i64>, Refusal> {
        if url.starts_with(TEMP_PREFIX) {
            return Ok(match self.temps.get(url).copied() {
                Some((pk, k, b)) if k == kind && b == body => Some(pk),
                Some((_, k, _)) if k == kind => {
                    self.problem(path, format!("`{url}` belongs to another Body"));
                    None
                }
                Some((_, k, _)) => {
                    self.problem(
                        path,
                        format!("`{url}` is a {}, expected a {}", k.name(), kind.name()),
                    );
                    None
                }
                None => {
                    self.problem(
                        path,
                        format!(
                            "unknown temporary id `{url}`: it must be given to an object \
                             earlier in this request"
                        ),
                    );
                    None
                }
            });
        }
        let Some((k, pk)) = self.our_object(url) else {
            self.problem(
                path,
                format!("`{url}` is not the id of an object of this server"),
            );
            return Ok(None);
        };
        if k != kind {
            self.problem(
                path,
                format!("`{url}` is a {}, expected a {}", k.name(), kind.name()),
            );
            return Ok(None);
        }
        match read::head(self.conn()?, pk)? {
            Some(h) if h.kind() != kind => {
                self.problem(path, format!("no {} at `{url}`", kind.name()));
                Ok(None)
            }
            None => {
                self.problem(path, format!("no object at `{url}`"));
                Ok(None)
            }
            Some(h) if h.deleted => {
                self.problem(path, format!("`{url}` is deleted"));
                Ok(None)
            }
            Some(h) if h.body_pk != Some(body) => {
                self.problem(path, format!("`{url}` belongs to another Body"));
                Ok(None)
            }
            Some(_) => Ok(Some(pk)),
        }
    }

    /// The kind and pk behind a canonical object URL of ours.
    fn our_object(&self, url: &str) -> Option<(Kind, i64)> {
        if !self.urls.is_ours(url) {
            return None;
        }
        match route::resolve(self.urls, self.urls.path_of(url)) {
            Resolved::Found(Route::Object(kind, pk)) => Some((kind, pk)),
            _ => None,
        }
    }

    /// Write one object (new when `existing` is None) and, recursively,
    /// the children it embeds; returns its pk. Problems are collected,
    /// and the caller refuses the change when there are any.
    #[allow(clippy::too_many_arguments)]
    fn node(
        &mut self,
        kind: Kind,
        existing: Option<ObjectRow>,
        temp: Option<String>,
        body: Option<i64>,
        value: &Value,
        path: &str,
        position: Option<usize>,
    ) -> Result<i64, Refusal> {
        let pk = match &existing {
            Some(row) => row.pk,
            None => self.change.reserve_pks(1)?,
        };
        // A new Body belongs to itself.
        let body = body.unwrap_or(pk);
        if let Some(name) = temp {
            match self.temps.entry(name) {
                std::collections::hash_map::Entry::Occupied(e) => {
                    let message = format!("the temporary id `{}` is given twice", e.key());
                    self.problem(&format!("{path}.id"), message);
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert((pk, kind, body));
                }
            }
        }
        let Some(obj) = value.as_object() else {
            self.problem(path, format!("expected a {} object", kind.name()));
            return Ok(pk);
        };
        if let Some(t) = obj.get("type") {
            if *t != Value::String(kind.type_uri()) {
                self.problem(
                    &format!("{path}.type"),
                    format!("expected `{}`", kind.type_uri()),
                );
            }
        }
        let old: HashSet<(i16, i64)> = match &existing {
            Some(_) => read::links_from(self.conn()?, &[pk])?
                .iter()
                .map(|l| (l.field, l.to_pk))
                .collect(),
            None => HashSet::new(),
        };
        let with_bytes = kind == Kind::File
            && existing.is_some()
            && read::files_with_bytes(self.conn()?, &[pk])?.contains(&pk);
        let mut plain = Map::new();
        let mut links: Vec<LinkRow> = Vec::new();
        let known = known_members(kind);
        for (key, v) in obj {
            let at = member_path(path, key);
            match key.as_str() {
                "id" | "type" => continue,
                "created" | "modified" => {
                    if !v.as_str().is_some_and(crate::time::is_datetime) {
                        self.problem(
                            &at,
                            "expected a date-time like 2026-01-31T18:00:00+01:00 \
                             (the server sets it; it may be left out)",
                        );
                    }
                    continue;
                }
                "deleted" => {
                    if *v != Value::Bool(false) {
                        self.problem(&at, "objects are deleted with DELETE at their id");
                    }
                    continue;
                }
                "body" if kind != Kind::Body => {
                    if *v != Value::String(self.urls.object(Kind::Body, body)) {
                        self.problem(
                            &at,
                            format!(
                                "an object of {} cannot name another Body",
                                self.urls.object(Kind::Body, body)
                            ),
                        );
                    }
                    continue;
                }
                "order" if kind == Kind::AgendaItem => {
                    // The item's index in its Meeting, counted from 0.
                    if let Some(p) = position {
                        if v.as_u64() != Some(p as u64) {
                            self.problem(
                                &at,
                                format!(
                                    "is the item's position in its Meeting's agendaItem, \
                                     counted from 0: {p} here"
                                ),
                            );
                        }
                    }
                    continue;
                }
                "accessUrl" | "downloadUrl"
                    if kind == Kind::File
                        && (with_bytes
                            || *v == Value::String(self.urls.file_access(pk))
                            || *v == Value::String(self.urls.file_download(pk))) =>
                {
                    continue
                }
                "size" | "sha512Checksum" | "sha1Checksum" if with_bytes => continue,
                _ => {}
            }
            if key.starts_with(model::VENDOR_PREFIX) || server_member(kind, key) {
                // The server's own: derived from the store, never stored.
                continue;
            }
            if let Some(rel) = RELS
                .iter()
                .find(|r| r.owner == kind && r.name == key && r.code != ORGANIZATION_MEMBERSHIP)
            {
                let owner = Owner {
                    pk,
                    body,
                    old: &old,
                };
                self.relation(rel, &owner, v, &at, &mut links)?;
                continue;
            }
            if key.contains(':') || known.iter().any(|k| k == key) {
                plain.insert(key.clone(), v.clone());
                continue;
            }
            self.problem(
                &at,
                format!(
                    "OParl 1.1 defines no member `{key}` of a {}; a property of your own \
                     needs a vendor prefix (e.g. `city:{key}`)",
                    kind.name()
                ),
            );
        }
        if with_bytes {
            // Kept as computed from the stored bytes.
            let stored: Map<String, Value> = existing
                .as_ref()
                .and_then(|r| serde_json::from_str(&r.fields).ok())
                .unwrap_or_default();
            for key in ["size", "sha512Checksum", "sha1Checksum"] {
                if let Some(v) = stored.get(key) {
                    plain.insert(key.into(), v.clone());
                }
            }
        }
        self.schema_problems(kind, &plain, path);
        links.sort_by_key(|l| (l.field, l.position));
        let fields = Fields::new(kind, &plain);
        match existing {
            None => {
                self.change.insert_objects(&[NewObject {
                    pk,
                    kind: kind.code(),
                    body_pk: Some(body),
                    created: self.now,
                    modified: self.now,
                    deleted: false,
                    fields,
                }])?;
                self.change.insert_links(&links)?;
                for l in &links {
                    // An object of before now shows the new one (a
                    // back-reference, Organization.membership).
                    if crate::store::write::shows_on_target(l.field)
                        && !self.created.contains(&l.to_pk)
                    {
                        self.change.touch_with_ancestors(l.to_pk, self.now)?;
                    }
                }
                self.created.insert(pk);
                self.audit.push(("create", pk, kind));
            }
            Some(row) => {
                let new: HashSet<(i16, i64)> = links.iter().map(|l| (l.field, l.to_pk)).collect();
                let old_rows = read::links_from(self.conn()?, &[pk])?;
                let unchanged = !row.deleted
                    && same_values(&row.fields, &fields)
                    && old_rows.len() == links.len()
                    && old_rows.iter().zip(&links).all(|(a, b)| {
                        (a.field, a.position, a.to_pk) == (b.field, b.position, b.to_pk)
                    });
                if unchanged {
                    return Ok(pk);
                }
                let modified = self.now.max(row.modified);
                self.change
                    .overwrite(pk, Some(body), row.created, modified, &fields)?;
                self.change.remove_links_from(pk)?;
                self.change.insert_links(&links)?;
                for (field, to) in old.symmetric_difference(&new) {
                    if crate::store::write::shows_on_target(*field) {
                        self.change.touch_with_ancestors(*to, self.now)?;
                    }
                }
                self.change.touch_with_ancestors(pk, self.now)?;
                // Children that exist only inside this object and are no
                // longer in it go (OParl 1.1 §2.8).
                for (field, to) in old.difference(&new) {
                    let rel = &RELS[*field as usize];
                    if rel.shape.is_embedding()
                        && model::owned_by_parent(rel.target)
                        && self.change.delete(*to, self.now)?
                    {
                        self.audit.push(("delete", *to, rel.target));
                    }
                }
                self.audit.push(("replace", pk, kind));
            }
        }
        Ok(pk)
    }

    /// One relation member of an object: references and embedded children.
    fn relation(
        &mut self,
        rel: &'static model::RelDef,
        owner: &Owner<'_>,
        v: &Value,
        at: &str,
        links: &mut Vec<LinkRow>,
    ) -> Result<(), Refusal> {
        let push = |links: &mut Vec<LinkRow>, to: i64| {
            if links.iter().any(|l| l.field == rel.code && l.to_pk == to) {
                return;
            }
            let position = links.iter().filter(|l| l.field == rel.code).count() as i32;
            links.push(LinkRow {
                from_pk: owner.pk,
                field: rel.code,
                position,
                to_pk: to,
            });
        };
        let items: Vec<(String, &Value)> = match (rel.shape, v) {
            (_, Value::Null) => Vec::new(),
            (Shape::Ref | Shape::Embed, v) => vec![(at.to_string(), v)],
            (Shape::Refs | Shape::Embeds, Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("{at}[{i}]"), v))
                .collect(),
            (_, _) => {
                self.problem(at, "expected an array");
                return Ok(());
            }
        };
        for (index, (path, item)) in items.into_iter().enumerate() {
            match (rel.shape.is_embedding(), item) {
                (_, Value::String(url)) => {
                    if let Some(to) = self.reference(url, rel.target, owner.body, &path)? {
                        if rel.shape.is_embedding()
                            && model::owned_by_parent(rel.target)
                            && !owner.old.contains(&(rel.code, to))
                        {
                            self.problem(
                                &path,
                                format!(
                                    "`{url}` belongs to another object; a {} exists only \
                                     inside one",
                                    rel.target.name()
                                ),
                            );
                            continue;
                        }
                        push(links, to);
                    }
                }
                (true, Value::Object(child)) => {
                    let position = (rel.code == MEETING_AGENDA_ITEM).then_some(index);
                    let (existing, temp) = match child.get("id") {
                        None => (None, None),
                        Some(Value::String(id)) if id.starts_with(TEMP_PREFIX) => {
                            (None, Some(id.clone()))
                        }
                        Some(Value::String(id)) => {
                            match self.reference(
                                id,
                                rel.target,
                                owner.body,
                                &format!("{path}.id"),
                            )? {
                                None => continue,
                                Some(to) => {
                                    if model::owned_by_parent(rel.target)
                                        && !owner.old.contains(&(rel.code, to))
                                    {
                                        self.problem(
                                            &format!("{path}.id"),
                                            format!(
                                                "`{id}` belongs to another object; a {} \
                                                 exists only inside one",
                                                rel.target.name()
                                            ),
                                        );
                                        continue;
                                    }
                                    (read::object(self.conn()?, to)?, None)
                                }
                            }
                        }
                        Some(_) => {
                            self.problem(&format!("{path}.id"), "expected a string");
                            continue;
                        }
                    };
                    let to = self.node(
                        rel.target,
                        existing,
                        temp,
                        Some(owner.body),
                        item,
                        &path,
                        position,
                    )?;
                    push(links, to);
                }
                (false, _) => self.problem(&path, "expected an id (a string)"),
                (true, _) => self.problem(
                    &path,
                    format!("expected a {} object or its id", rel.target.name()),
                ),
            }
        }
        Ok(())
    }

    /// The plain values against the type's JSON Schema (oparl-schema/):
    /// types, formats of dates and date-times, GeoJSON.
    fn schema_problems(&mut self, kind: Kind, plain: &Map<String, Value>, path: &str) {
        let value = Value::Object(plain.clone());
        for v in oparl_conformance::schema::violations(kind.name(), &value) {
            if let Some(p) = &v.required {
                // Only members the client gives and the store cannot derive.
                if !known_members(kind).contains(p)
                    || server_member(kind, p)
                    || RELS.iter().any(|r| r.owner == kind && r.name == p)
                    || matches!(
                        p.as_str(),
                        "id" | "type" | "created" | "modified" | "order" | "accessUrl"
                    )
                {
                    continue;
                }
                self.problem(&member_path(path, p), "required");
                continue;
            }
            self.problem(&pointer_path(path, &v.pointer), v.message);
        }
    }
}

fn precondition_failed(url: &str, why: &str) -> Refusal {
    Refusal::Api(ApiError::new(
        StatusCode::PRECONDITION_FAILED,
        "Das Objekt wurde inzwischen geändert.",
        format!("precondition failed for {url}: {why}"),
    ))
}

/// The members of a kind the schema defines.
fn known_members(kind: Kind) -> &'static [String] {
    use std::sync::OnceLock;
    static KNOWN: OnceLock<Vec<Vec<String>>> = OnceLock::new();
    &KNOWN.get_or_init(|| {
        Kind::ALL
            .iter()
            .map(|k| oparl_conformance::schema::property_names(k.name()))
            .collect()
    })[kind as usize]
}

/// Members the server derives from the store: accepted in a write (a
/// client may send back what it read) and never stored.
fn server_member(kind: Kind, key: &str) -> bool {
    (kind == Kind::System && key == "oparlVersion")
        || (kind == Kind::Person && key == "location")
        || (kind == Kind::Body
            && (key == "system" || model::BODY_LISTS.iter().any(|(n, _)| *n == key)))
        || (kind == Kind::Organization && matches!(key, "meeting" | "consultation" | "membership"))
        || (kind == Kind::LegislativeTerm && key == "body")
        || RELS
            .iter()
            .any(|r| r.target == kind && r.back.is_some_and(|(name, _)| name == key))
}

/// Whether stored values and new ones are the same, compared as JSON: the
/// order of members is no change.
fn same_values(stored: &str, new: &Fields) -> bool {
    stored == new.as_str()
        || serde_json::from_str::<Value>(stored).ok()
            == serde_json::from_str::<Value>(new.as_str()).ok()
}

/// A member the store keeps as it is: one the schema defines (or one with
/// a vendor prefix of the client's own) that is neither a relation, nor
/// derived by the server, nor one of the members `Writer::node` treats
/// apart.
fn plain_member(kind: Kind, key: &str) -> bool {
    !matches!(
        key,
        "id" | "type"
            | "created"
            | "modified"
            | "deleted"
            | "body"
            | "order"
            | "accessUrl"
            | "downloadUrl"
            | "size"
            | "sha512Checksum"
            | "sha1Checksum"
    ) && !key.starts_with(model::VENDOR_PREFIX)
        && !server_member(kind, key)
        && !RELS.iter().any(|r| r.owner == kind && r.name == key)
        && (key.contains(':') || known_members(kind).iter().any(|k| k == key))
}

/// The object's values with a merge patch applied, when the patch and the
/// stored values hold plain members only (Files aside: their bytes decide
/// some of their values); otherwise None, and the patch takes the full
/// walk.
fn plain_patch(kind: Kind, row: &ObjectRow, patch: &Value) -> Option<Map<String, Value>> {
    let patch = patch.as_object()?;
    if matches!(kind, Kind::File | Kind::System) || patch.keys().any(|k| !plain_member(kind, k)) {
        return None;
    }
    let mut values: Map<String, Value> = serde_json::from_str(&row.fields).ok()?;
    if values.keys().any(|k| !plain_member(kind, k)) {
        return None;
    }
    for (key, v) in patch {
        if v.is_null() {
            values.remove(key);
        } else {
            merge_patch(values.entry(key.clone()).or_insert(Value::Null), v);
        }
    }
    Some(values)
}

/// `$.a.b` for a member (quoted when it is not a plain name).
fn member_path(path: &str, key: &str) -> String {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        format!("{path}.{key}")
    } else {
        format!("{path}[{}]", Value::String(key.to_string()))
    }
}

/// A JSON Pointer below `path` as a JSON path.
fn pointer_path(path: &str, pointer: &str) -> String {
    let mut out = path.to_string();
    for part in pointer.split('/').skip(1) {
        let part = part.replace("~1", "/").replace("~0", "~");
        if part.bytes().all(|b| b.is_ascii_digit()) && !part.is_empty() {
            out.push_str(&format!("[{part}]"));
        } else {
            out = member_path(&out, &part);
        }
    }
    out
}

/// RFC 7396: members of the patch replace those of the target, `null`
/// removes one, objects merge recursively, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let map = target.as_object_mut().expect("made an object above");
    for (key, value) in patch {
        if value.is_null() {
            map.remove(key);
        } else {
            merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}, "k": [1]});
        merge_patch(
            &mut doc,
            &json!({"a": "z", "c": {"f": null}, "k": {"x": 1}}),
        );
        assert_eq!(doc, json!({"a": "z", "c": {"d": "e"}, "k": {"x": 1}}));
    }

    #[test]
    fn paths_name_members_and_indexes() {
        assert_eq!(
            pointer_path("$", "/agendaItem/2/start"),
            "$.agendaItem[2].start"
        );
        assert_eq!(member_path("$", "a b"), "$[\"a b\"]");
    }
}
