//! Source objects, as read, turned into flat staged objects: one per object
//! (embedded children taken out of their parents), each with its own values
//! repaired and normalised, and its relations as links to source ids. Nothing
//! here touches the store; `apply` maps source ids to our objects.

use super::repair::{self, Repair};
use super::report::{Place, Report};
use crate::model::{self, Kind, Shape, DATE_FIELDS, DATE_TIME_FIELDS, MEETING_AGENDA_ITEM, RELS};
use crate::store::write::Fields;
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The vendor-prefixed property that keeps an imported object's id at its
/// source.
pub const SOURCE_ID_PROPERTY: &str = "import:sourceId";
/// The vendor-prefixed property that keeps the `order` a source gave an
/// AgendaItem, where it is not the item's index in its Meeting (which is
/// what OParl 1.1 defines `order` to be, and what this server publishes).
pub const SOURCE_ORDER_PROPERTY: &str = "import:sourceOrder";

/// One relation of a staged object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedLink {
    pub field: i16,
    pub position: i32,
    /// The source id of the target.
    pub to: String,
}

/// One object from the source, ready to be applied.
#[derive(Debug, Clone)]
pub struct Staged {
    /// The source id: the id without its scheme.
    pub sid: String,
    pub kind: Kind,
    /// The source id of its Body, when the source says it (a `body` field,
    /// the Body whose list held it, or the parent's Body).
    pub body: Option<String>,
    /// Objects it belongs to, by source id, for placing it in a Body when
    /// nothing names one: the parent it was embedded in, then every
    /// back-reference the source gave (a File's `paper`, a Location's
    /// `meetings`, a Consultation's `paper`, ...).
    pub via: Vec<String>,
    /// The URLs, as the source gave them, of its required references
    /// (`model::REQUIRED_REFS`): kept pointing at the source when their
    /// target never arrives.
    pub required: Vec<(&'static str, String)>,
    /// The `order` the source gave an AgendaItem.
    pub source_order: Option<i64>,
    pub created: Option<i64>,
    pub modified: Option<i64>,
    pub deleted: bool,
    /// The own values as stored: normalised JSON with the source id property.
    pub fields: Fields,
    pub links: Vec<StagedLink>,
    pub place: Place,
    /// What the object looked like at the source, times included, to skip
    /// unchanged ones.
    pub hash: i64,
    /// The same without the times: two sightings of one object that differ
    /// only in times inherited from different parents are one object.
    content: i64,
}

/// What the reader knows about where an object sits.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// The kind expected here (the list's, or the relation's target).
    pub kind: Option<Kind>,
    /// The source id of the Body it belongs to.
    pub body: Option<&'a str>,
    /// An item of a list read without `modified_since`.
    pub unfiltered_list: bool,
    /// The parent's created/modified, for embedded objects without their own.
    pub parent_times: Option<(Option<i64>, Option<i64>)>,
    /// The parent's source id: an embedded object shares its parent's Body.
    pub parent: Option<&'a str>,
}

/// The staged objects of one run, by source id.
#[derive(Debug, Default)]
pub struct Stage {
    pub objects: Vec<Staged>,
    /// The position of each source id in `objects`, and whether it was
    /// first seen with https.
    index: FxHashMap<String, (usize, bool)>,
    /// Every sighting shows the source at least as late as the ones before
    /// it (a dump of a server of this kind, then its change feed in
    /// revision order): a later sighting replaces an earlier one whatever
    /// their `modified` says, and that is no defect of the source.
    pub ordered: bool,
}

/// An id without its scheme: `http` and `https` spellings are one object.
pub fn source_id(id: &str) -> String {
    id.strip_prefix("https://")
        .or_else(|| id.strip_prefix("http://"))
        .unwrap_or(id)
        .to_string()
}

/// The kind a `type` URI names (OParl 1.0 or 1.1), or None for anything
/// else.
pub fn kind_of_type(type_uri: &str) -> Option<Kind> {
    let (prefix, name) = type_uri.rsplit_once('/')?;
    if !prefix.contains("oparl.org") {
        return None;
    }
    Kind::ALL.into_iter().find(|k| k.name() == name)
}

impl Stage {
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The index of a source id in `objects`.
    pub fn position(&self, sid: &str) -> Option<usize> {
        self.index.get(sid).map(|&(i, _)| i)
    }

    pub fn get(&self, sid: &str) -> Option<&Staged> {
        self.index.get(sid).map(|&(i, _)| &self.objects[i])
    }

