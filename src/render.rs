//! Turns stored rows into OParl JSON: the standalone form (with
//! back-references, as served at an object's `id` and in list pages) and the
//! embedded form (without them), tombstones for deleted objects, and the
//! output rules of spec §2.4 (no nulls, no empty strings, no empty optional
//! arrays, required arrays always present).
//!
//! A batch of objects is rendered from a [`Graph`] that loads everything the
//! batch shows in a fixed number of queries per embedding level.

use crate::db::{AnyConnection, DbError};
use crate::model::{
    self, Kind, ListKind, Shape, BODY_LISTS, MEETING_AGENDA_ITEM, MEMBERSHIP_ORGANIZATION,
    ORGANIZATION_MEMBERSHIP, RELS,
};
use crate::store::read::{self, ObjectHead};
use crate::store::{LinkRow, ObjectRow};
use crate::time::format_datetime;
use crate::urls::Urls;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// Options of one rendering.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// `omit_internal=true`: leave out the seven arrays spec §2.5 names.
    pub omit_internal: bool,
}

/// Everything a batch of objects shows, loaded up front.
struct Graph {
    rows: HashMap<i64, ObjectRow>,
    /// Outgoing links of every loaded live row, in field and position order.
    links: HashMap<i64, Vec<LinkRow>>,
    /// Incoming links of the top-level rows that produce back-references,
    /// with whether the pointing object is deleted.
    incoming: HashMap<i64, Vec<(LinkRow, bool)>>,
    /// Files whose bytes this server serves.
    with_bytes: HashSet<i64>,
}

/// Render objects in their standalone form, in the order given: the JSON
/// text of each.
pub fn standalone(
    conn: &mut AnyConnection,
    urls: &Urls,
    rows: Vec<ObjectRow>,
    opts: Options,
) -> Result<Vec<String>, DbError> {
    let order: Vec<i64> = rows.iter().map(|r| r.pk).collect();
    let graph = Graph::load(conn, rows, opts)?;
    let renderer = Renderer {
        urls,
        opts,
        graph: &graph,
    };
    Ok(order
        .iter()
        .map(|pk| {
            let mut out = String::with_capacity(1024);
            renderer.object(&mut out, &graph.rows[pk], true, None);
            out
        })
        .collect())
}

impl Graph {
    fn load(
        conn: &mut AnyConnection,
        rows: Vec<ObjectRow>,
        opts: Options,
    ) -> Result<Graph, DbError> {
        let top: Vec<i64> = rows.iter().filter(|r| !r.deleted).map(|r| r.pk).collect();
        let mut top_by_kind: Vec<(Kind, Vec<i64>)> = Vec::new();
        for r in rows.iter().filter(|r| !r.deleted) {
            match top_by_kind.iter_mut().find(|(k, _)| *k == r.kind()) {
                Some((_, pks)) => pks.push(r.pk),
                None => top_by_kind.push((r.kind(), vec![r.pk])),
            }
        }
        let mut graph = Graph {
            rows: rows.into_iter().map(|r| (r.pk, r)).collect(),
            links: HashMap::new(),
            incoming: HashMap::new(),
            with_bytes: HashSet::new(),
        };
        // Walk down the embedding levels (at most Meeting > AgendaItem > File).
        let mut frontier = top.clone();
        while !frontier.is_empty() {
            let mut children = Vec::new();
            for l in read::links_from(conn, &frontier)? {
                let Some(rel) = model::rel_by_code(l.field) else {
                    continue;
                };
                if rel.shape.is_embedding()
                    && !(opts.omit_internal && rel.omit_internal)
                    && !graph.rows.contains_key(&l.to_pk)
                {
                    children.push(l.to_pk);
                }
                graph.links.entry(l.from_pk).or_default().push(l);
            }
            children.sort_unstable();
            children.dedup();
            let loaded = read::live_objects(conn, &children)?;
            frontier = loaded.iter().map(|r| r.pk).collect();
            graph.rows.extend(loaded.into_iter().map(|r| (r.pk, r)));
        }
        // Back-references of the top-level objects: per kind, only the
        // fields that point at that kind.
        let groups: Vec<(Vec<i64>, Vec<i16>)> = top_by_kind
            .into_iter()
            .map(|(kind, pks)| {
                let mut codes: Vec<i16> = RELS
                    .iter()
                    .filter(|r| r.back.is_some() && r.target == kind)
                    .map(|r| r.code)
                    .collect();
                if kind == Kind::Organization {
                    codes.push(MEMBERSHIP_ORGANIZATION);
                }
                (pks, codes)
            })
            .collect();
        for (l, deleted) in read::links_to_grouped(conn, &groups)? {
            graph
                .incoming
                .entry(l.to_pk)
                .or_default()
                .push((l, deleted));
        }
        let files: Vec<i64> = graph
            .rows
            .values()
            .filter(|r| r.kind() == Kind::File && !r.deleted)
            .map(|r| r.pk)
            .collect();
        graph.with_bytes = read::files_with_bytes(conn, &files)?.into_iter().collect();
        Ok(graph)
    }
}

