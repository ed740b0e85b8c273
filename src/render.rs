//! Turns stored rows into OParl JSON: the standalone form (with
//! back-references, as served at an object's `id` and in list pages) and the
//! embedded form (without them), tombstones for deleted objects, and the
//! output rules of digest §8.2 (no nulls, no empty strings, no empty optional
//! arrays, required arrays always present).
//!
//! A batch of objects is rendered from a [`Graph`] that loads everything the
//! batch shows in a fixed number of queries per embedding level.

use crate::db::{AnyConnection, DbError};
use crate::model::{
    self, Kind, ListKind, Shape, BODY_LISTS, MEETING_AGENDA_ITEM, MEMBERSHIP_ORGANIZATION,
    ORGANIZATION_MEMBERSHIP, RELS,
};
use crate::store::{read, LinkRow, ObjectRow};
use crate::time::format_datetime;
use crate::urls::Urls;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// Options of one rendering.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// `omit_internal=true`: leave out the seven arrays of digest §6.3.
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

/// Render objects in their standalone form, in the order given.
pub fn standalone(
    conn: &mut AnyConnection,
    urls: &Urls,
    rows: Vec<ObjectRow>,
    opts: Options,
) -> Result<Vec<Value>, DbError> {
    let order: Vec<i64> = rows.iter().map(|r| r.pk).collect();
    let graph = Graph::load(conn, rows, opts)?;
    let renderer = Renderer {
        urls,
        opts,
        graph: &graph,
    };
    Ok(order
        .iter()
        .map(|pk| renderer.object(&graph.rows[pk], true, None))
        .collect())
}