    pub fn contains(&self, sid: &str) -> bool {
        self.index.contains_key(sid)
    }

    /// Add one source object (with its embedded children). Returns its source
    /// id, or None when it was skipped (and reported) or is a System.
    pub fn add(
        &mut self,
        value: Value,
        ctx: Context<'_>,
        place: &Place,
        report: &mut Report,
    ) -> Option<String> {
        let Value::Object(mut map) = value else {
            report.skip(place, format!("not a JSON object: {}", short(&value)));
            return None;
        };
        let Some(id) = map.get("id").and_then(Value::as_str).map(str::to_string) else {
            report.skip(place, "object without id");
            return None;
        };
        if url::Url::parse(&id).is_err() {
            report.skip(place, format!("id `{id}` is not a URL"));
            return None;
        }
        let deleted = map.get("deleted").and_then(Value::as_bool) == Some(true);
        let kind = match map.get("type") {
            Some(Value::String(t)) => match kind_of_type(t) {
                Some(kind) => kind,
                None => {
                    report.skip(place, format!("`{t}` is not an OParl object type"));
                    return None;
                }
            },
            _ => match ctx.kind {
                Some(kind) => {
                    let repair = if deleted {
                        Repair::TombstoneWithoutType
                    } else {
                        Repair::MissingType
                    };
                    report.repair(repair, place, format!("{id} taken as {}", kind.name()));
                    kind
                }
                None => {
                    report.skip(place, format!("{id} has no type"));
                    return None;
                }
            },
        };
        if kind == Kind::System {
            return None;
        }
        let sid = source_id(&id);
        let created = self.time(&mut map, "created", place, report);
        let modified = self.time(&mut map, "modified", place, report);
        let (created, modified) = match (created, modified, ctx.parent_times) {
            (Some(c), Some(m), _) => (Some(c), Some(m)),
            (c, m, Some((pc, pm))) => {
                report.repair(Repair::MissingTimes, place, &id);
                (c.or(pc).or(m), m.or(pm).or(c))
            }
            (c, m, None) => {
                report.repair(Repair::MissingTimes, place, &id);
                (c.or(m), m.or(c))
            }
        };
        let staged = if deleted {
            if ctx.unfiltered_list {
                report.repair(Repair::TombstoneInUnfilteredList, place, &id);
            }
            let mut fields = Map::new();
            fields.insert(SOURCE_ID_PROPERTY.into(), Value::String(id.clone()));
            let named = map.get(model::BODY_PROPERTY).and_then(Value::as_str);
            Staged {
                sid: sid.clone(),
                kind,
                body: named
                    .map(|b| source_id(b.trim()))
                    .or_else(|| ctx.body.map(str::to_string)),
                via: Vec::new(),
                required: Vec::new(),
                source_order: None,
                created,
                modified,
                deleted: true,
                fields: Fields::new(kind, &fields),
                links: Vec::new(),
                place: place.clone(),
                hash: 0,
                content: 0,
            }
        } else {
            // A server of this kind names every object's Body in its feed
            // and dumps (`server:body`), also where OParl has no `body`.
            let named = map.get("body").or_else(|| map.get(model::BODY_PROPERTY));
            let body = match (kind, named) {
                (Kind::Body, _) => Some(sid.clone()),
                (_, Some(Value::String(b))) => Some(source_id(b.trim())),
                _ => ctx.body.map(str::to_string),
            };
            let child_ctx = Context {
                kind: None,
                body: body.as_deref(),
                unfiltered_list: false,
                parent_times: Some((created, modified)),
                parent: Some(&sid),
            };
            let mut via: Vec<String> = ctx.parent.map(str::to_string).into_iter().collect();
            via.extend(back_references(kind, &map));
            let required = required_urls(kind, &mut map);
            let source_order = match kind {
                // Stored apart: the published order is the item's index.
                Kind::AgendaItem => map.remove("order").and_then(|o| o.as_i64()),
                _ => None,
            };
            let links = self.relations(kind, &mut map, child_ctx, place, report);
            // The own values left once the children are out, so that each
            // repair is reported at the object that holds the value.
            let mut value = Value::Object(map);
            let (padded, emptied) = repair::clean_strings(&mut value);
            report.repair_n(Repair::PaddedString, padded.into(), place, &id);
            report.repair_n(Repair::EmptyValue, emptied.into(), place, &id);
            let Value::Object(mut map) = value else {
                unreachable!("cleaning keeps an object an object")
            };
            own_values(kind, &mut map, place, report);
            map.insert(SOURCE_ID_PROPERTY.into(), Value::String(id.clone()));
            let fields = Fields::new(kind, &map);
            Staged {
                sid: sid.clone(),
                kind,
                body,
                via,
                required,
                source_order,
                created,
                modified,
                deleted: false,
                fields,
                links,
                place: place.clone(),
                hash: 0,
                content: 0,
            }
        };
        let mut staged = staged;
        staged.content = content_hash(&staged);
        staged.hash = with_times(staged.content, staged.created, staged.modified);
        self.insert(staged, id.starts_with("https://"), report);
        Some(sid)
    }