struct Renderer<'a> {
    urls: &'a Urls,
    opts: Options,
    graph: &'a Graph,
}

impl Renderer<'_> {
    /// Write one object. `position` is its index in the parent's array when
    /// embedded (it is `AgendaItem.order`).
    ///
    /// The JSON is written directly: URLs, type URIs and times are ours and
    /// need no escaping, and the stored `fields` document is already clean
    /// (store::write normalises it), so its members are copied as they are.
    fn object(&self, out: &mut String, row: &ObjectRow, standalone: bool, position: Option<i32>) {
        let kind = row.kind();
        out.push_str("{\"id\":\"");
        out.push_str(&self.urls.object(kind, row.pk));
        out.push_str("\",\"type\":\"");
        out.push_str(&kind.type_uri());
        out.push('"');
        if row.deleted {
            // A tombstone keeps only what spec §2.8 (deleted objects)
            // requires.
            self.times(out, row);
            out.push_str(",\"deleted\":true}");
            return;
        }
        let incoming = self
            .graph
            .incoming
            .get(&row.pk)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        if standalone {
            self.single_back_references(kind, incoming, out);
        }
        if kind == Kind::Body {
            url_member(out, "system", &self.urls.system());
        }
        if kind.has_body_field() && (standalone || kind != Kind::LegislativeTerm) {
            if let Some(body) = row.body_pk {
                url_member(out, "body", &self.urls.object(Kind::Body, body));
            }
        }
        let with_bytes = kind == Kind::File && self.graph.with_bytes.contains(&row.pk);
        let order = (kind == Kind::AgendaItem)
            .then(|| {
                position.or_else(|| {
                    incoming
                        .iter()
                        .find(|(l, _)| l.field == MEETING_AGENDA_ITEM)
                        .map(|(l, _)| l.position)
                })
            })
            .flatten();
        let mut shadowed: Vec<&str> = Vec::new();
        if with_bytes {
            // Our URLs of the bytes replace the source's.
            shadowed.extend(["accessUrl", "downloadUrl"]);
        }
        self.derived_over_kept(row, incoming, position, &mut shadowed);
        fields_members(out, row.pk, &row.fields, &shadowed);
        if kind == Kind::AgendaItem {
            if let Some(order) = order {
                out.push_str(",\"order\":");
                out.push_str(&order.to_string());
            }
        }
        self.relations(row, out);
        if kind == Kind::Organization {
            let members = urls_of(
                incoming
                    .iter()
                    .filter(|(l, deleted)| l.field == MEMBERSHIP_ORGANIZATION && !deleted),
                |(l, _)| self.urls.object(Kind::Membership, l.from_pk),
            );
            url_array(out, RELS[ORGANIZATION_MEMBERSHIP as usize].name, &members);
        }
        self.lists(row, out);
        if with_bytes {
            url_member(out, "accessUrl", &self.urls.file_access(row.pk));
            url_member(out, "downloadUrl", &self.urls.file_download(row.pk));
        }
        if standalone {
            self.array_back_references(incoming, out);
        }
        self.times(out, row);
        out.push('}');
    }

    fn times(&self, out: &mut String, row: &ObjectRow) {
        out.push_str(",\"created\":\"");
        out.push_str(&format_datetime(row.created));
        out.push_str("\",\"modified\":\"");
        out.push_str(&format_datetime(row.modified));
        out.push('"');
    }

    /// Members an importer kept pointing at its source are stored with the
    /// object's values (`model::REQUIRED_REFS`, and an AgendaItem's
    /// `order`), for when the store cannot derive them. Should a link
    /// provide one after all, the derived member wins: its name is added
    /// to `shadowed`, so the stored one is not written as well.
    fn derived_over_kept(
        &self,
        row: &ObjectRow,
        incoming: &[(LinkRow, bool)],
        position: Option<i32>,
        shadowed: &mut Vec<&str>,
    ) {
        let kind = row.kind();
        let stored = |name: &str| has_member(&row.fields, name);
        let links = self.graph.links.get(&row.pk).map(Vec::as_slice);
        for r in model::required_refs(kind).filter(|r| stored(r.name)) {
            let derived = if r.is_back_reference() {
                // Embedded (a position in the parent), or fetched on its own.
                position.is_some() || incoming.iter().any(|(l, _)| l.field == r.rel)
            } else {
                links.is_some_and(|ls| ls.iter().any(|l| l.field == r.rel))
            };
            if derived {
                shadowed.push(r.name);
            }
        }
        if kind == Kind::AgendaItem
            && stored("order")
            && (position.is_some() || incoming.iter().any(|(l, _)| l.field == MEETING_AGENDA_ITEM))
        {
            shadowed.push("order");
        }
    }

    /// `AgendaItem.meeting`, `Membership.person`, `Consultation.paper`.
    fn single_back_references(&self, kind: Kind, incoming: &[(LinkRow, bool)], out: &mut String) {
        for (l, _) in incoming {
            let Some(rel) = model::rel_by_code(l.field) else {
                continue;
            };
            if let Some((name, true)) = rel.back {
                if rel.target == kind {
                    url_member(out, name, &self.urls.object(rel.owner, l.from_pk));
                }
            }
        }
    }

    /// `File.meeting[]`, `Location.papers[]` and the like: only parents that
    /// still exist, each once.
    fn array_back_references(&self, incoming: &[(LinkRow, bool)], out: &mut String) {
        let mut arrays: Vec<(&str, Vec<String>)> = Vec::new();
        for (l, deleted) in incoming {
            let Some((rel, Some((name, false)))) = model::rel_by_code(l.field).map(|r| (r, r.back))
            else {
                continue;
            };
            if *deleted {
                continue;
            }
            let url = self.urls.object(rel.owner, l.from_pk);
            match arrays.iter_mut().find(|(n, _)| *n == name) {
                Some((_, urls)) if !urls.contains(&url) => urls.push(url),
                Some(_) => {}
                None => arrays.push((name, vec![url])),
            }
        }
        for (name, urls) in arrays {
            url_array(out, name, &urls);
        }
    }

    /// References and embedded children, in the order of `model::RELS`.
    fn relations(&self, row: &ObjectRow, out: &mut String) {
        let kind = row.kind();
        let links = self
            .graph
            .links
            .get(&row.pk)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for rel in RELS
            .iter()
            .filter(|r| r.owner == kind && r.code != ORGANIZATION_MEMBERSHIP)
        {
            if self.opts.omit_internal && rel.omit_internal {
                continue;
            }
            let targets = links.iter().filter(|l| l.field == rel.code);
            match rel.shape {
                Shape::Ref => {
                    if let Some(l) = targets.into_iter().next() {
                        url_member(out, rel.name, &self.urls.object(rel.target, l.to_pk));
                    }
                }
                Shape::Refs => {
                    let urls = urls_of(targets, |l| self.urls.object(rel.target, l.to_pk));
                    url_array(out, rel.name, &urls);
                }
                Shape::Embed | Shape::Embeds => {
                    // Deleted children are never embedded (spec §2.8).
                    let children: Vec<(&LinkRow, &ObjectRow)> = targets
                        .filter_map(|l| self.graph.rows.get(&l.to_pk).map(|c| (l, c)))
                        .filter(|(_, c)| !c.deleted)
                        .collect();
                    if rel.shape == Shape::Embed {
                        if let Some((l, child)) = children.first() {
                            if kind == Kind::Person {
                                // Person.location is the URL of locationObject.
                                url_member(
                                    out,
                                    "location",
                                    &self.urls.object(child.kind(), child.pk),
                                );
                            }
                            member_name(out, rel.name);
                            self.object(out, child, false, Some(l.position));
                        }
                    } else if !children.is_empty()
                        || (kind == Kind::Body && rel.name == "legislativeTerm")
                    {
                        // Body.legislativeTerm is required: present even when empty.
                        member_name(out, rel.name);
                        out.push('[');
                        for (i, (l, child)) in children.iter().enumerate() {
                            if i > 0 {
                                out.push(',');
                            }
                            self.object(out, child, false, Some(l.position));
                        }
                        out.push(']');
                    }
                }
            }
        }
    }

    /// The external list URLs of a Body or an Organization, and the
    /// System's fixed members.
    fn lists(&self, row: &ObjectRow, out: &mut String) {
        match row.kind() {
            Kind::Body => {
                for (name, kind) in BODY_LISTS {
                    url_member(out, name, &self.urls.list(ListKind::Body(kind), row.pk));
                }
                url_member(
                    out,
                    model::CHANGES_PROPERTY,
                    &self.urls.changes_of(Some(row.pk)),
                );
                url_member(
                    out,
                    model::SEARCH_PROPERTY,
                    &self.urls.search_of(Some(row.pk)),
                );
                if let Some(dump) = self.urls.advertised_dump(Some(row.pk)) {
                    url_member(out, model::DUMP_PROPERTY, &dump);
                }
                url_member(
                    out,
                    model::CALENDAR_PROPERTY,
                    &self.urls.calendar(Kind::Body, row.pk),
                );
            }
            Kind::Organization => {
                url_member(
                    out,
                    "meeting",
                    &self.urls.list(ListKind::OrganizationMeetings, row.pk),
                );
                url_member(
                    out,
                    "consultation",
                    &self.urls.list(ListKind::OrganizationConsultations, row.pk),
                );
                url_member(
                    out,
                    model::CALENDAR_PROPERTY,
                    &self.urls.calendar(Kind::Organization, row.pk),
                );
            }
            Kind::System => {
                url_member(out, "oparlVersion", model::OPARL_VERSION);
                url_member(out, "body", &self.urls.list(ListKind::Bodies, 0));
                url_member(out, model::CHANGES_PROPERTY, &self.urls.changes());
                url_member(out, model::SEARCH_PROPERTY, &self.urls.search());
                if let Some(dump) = self.urls.advertised_dump(None) {
                    url_member(out, model::DUMP_PROPERTY, &dump);
                }
                url_member(out, model::DCAT_PROPERTY, &self.urls.dcat());
            }
            _ => {}
        }
    }
}