impl Graph {
    fn load(
        conn: &mut AnyConnection,
        rows: Vec<ObjectRow>,
        opts: Options,
    ) -> Result<Graph, DbError> {
        let top: Vec<i64> = rows.iter().filter(|r| !r.deleted).map(|r| r.pk).collect();
        let top_kinds: HashSet<Kind> = rows
            .iter()
            .filter(|r| !r.deleted)
            .map(|r| r.kind())
            .collect();
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
                let rel = &RELS[l.field as usize];
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
        // Back-references of the top-level objects.
        let mut back_codes: Vec<i16> = RELS
            .iter()
            .filter(|r| r.back.is_some() && top_kinds.contains(&r.target))
            .map(|r| r.code)
            .collect();
        if top_kinds.contains(&Kind::Organization) {
            back_codes.push(MEMBERSHIP_ORGANIZATION);
        }
        for (l, deleted) in read::links_to(conn, &top, &back_codes)? {
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
    /// One object. `position` is its index in the parent's array when
    /// embedded (it is `AgendaItem.order`).
    fn object(&self, row: &ObjectRow, standalone: bool, position: Option<i32>) -> Value {
        let kind = row.kind();
        let mut out = Map::new();
        out.insert("id".into(), self.urls.object(kind, row.pk).into());
        out.insert("type".into(), kind.type_uri().into());
        if row.deleted {
            // A tombstone keeps only what digest §7.2 requires.
            out.insert("created".into(), format_datetime(row.created).into());
            out.insert("modified".into(), format_datetime(row.modified).into());
            out.insert("deleted".into(), true.into());
            return Value::Object(out);
        }
        let incoming = self
            .graph
            .incoming
            .get(&row.pk)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        if standalone {
            self.single_back_references(kind, incoming, &mut out);
        }
        if kind == Kind::Body {
            out.insert("system".into(), self.urls.system().into());
        }
        if kind.has_body_field() && (standalone || kind != Kind::LegislativeTerm) {
            if let Some(body) = row.body_pk {
                out.insert("body".into(), self.urls.object(Kind::Body, body).into());
            }
        }
        let fields: Map<String, Value> = serde_json::from_str(&row.fields).unwrap_or_default();
        for (key, value) in fields {
            if is_present(&value) && !is_derived(kind, &key) {
                out.insert(key, value);
            }
        }
        if kind == Kind::AgendaItem {
            let order = position.or_else(|| {
                incoming
                    .iter()
                    .find(|(l, _)| l.field == MEETING_AGENDA_ITEM)
                    .map(|(l, _)| l.position)
            });
            if let Some(order) = order {
                out.insert("order".into(), order.into());
            }
        }
        self.relations(row, &mut out);
        if kind == Kind::Organization {
            let members = urls_of(
                incoming
                    .iter()
                    .filter(|(l, deleted)| l.field == MEMBERSHIP_ORGANIZATION && !deleted),
                |(l, _)| self.urls.object(Kind::Membership, l.from_pk),
            );
            insert_array(
                &mut out,
                RELS[ORGANIZATION_MEMBERSHIP as usize].name,
                members,
            );
        }
        self.lists(row, &mut out);
        if kind == Kind::File && self.graph.with_bytes.contains(&row.pk) {
            out.insert("accessUrl".into(), self.urls.file_access(row.pk).into());
            out.insert("downloadUrl".into(), self.urls.file_download(row.pk).into());
        }
        if standalone {
            self.array_back_references(incoming, &mut out);
        }
        out.insert("created".into(), format_datetime(row.created).into());
        out.insert("modified".into(), format_datetime(row.modified).into());
        Value::Object(out)
    }

    /// `AgendaItem.meeting`, `Membership.person`, `Consultation.paper`.
    fn single_back_references(
        &self,
        kind: Kind,
        incoming: &[(LinkRow, bool)],
        out: &mut Map<String, Value>,
    ) {
        for (l, _) in incoming {
            let rel = &RELS[l.field as usize];
            if let Some((name, true)) = rel.back {
                if rel.target == kind {
                    out.insert(name.into(), self.urls.object(rel.owner, l.from_pk).into());
                }
            }
        }
    }

    /// `File.meeting[]`, `Location.papers[]` and the like: only parents that
    /// still exist, each once.
    fn array_back_references(&self, incoming: &[(LinkRow, bool)], out: &mut Map<String, Value>) {
        let mut arrays: Vec<(&str, Vec<String>)> = Vec::new();
        for (l, deleted) in incoming {
            let rel = &RELS[l.field as usize];
            let Some((name, false)) = rel.back else {
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
            insert_array(out, name, urls);
        }
    }

    /// References and embedded children, in the order of `model::RELS`.
    fn relations(&self, row: &ObjectRow, out: &mut Map<String, Value>) {
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
                Shape::Ref | Shape::Refs => {
                    let urls = urls_of(targets, |l| self.urls.object(rel.target, l.to_pk));
                    if rel.shape == Shape::Ref {
                        if let Some(url) = urls.into_iter().next() {
                            out.insert(rel.name.into(), url.into());
                        }
                    } else {
                        insert_array(out, rel.name, urls);
                    }
                }
                Shape::Embed | Shape::Embeds => {
                    // Deleted children are never embedded (digest §4.3).
                    let children: Vec<Value> = targets
                        .filter_map(|l| self.graph.rows.get(&l.to_pk).map(|c| (l, c)))
                        .filter(|(_, c)| !c.deleted)
                        .map(|(l, c)| self.object(c, false, Some(l.position)))
                        .collect();
                    if rel.shape == Shape::Embed {
                        if let Some(child) = children.into_iter().next() {
                            if kind == Kind::Person {
                                // Person.location is the URL of locationObject.
                                out.insert("location".into(), child["id"].clone());
                            }
                            out.insert(rel.name.into(), child);
                        }
                    } else if kind == Kind::Body && rel.name == "legislativeTerm" {
                        // A required array: present even when empty.
                        out.insert(rel.name.into(), Value::Array(children));
                    } else if !children.is_empty() {
                        out.insert(rel.name.into(), Value::Array(children));
                    }
                }
            }
        }
    }

    /// The external list URLs of a Body or an Organization.
    fn lists(&self, row: &ObjectRow, out: &mut Map<String, Value>) {
        match row.kind() {
            Kind::Body => {
                for (name, kind) in BODY_LISTS {
                    out.insert(
                        name.into(),
                        self.urls.list(ListKind::Body(kind), row.pk).into(),
                    );
                }
            }
            Kind::Organization => {
                out.insert(
                    "meeting".into(),
                    self.urls
                        .list(ListKind::OrganizationMeetings, row.pk)
                        .into(),
                );
                out.insert(
                    "consultation".into(),
                    self.urls
                        .list(ListKind::OrganizationConsultations, row.pk)
                        .into(),
                );
            }
            Kind::System => {
                out.insert("oparlVersion".into(), model::OPARL_VERSION.into());
                out.insert("body".into(), self.urls.list(ListKind::Bodies, 0).into());
            }
            _ => {}
        }
    }
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

/// An optional array: left out when empty (digest §8.2).
fn insert_array(out: &mut Map<String, Value>, name: &str, urls: Vec<String>) {
    if !urls.is_empty() {
        out.insert(
            name.into(),
            Value::Array(urls.into_iter().map(Value::String).collect()),
        );
    }
}

/// Whether a stored value is worth emitting: no null, no empty string, no
/// empty array (digest §8.2).
fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => true,
    }
}

/// Keys the server computes itself; a stored copy (from an import) never
/// overrides them.
fn is_derived(kind: Kind, key: &str) -> bool {
    matches!(
        key,
        "id" | "type" | "created" | "modified" | "deleted" | "body"
    ) || (kind == Kind::AgendaItem && key == "order")
        || (kind == Kind::System && matches!(key, "oparlVersion" | "body"))
        || RELS.iter().any(|r| r.owner == kind && r.name == key)
        || (kind == Kind::Person && key == "location")
        || (kind == Kind::Body && (key == "system" || BODY_LISTS.iter().any(|(n, _)| *n == key)))
        || (kind == Kind::Organization && matches!(key, "meeting" | "consultation"))
        || RELS
            .iter()
            .any(|r| r.target == kind && r.back.is_some_and(|(name, _)| name == key))
}