    fn time(
        &self,
        map: &mut Map<String, Value>,
        name: &str,
        place: &Place,
        report: &mut Report,
    ) -> Option<i64> {
        let text = map.get(name)?.as_str()?;
        let (t, repaired) = repair::parse_datetime(text)?;
        if repaired {
            report.repair(Repair::DateTimeForm, &place.child(name), text);
        }
        Some(t.timestamp())
    }

    /// Take every relation out of the object's values: embedded children are
    /// staged themselves, references become links by source id.
    fn relations(
        &mut self,
        kind: Kind,
        map: &mut Map<String, Value>,
        ctx: Context<'_>,
        place: &Place,
        report: &mut Report,
    ) -> Vec<StagedLink> {
        let mut links = Vec::new();
        for rel in RELS.iter().filter(|r| r.owner == kind) {
            let mut name = rel.name;
            let mut value = map.remove(name);
            if kind == Kind::Person && rel.name == "locationObject" {
                // OParl 1.0 and the deprecated 1.1 field give a URL.
                let url = map.remove("location");
                if value.is_none() {
                    value = url;
                    name = "location";
                }
            }
            let Some(value) = value else { continue };
            let at = place.child(name);
            let items = match (rel.shape, value) {
                (Shape::Ref | Shape::Embed, v @ (Value::String(_) | Value::Object(_))) => vec![v],
                (Shape::Refs | Shape::Embeds, Value::Array(items)) => items,
                (Shape::Refs | Shape::Embeds, v @ (Value::String(_) | Value::Object(_))) => {
                    report.repair(Repair::SingleValueForArray, &at, "wrapped in an array");
                    vec![v]
                }
                (_, v) => {
                    report.skip(&at, format!("wrong JSON type for {name}: {}", short(&v)));
                    continue;
                }
            };
            let mut targets: Vec<(String, Option<i64>)> = Vec::new();
            for (i, item) in items.into_iter().enumerate() {
                let at = if matches!(rel.shape, Shape::Refs | Shape::Embeds) {
                    at.child(format!("[{i}]"))
                } else {
                    at.clone()
                };
                match item {
                    Value::String(url) => {
                        let trimmed = url.trim();
                        if trimmed.len() != url.len() {
                            report.repair(Repair::PaddedString, &at, &url);
                        }
                        if !trimmed.is_empty() {
                            targets.push((source_id(trimmed), None));
                        }
                    }
                    Value::Object(child) => {
                        let order = child.get("order").and_then(Value::as_i64);
                        let child_ctx = Context {
                            kind: Some(rel.target),
                            ..ctx
                        };
                        if let Some(sid) = self.add(Value::Object(child), child_ctx, &at, report) {
                            targets.push((sid, order));
                        }
                    }
                    other => report.skip(&at, format!("wrong JSON type: {}", short(&other))),
                }
            }
            let mut seen = std::collections::HashSet::new();
            targets.retain(|(sid, _)| seen.insert(sid.clone()));
            let positions = if rel.code == MEETING_AGENDA_ITEM {
                agenda_positions(&mut targets)
            } else {
                (0..targets.len() as i32).collect()
            };
            links.extend(
                targets
                    .into_iter()
                    .zip(positions)
                    .map(|((to, _), position)| StagedLink {
                        field: rel.code,
                        position,
                        to,
                    }),
            );
        }
        links
    }