/// A standalone object's JSON as the change feed and the dumps show it:
/// with the Body it belongs to (`server:body`; OParl gives most kinds no
/// `body`, and a File or Location that no live parent embeds names none
/// at all, so a mirror could not place it) and its revision
/// (`server:revision`) as the last members.
pub fn feed_entry(urls: &Urls, json: &[u8], head: &ObjectHead) -> Vec<u8> {
    let open = json.strip_suffix(b"}").unwrap_or(json);
    let suffix = feed_suffix(urls, head);
    let mut out = Vec::with_capacity(open.len() + suffix.len());
    out.extend_from_slice(open);
    out.extend_from_slice(suffix.as_bytes());
    out
}

/// What [`feed_entry`] puts in place of the object's closing brace:
/// `,"server:body":"…","server:revision":N}`. Kept apart so that a page can
/// be written from the cached object and this, without a copy of each.
pub fn feed_suffix(urls: &Urls, head: &ObjectHead) -> String {
    let mut out = String::with_capacity(128);
    if let Some(body) = head.body_pk.filter(|_| head.kind != Kind::Body.code()) {
        url_member(
            &mut out,
            model::BODY_PROPERTY,
            &urls.object(Kind::Body, body),
        );
    }
    member_name(&mut out, model::REVISION_PROPERTY);
    out.push_str(&head.revision.to_string());
    out.push('}');
    out
}

/// `,"name":`
fn member_name(out: &mut String, name: &str) {
    out.push_str(",\"");
    out.push_str(name);
    out.push_str("\":");
}

/// `,"name":"url"` for a URL (or constant) of ours, which needs no escaping.
fn url_member(out: &mut String, name: &str, url: &str) {
    member_name(out, name);
    out.push('"');
    out.push_str(url);
    out.push('"');
}

/// An optional array of URLs: left out when empty (spec §2.4 JSON output).
fn url_array(out: &mut String, name: &str, urls: &[String]) {
    if urls.is_empty() {
        return;
    }
    member_name(out, name);
    out.push('[');
    for (i, u) in urls.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(u);
        out.push('"');
    }
    out.push(']');
}

/// Whether a stored `fields` document (compact JSON) has a member of this
/// name: `"name":` can only be a key there, since inside a string value its
/// quotes would be escaped.
fn has_member(fields: &str, name: &str) -> bool {
    fields
        .match_indices(name)
        .any(|(at, _)| fields[..at].ends_with('"') && fields[at + name.len()..].starts_with("\":"))
}

/// The members of the stored `fields` document. It is normalised on write,
/// so its text is copied; only members that the renderer writes itself
/// instead (`shadowed`: our URLs of a File's bytes, a derived reference)
/// are left out.
///
/// Text that is not one JSON object (written by another program, or cut
/// short) is left out with a warning: copied, it would break the JSON of
/// every answer that shows the object. Checking costs a parse without
/// building anything, about a microsecond for a typical object.
fn fields_members(out: &mut String, pk: i64, fields: &str, shadowed: &[&str]) {
    let inner = fields.trim();
    let object =
        inner.starts_with('{') && serde_json::from_str::<serde::de::IgnoredAny>(inner).is_ok();
    if !object {
        tracing::warn!(pk, "stored fields are not a JSON object; left out");
        return;
    }
    // An object's text between its braces: its members, or nothing.
    let members = inner[1..inner.len() - 1].trim();
    if members.is_empty() {
        return;
    }
    if shadowed.iter().any(|name| has_member(members, name)) {
        let mut map: Map<String, Value> = serde_json::from_str(inner).unwrap_or_default();
        for name in shadowed {
            map.shift_remove(*name);
        }
        let text = Value::Object(map).to_string();
        if text.len() > 2 {
            out.push(',');
            out.push_str(&text[1..text.len() - 1]);
        }
        return;
    }
    out.push(',');
    out.push_str(members);
}

/// Distinct URLs in first-seen order (an array of references never repeats one).
fn urls_of<'a, T: 'a>(
    items: impl Iterator<Item = &'a T>,
    url: impl Fn(&T) -> String,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let u = url(item);
        if !out.contains(&u) {
            out.push(u);
        }
    }
    out
}