    /// Finish a stage once everything is read: every AgendaItem that a
    /// Meeting embeds gets its index there as its `order` (the Meeting's
    /// links hold it), and where the source gave another `order`, that
    /// value is kept in [`SOURCE_ORDER_PROPERTY`]; each such item is
    /// reported.
    pub fn finish(&mut self, report: &mut Report) {
        let mut placed: Vec<(usize, i32)> = Vec::new();
        let mut seen: FxHashSet<usize> = FxHashSet::default();
        for meeting in self.objects.iter().filter(|s| s.kind == Kind::Meeting) {
            for l in meeting
                .links
                .iter()
                .filter(|l| l.field == MEETING_AGENDA_ITEM)
            {
                match self.position(&l.to) {
                    Some(i) if seen.insert(i) => placed.push((i, l.position)),
                    _ => {}
                }
            }
        }
        for (i, position) in placed {
            let item = &mut self.objects[i];
            if item.source_order == Some(i64::from(position)) || item.deleted {
                continue;
            }
            let detail = match item.source_order {
                Some(order) => format!("{}: order {order} published as {position}", item.sid),
                None => format!("{}: no order, published as {position}", item.sid),
            };
            report.repair(Repair::AgendaItemOrder, &item.place.child("order"), detail);
            let Some(order) = item.source_order else {
                continue;
            };
            let mut fields: Map<String, Value> = serde_json::from_str(item.fields.as_str())
                .expect("staged values are a JSON object");
            fields.insert(SOURCE_ORDER_PROPERTY.into(), order.into());
            item.fields = Fields::new(item.kind, &fields);
            item.content = content_hash(item);
            item.hash = with_times(item.content, item.created, item.modified);
        }
    }

    /// Add a staged object, merging it with an earlier one of the same id.
    /// Take over what another stage read (a batch read on another thread),
    /// merging objects seen in both.
    pub fn absorb(&mut self, other: Stage, report: &mut Report) {
        let mut https = vec![false; other.objects.len()];
        for (i, first_https) in other.index.into_values() {
            https[i] = first_https;
        }
        for (staged, https) in other.objects.into_iter().zip(https) {
            self.insert(staged, https, report);
        }
    }

    fn insert(&mut self, staged: Staged, https: bool, report: &mut Report) {
        match self.index.get(&staged.sid) {
            None => {
                self.index
                    .insert(staged.sid.clone(), (self.objects.len(), https));
                self.objects.push(staged);
            }
            Some(&(i, first_https)) => {
                if first_https != https {
                    report.repair(Repair::SchemeMixture, &staged.place, &staged.sid);
                }
                let old = &mut self.objects[i];
                if self.ordered {
                    let earlier = std::mem::replace(old, staged);
                    if old.body.is_none() {
                        old.body = earlier.body.clone();
                    }
                    merge_hints(old, earlier);
                    return;
                }
                if old.content == staged.content {
                    // One object seen twice: it exists since the earliest and
                    // was last changed at the latest time given.
                    old.created = min_some(old.created, staged.created);
                    old.modified = old.modified.max(staged.modified);
                    old.hash = with_times(old.content, old.created, old.modified);
                    if old.body.is_none() {
                        old.body = staged.body.clone();
                    }
                    merge_hints(old, staged);
                    return;
                }
                // The later state wins; a tie goes to the later sighting.
                let newer = staged.modified >= old.modified;
                let detail = format!(
                    "{} differs from its sighting at {}; kept the {} one",
                    staged.sid,
                    old.place,
                    if newer { "later" } else { "earlier" }
                );
                report.repair(Repair::DuplicateId, &staged.place, detail);
                if newer {
                    let earlier = std::mem::replace(old, staged);
                    merge_hints(old, earlier);
                } else {
                    merge_hints(old, staged);
                }
            }
        }
    }
}

/// Every back-reference of a standalone object (a File's `paper`, a
/// Location's `bodies`, ...) by source id: objects whose Body it shares,
/// when nothing else says which Body it belongs to.
fn back_references(kind: Kind, map: &Map<String, Value>) -> Vec<String> {
    let mut names: Vec<&str> = RELS
        .iter()
        .filter(|r| r.target == kind)
        .filter_map(|r| r.back.map(|(name, _)| name))
        .collect();
    names.dedup();
    let mut out = Vec::new();
    for name in names {
        match map.get(name) {
            Some(Value::String(url)) => out.push(source_id(url.trim())),
            Some(Value::Array(urls)) => out.extend(
                urls.iter()
                    .filter_map(Value::as_str)
                    .map(|u| source_id(u.trim())),
            ),
            _ => {}
        }
    }
    out.retain(|sid| !sid.is_empty());
    out
}

/// Take the source's URLs of the object's required references
/// (`model::REQUIRED_REFS`). A back-reference is removed from the values
/// here, since the store derives it from the parent that embeds the object;
/// the object's own references stay for `relations` to turn into links.
fn required_urls(kind: Kind, map: &mut Map<String, Value>) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for r in model::required_refs(kind) {
        let value = if r.is_back_reference() {
            map.remove(r.name)
        } else {
            map.get(r.name).cloned()
        };
        if let Some(Value::String(url)) = value {
            let url = url.trim();
            if url::Url::parse(url).is_ok() {
                out.push((r.name, url.to_string()));
            }
        }
    }
    out
}

/// Two sightings of one object: what one of them knows about where it
/// belongs is kept (an embedded copy has no back-references, the same
/// object in a list has them).
fn merge_hints(kept: &mut Staged, other: Staged) {
    for sid in other.via {
        if !kept.via.contains(&sid) {
            kept.via.push(sid);
        }
    }
    for (name, url) in other.required {
        if !kept.required.iter().any(|(n, _)| *n == name) {
            kept.required.push((name, url));
        }
    }
    if kept.source_order.is_none() {
        kept.source_order = other.source_order;
    }
}

/// Positions of a Meeting's agenda items, which OParl 1.1 publishes as
/// their `order`: numbered from 0 in the order of the source's `order`
/// values when every item has a distinct one (a source may number from 1,
/// or leave gaps), else in the order of the array. Where the published
/// order differs from the source's, [`Stage::finish`] reports it.
fn agenda_positions(targets: &mut [(String, Option<i64>)]) -> Vec<i32> {
    let mut distinct: Vec<i64> = targets.iter().filter_map(|(_, o)| *o).collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() == targets.len() {
        targets.sort_by_key(|(_, o)| *o);
    }
    (0..targets.len() as i32).collect()
}

/// Repairs of the object's own values that depend on the field.
fn own_values(kind: Kind, map: &mut Map<String, Value>, place: &Place, report: &mut Report) {
    for name in DATE_TIME_FIELDS {
        if let Some(v) = map.get_mut(name) {
            let before = v.to_string();
            if repair::datetime_field(v) {
                report.repair(Repair::DateTimeForm, &place.child(name), before);
            }
        }
    }
    for name in DATE_FIELDS {
        if let Some(v) = map.get_mut(name) {
            let before = v.to_string();
            if repair::date_field(v) {
                report.repair(Repair::DateTimeForDate, &place.child(name), before);
            }
        }
    }
    if kind == Kind::Meeting {
        if let Some(end) = repair::end_before_start_of_same_day(map) {
            map.remove("end");
            report.repair(Repair::MeetingEndBeforeStart, &place.child("end"), end);
        }
    }
    if kind == Kind::File {
        if let Some(v) = map.get_mut("mimeType") {
            let before = v.to_string();
            if repair::mime_type(v) {
                report.repair(Repair::MimeType, &place.child("mimeType"), before);
            }
        }
    }
    if kind == Kind::Location {
        if let Some(v) = map.get_mut("geojson") {
            let r = repair::geojson(v);
            let at = place.child("geojson");
            if r.wrapped {
                report.repair(Repair::BareGeometry, &at, "wrapped into a Feature");
            }
            if r.swapped {
                report.repair(Repair::CoordinatesSwapped, &at, "positions swapped back");
            }
        }
    }
}

fn min_some(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The fingerprint with the times mixed in.
fn with_times(content: i64, created: Option<i64>, modified: Option<i64>) -> i64 {
    let mut h = Sha256::new();
    h.update(content.to_le_bytes());
    for t in [created, modified] {
        h.update(t.unwrap_or(i64::MIN).to_le_bytes());
    }
    let digest = h.finalize();
    i64::from_le_bytes(digest[..8].try_into().expect("eight bytes"))
}

/// A fingerprint of the values and relations of a staged object.
fn content_hash(s: &Staged) -> i64 {
    let mut h = Sha256::new();
    // The Body is left out: it is a hint of where the object was seen (an
    // embedded Location has the Body of whichever parent showed it).
    h.update([s.kind.code() as u8, s.deleted as u8]);
    h.update(s.fields.as_str().as_bytes());
    if let Some(order) = s.source_order {
        h.update(order.to_le_bytes());
    }
    for l in &s.links {
        h.update(l.field.to_le_bytes());
        h.update(l.position.to_le_bytes());
        h.update(l.to.as_bytes());
        h.update([0]);
    }
    let digest = h.finalize();
    i64::from_le_bytes(digest[..8].try_into().expect("eight bytes"))
}

/// The start of a value, for messages.
pub fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}
