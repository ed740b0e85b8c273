//! Staged objects into the store, in one transaction, so a reader (or a
//! killed import) sees the store before the run or after it, never between.
//!
//! Source ids become our pks through `import_id`; a source id seen before
//! keeps its object. Objects whose fingerprint did not change are skipped.
//! Source times are kept; the server's own rules still hold: an object
//! whose JSON changes because of another (a parent losing an embedded
//! child, an Organization gaining a Membership, a Location gaining a back-
//! reference) gets a new `modified`, and a reference to something the
//! source never served is dropped and reported, never published, unless
//! OParl requires it (see `required`: then it keeps pointing at the source).
//! Objects that name no Body are placed through what they belong to (see
//! `place`).

use super::repair::Repair;
use super::report::Report;
use super::stage::Stage;
use super::{place, required};
use crate::db::{AnyConnection, DbError};
use crate::model::{self, Kind, MEMBERSHIP_ORGANIZATION, RELS};
use crate::store::import_state::{self, IdRow};
use crate::store::read::{self, LinkRow, ObjectHead};
use crate::store::write::{self, Change, Fields, NewObject};
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// What one application needs besides the staged objects.
pub struct ApplyOptions<'a> {
    /// The source's key in `import_source`.
    pub source_key: &'a str,
    /// Mark objects of the source that this run did not see as deleted.
    pub full: bool,
    /// Kinds read completely in this run: only these can have vanished.
    pub complete_kinds: &'a HashSet<Kind>,
    pub now: i64,
    /// The start of this run, kept for the next incremental one (None when
    /// the run missed something).
    pub record_start: Option<i64>,
    /// The source's change feed and the revision this run reached in it,
    /// kept for the next run (see `import::feed`).
    pub feed: Option<(&'a str, i64)>,
}

/// Apply a stage completely or not at all. `files` holds downloaded bytes
/// by source id.
pub fn apply(
    conn: &mut AnyConnection,
    stage: &Stage,
    files: &HashMap<String, Vec<u8>>,
    opts: &ApplyOptions<'_>,
    report: &mut Report,
) -> Result<(), DbError> {
    let started = std::time::Instant::now();
    let result = write::change(conn, |change| {
        let applier = Applier::new(change, stage, opts, report)?;
        tracing::debug!(secs = started.elapsed().as_secs_f64(), "ids resolved");
        applier.run(change, files)
    });
    tracing::debug!(secs = started.elapsed().as_secs_f64(), "committed");
    result
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    New,
    Changed,
    Unchanged,
    Skipped,
}

struct Applier<'a> {
    stage: &'a Stage,
    opts: &'a ApplyOptions<'a>,
    report: &'a mut Report,
    source: i32,
    /// (pk, hash) of the source ids the store knew before this run.
    known: FxHashMap<String, (i64, i64)>,
    /// Heads of those objects, as they were before this run.
    heads: FxHashMap<i64, ObjectHead>,
    /// The pk of every staged object (new ones numbered here).
    pks: Vec<i64>,
    /// The same pks as a set.
    staged_pks: FxHashSet<i64>,
    actions: Vec<Action>,
    bodies: Vec<Option<i64>>,
    /// Required references of staged objects kept pointing at the source
    /// (see `required`), by stage index: stored with the object's values.
    kept: FxHashMap<usize, Vec<(&'static str, Value)>>,
    /// Objects whose JSON changed because of another: (pk, time).
    touches: Vec<(i64, i64)>,
}

impl<'a> Applier<'a> {
    fn new(
        change: &mut Change<'_>,
        stage: &'a Stage,
        opts: &'a ApplyOptions<'a>,
        report: &'a mut Report,
    ) -> Result<Applier<'a>, DbError> {
        let source = import_state::source_or_new(change.conn()?, opts.source_key)?.id;
        let mut system = Map::new();
        system.insert("name".into(), "OParl".into());
        change.ensure_system(&system, opts.now)?;
        let conn = change.conn()?;
        let known = if import_state::any_ids(conn)? {
            let mut wanted: HashSet<&str> = HashSet::new();
            for s in &stage.objects {
                wanted.insert(&s.sid);
                wanted.extend(s.links.iter().map(|l| l.to.as_str()));
                wanted.extend(s.body.as_deref());
                wanted.extend(s.via.iter().map(String::as_str));
            }
            let wanted: Vec<&str> = wanted.into_iter().collect();
            import_state::lookup(conn, &wanted)?.into_iter().collect()
        } else {
            FxHashMap::default()
        };
        let known_pks: Vec<i64> = known.values().map(|(pk, _)| *pk).collect();
        let heads = read::heads(conn, &known_pks)?
            .into_iter()
            .map(|h| (h.pk, h))
            .collect();
        let new = stage
            .objects
            .iter()
            .filter(|s| !known.contains_key(&s.sid))
            .count();
        let mut next = change.reserve_pks(new as i64)?;
        let pks = stage
            .objects
            .iter()
            .map(|s| match known.get(&s.sid) {
                Some((pk, _)) => *pk,
                None => {
                    next += 1;
                    next - 1
                }
            })
            .collect::<Vec<i64>>();
        let staged_pks = pks.iter().copied().collect();
        let mut applier = Applier {
            stage,
            opts,
            report,
            source,
            known,
            heads,
            pks,
            staged_pks,
            actions: Vec::new(),
            bodies: Vec::new(),
            kept: FxHashMap::default(),
            touches: Vec::new(),
        };
        applier.resolve_bodies(change.conn()?)?;
        applier.actions = applier
            .bodies
            .iter()
            .map(|b| {
                if b.is_none() {
                    Action::Skipped
                } else {
                    Action::New
                }
            })
            .collect();
        applier.keep_required(change.conn()?)?;
        applier.classify();
        applier.report.unchanged += applier
            .actions
            .iter()
            .filter(|a| **a == Action::Unchanged)
            .count() as u64;
        Ok(applier)
    }

    fn run(
        mut self,
        change: &mut Change<'_>,
        files: &HashMap<String, Vec<u8>>,
    ) -> Result<(), DbError> {
        self.insert_new(change)?;
        self.update_changed(change)?;
        self.delete_tombstoned(change)?;
        self.store_files(change, files)?;
        if self.opts.full {
            self.delete_vanished(change)?;
        }
        for (pk, t) in std::mem::take(&mut self.touches) {
            // A server of this kind gave every object whose JSON changed
            // a revision of its own, so each such object of it is in the
            // stage with its time; re-stamping it would differ from it.
            if self.stage.ordered && self.staged_pks.contains(&pk) {
                continue;
            }
            change.touch_with_ancestors(pk, t)?;
        }
        if let Some((url, revision)) = self.opts.feed {
            import_state::set_feed(change.conn()?, self.source, url, revision)?;
        }
        import_state::finish_run(
            change.conn()?,
            self.source,
            self.opts.record_start,
            self.opts.now,
        )
    }

    /// The pk and kind a source id stands for, if the object exists after
    /// this run (staged and not skipped, or known before).
    fn target(&self, sid: &str) -> Option<(i64, Kind, bool)> {
        if let Some(i) = self.stage.position(sid) {
            let s = &self.stage.objects[i];
            return match self.actions.get(i) {
                Some(Action::Skipped) => None,
                _ => Some((self.pks[i], s.kind, s.deleted)),
            };
        }
        let (pk, _) = self.known.get(sid)?;
        let head = self.heads.get(pk)?;
        Some((*pk, head.kind(), head.deleted))
    }

    /// The Body of every staged object: a Body's own; the Body its values,
    /// list or parent name; the one the store gave it before; failing those,
    /// the Body of an object it belongs to or is related to (see `place`);
    /// failing all, the source's only Body, when it has one.
    fn resolve_bodies(&mut self, conn: &mut AnyConnection) -> Result<(), DbError> {
        let stored_bodies: FxHashSet<i64> = read::body_pks(conn)?.into_iter().collect();
        let source_bodies: Vec<i64> = self
            .stage
            .objects
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind == Kind::Body && !s.deleted)
            .map(|(i, _)| self.pks[i])
            .collect();
        let only_body = match source_bodies.as_slice() {
            [one] => Some(*one),
            _ => None,
        };
        let mut bodies: Vec<Option<i64>> = self
            .stage
            .objects
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if s.kind == Kind::Body {
                    return Some(self.pks[i]);
                }
                let named = s.body.as_deref().and_then(|b| {
                    if let Some(j) = self.stage.position(b) {
                        let t = &self.stage.objects[j];
                        return (t.kind == Kind::Body && !t.deleted).then_some(self.pks[j]);
                    }
                    let (pk, _) = self.known.get(b)?;
                    stored_bodies.contains(pk).then_some(*pk)
                });
                named.or_else(|| self.heads.get(&self.pks[i]).and_then(|h| h.body_pk))
            })
            .collect();
        let outside = |sid: &str| {
            let (pk, _) = self.known.get(sid)?;
            self.heads.get(pk)?.body_pk
        };
        place::through_relations(self.stage, &mut bodies, &outside);
        for (i, s) in self.stage.objects.iter().enumerate() {
            if bodies[i].is_some() {
                continue;
            }
            if let Some(body) = only_body {
                self.report.repair(Repair::UnknownBody, &s.place, &s.sid);
                bodies[i] = Some(body);
            } else if s.deleted {
                // A tombstone of an object this store never had, of no
                // known Body, could not be listed anywhere.
                self.report
                    .repair(Repair::TombstoneWithoutBody, &s.place, &s.sid);
            } else {
                self.report.skip(
                    &s.place,
                    format!(
                        "{}: cannot tell which Body it belongs to (no body field, list or parent, and nothing related to it names one)",
                        s.sid
                    ),
                );
            }
        }
        self.bodies = bodies;
        Ok(())
    }

    /// Decide what the required references of the staged objects need (see
    /// `required`): objects that cannot be served are skipped, references
    /// the store cannot provide are kept pointing at the source. Runs once
    /// the objects without a Body are marked skipped.
    fn keep_required(&mut self, conn: &mut AnyConnection) -> Result<(), DbError> {
        let back: Vec<i16> = model::REQUIRED_REFS
            .iter()
            .filter(|r| r.is_back_reference())
            .map(|r| r.rel)
            .collect();
        // Parents this run leaves as they are still embed what they did.
        let children: Vec<i64> = self
            .stage
            .objects
            .iter()
            .enumerate()
            .filter(|(i, s)| {
                model::required_refs(s.kind).any(|r| r.is_back_reference())
                    && self.heads.contains_key(&self.pks[*i])
            })
            .map(|(i, _)| self.pks[i])
            .collect();
        let mut stored: FxHashSet<(i64, i16)> = FxHashSet::default();
        for (l, deleted) in read::links_to(conn, &children, &back)? {
            if !deleted && !self.staged_pks.contains(&l.from_pk) {
                stored.insert((l.to_pk, l.field));
            }
        }
        // Skipping an object for its required references takes no parent
        // from another (the parents are Meetings, Persons and Papers), so
        // the parents are found once.
        let staged = {
            let live = |i: usize| self.live(i);
            required::parents(self.stage, &live)
        };
        let has_parent =
            |i: usize, rel: i16| staged.contains(&(i, rel)) || stored.contains(&(self.pks[i], rel));
        let deleted = |sid: &str| self.target(sid).is_some_and(|(_, _, deleted)| deleted);
        let unservable = required::unservable(self.stage, &|i| self.live(i), &has_parent, &deleted);
        for (i, why) in unservable {
            self.report.skip(&self.stage.objects[i].place, why);
            self.actions[i] = Action::Skipped;
        }
        let resolves = |sid: &str| self.target(sid).is_some();
        let kept = required::kept(self.stage, &|i| self.live(i), &has_parent, &resolves);
        for (i, members) in kept {
            let s = &self.stage.objects[i];
            for (name, value) in members.iter().filter(|(name, _)| *name != "order") {
                let url = value.as_str().unwrap_or_default();
                self.report
                    .repair(Repair::RequiredReferenceKept, &s.place.child(name), url);
            }
            self.kept.insert(i, members);
        }
        Ok(())
    }

    /// Whether staged object `i` will be a live object after this run (as
    /// far as decided: not skipped, not a tombstone).
    fn live(&self, i: usize) -> bool {
        self.actions[i] != Action::Skipped && !self.stage.objects[i].deleted
    }

    /// The fingerprint of a staged object as stored: the source's, and the
    /// references kept pointing at the source, which change when a target
    /// arrives although the object did not.
    fn hash_of(&self, i: usize) -> i64 {
        let hash = self.stage.objects[i].hash;
        match self.kept.get(&i) {
            None => hash,
            Some(members) => {
                use sha2::{Digest, Sha256};
                let mut h = Sha256::new();
                h.update(hash.to_le_bytes());
                for (name, value) in members {
                    h.update(name.as_bytes());
                    h.update(value.to_string().as_bytes());
                }
                i64::from_le_bytes(h.finalize()[..8].try_into().expect("eight bytes"))
            }
        }
    }

    /// The values a staged object is stored with: the source's, and the
    /// references kept pointing at the source.
    fn fields_of(&self, i: usize) -> Cow<'_, Fields> {
        let s = &self.stage.objects[i];
        match self.kept.get(&i) {
            None => Cow::Borrowed(&s.fields),
            Some(members) => {
                let mut fields: Map<String, Value> = serde_json::from_str(s.fields.as_str())
                    .expect("staged values are a JSON object");
                for (name, value) in members {
                    fields.insert(name.to_string(), value.clone());
                }
                Cow::Owned(Fields::new(s.kind, &fields))
            }
        }
    }

    fn classify(&mut self) {
        self.actions = self
            .stage
            .objects
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if self.actions[i] == Action::Skipped {
                    return Action::Skipped;
                }
                match self.known.get(&s.sid) {
                    None => Action::New,
                    Some((pk, hash)) => match self.heads.get(pk) {
                        Some(h) if *hash == self.hash_of(i) && h.deleted == s.deleted => {
                            Action::Unchanged
                        }
                        _ => Action::Changed,
                    },
                }
            })
            .collect();
    }

    /// The links of a staged object that can be published: targets that
    /// exist, are live and have the right type. A deleted object is never
    /// embedded (OParl 1.1 §2.8), and we never publish a reference to one
    /// either (a harvester that follows it gets a tombstone where it expects
    /// an object): a source that serves one is repaired.
    fn links(&mut self, i: usize) -> Vec<LinkRow> {
        let s = &self.stage.objects[i];
        let mut out = Vec::with_capacity(s.links.len());
        for l in &s.links {
            let rel = &RELS[l.field as usize];
            match self.target(&l.to) {
                Some((to_pk, kind, deleted)) if kind == rel.target => {
                    if deleted {
                        self.report.repair(
                            Repair::ReferenceToDeleted,
                            &s.place.child(rel.name),
                            &l.to,
                        );
                        continue;
                    }
                    out.push(LinkRow {
                        from_pk: self.pks[i],
                        field: l.field,
                        position: l.position,
                        to_pk,
                    });
                }
                Some((_, kind, _)) => self.report.repair(
                    Repair::WrongTargetType,
                    &s.place.child(rel.name),
                    format!("{} is a {}, not a {}", l.to, kind.name(), rel.target.name()),
                ),
                // A required reference kept pointing at the source is
                // reported as such (see `keep_required`).
                None if self
                    .kept
                    .get(&i)
                    .is_some_and(|k| k.iter().any(|(name, _)| *name == rel.name)) => {}
                None => {
                    self.report
                        .repair(Repair::DanglingReference, &s.place.child(rel.name), &l.to)
                }
            }
        }
        out
    }

    /// Relations whose target shows them (back-references, and
    /// Organization.membership): a new or removed one changes the target.
    fn shows_on_target(field: i16) -> bool {
        RELS[field as usize].back.is_some() || field == MEMBERSHIP_ORGANIZATION
    }

    fn insert_new(&mut self, change: &mut Change<'_>) -> Result<(), DbError> {
        let mut rows = Vec::new();
        let mut links = Vec::new();
        let mut ids = Vec::new();
        for i in 0..self.stage.len() {
            if self.actions[i] != Action::New {
                continue;
            }
            let s = &self.stage.objects[i];
            let created = s.created.unwrap_or(self.opts.now);
            let modified = s.modified.unwrap_or(self.opts.now).max(created);
            if !s.deleted {
                for l in self.links(i) {
                    // An object known before this run now shows the new one.
                    if Self::shows_on_target(l.field) && self.heads.contains_key(&l.to_pk) {
                        self.touches.push((l.to_pk, modified));
                    }
                    links.push(l);
                }
            }
            let s = &self.stage.objects[i];
            rows.push(NewObject {
                pk: self.pks[i],
                kind: s.kind.code(),
                body_pk: self.bodies[i],
                created,
                modified,
                deleted: s.deleted,
                fields: self.fields_of(i).into_owned(),
            });
            ids.push(IdRow {
                source_id: s.sid.clone(),
                source: self.source,
                pk: self.pks[i],
                hash: self.hash_of(i),
            });
            self.report.created += 1;
        }
        let started = std::time::Instant::now();
        change.insert_objects(&rows)?;
        tracing::debug!(
            rows = rows.len(),
            secs = started.elapsed().as_secs_f64(),
            "objects inserted"
        );
        change.insert_links(&links)?;
        tracing::debug!(
            links = links.len(),
            secs = started.elapsed().as_secs_f64(),
            "links inserted"
        );
        import_state::insert_ids(change.conn()?, &ids)?;
        tracing::debug!(
            secs = started.elapsed().as_secs_f64(),
            "source ids inserted"
        );
        Ok(())
    }

    fn update_changed(&mut self, change: &mut Change<'_>) -> Result<(), DbError> {
        for i in 0..self.stage.len() {
            let s = &self.stage.objects[i];
            if self.actions[i] != Action::Changed || s.deleted {
                continue;
            }
            let pk = self.pks[i];
            let head = self.heads[&pk];
            let modified = match s.modified {
                Some(m) if m > head.modified => m,
                // A server of this kind keeps `modified` right itself (a
                // restored object may come back with its old time): its
                // value is the one to mirror.
                Some(m) if self.stage.ordered => m,
                Some(_) => {
                    self.report
                        .repair(Repair::ModifiedNotAdvanced, &s.place, &s.sid);
                    self.opts.now.max(head.modified)
                }
                None => self.opts.now.max(head.modified),
            };
            let created = s.created.unwrap_or(head.created);
            let old = read::links_from(change.conn()?, &[pk])?;
            let new = self.links(i);
            let s = &self.stage.objects[i];
            change.overwrite(pk, self.bodies[i], created, modified, &self.fields_of(i))?;
            change.remove_links_from(pk)?;
            change.insert_links(&new)?;
            let key = |l: &LinkRow| (l.field, l.to_pk);
            let old_keys: HashSet<_> = old.iter().map(key).collect();
            let new_keys: HashSet<_> = new.iter().map(key).collect();
            for (field, to) in old_keys.symmetric_difference(&new_keys) {
                if Self::shows_on_target(*field) {
                    self.touches.push((*to, modified));
                }
            }
            // Parents that embed it show the change.
            self.touches.push((pk, modified));
            self.delete_orphans(change, i, &old, &new_keys, modified)?;
            import_state::set_hash(change.conn()?, &s.sid, self.hash_of(i))?;
            self.report.changed += 1;
        }
        Ok(())
    }

    /// Children that exist only inside a parent and that the parent (the
    /// staged object `i`) no longer embeds, while the source sent nothing
    /// for them: neither a tombstone nor a new place.
    fn delete_orphans(
        &mut self,
        change: &mut Change<'_>,
        i: usize,
        old: &[LinkRow],
        kept: &HashSet<(i16, i64)>,
        t: i64,
    ) -> Result<(), DbError> {
        for l in old {
            let rel = &RELS[l.field as usize];
            if !rel.shape.is_embedding()
                || !model::owned_by_parent(rel.target)
                || kept.contains(&(l.field, l.to_pk))
                || self.staged_pks.contains(&l.to_pk)
            {
                continue;
            }
            if change.delete(l.to_pk, t)? {
                let place = self.stage.objects[i].place.child(rel.name);
                let detail = format!("object {} of {}", l.to_pk, self.stage.objects[i].sid);
                self.report
                    .repair(Repair::OrphanedChildDeleted, &place, detail);
                self.report.deleted += 1;
            }
        }
        Ok(())
    }

    fn delete_tombstoned(&mut self, change: &mut Change<'_>) -> Result<(), DbError> {
        for i in 0..self.stage.len() {
            let s = &self.stage.objects[i];
            if self.actions[i] != Action::Changed || !s.deleted {
                continue;
            }
            let t = s.modified.unwrap_or(self.opts.now);
            if change.delete(self.pks[i], t)? {
                self.report.deleted += 1;
            }
            import_state::set_hash(change.conn()?, &s.sid, s.hash)?;
        }
        Ok(())
    }

    /// Store downloaded bytes. A File whose bytes arrive now while its
    /// values did not change still shows new URLs, so it is re-stamped.
    fn store_files(
        &mut self,
        change: &mut Change<'_>,
        files: &HashMap<String, Vec<u8>>,
    ) -> Result<(), DbError> {
        for (sid, bytes) in files {
            let Some(i) = self.stage.position(sid) else {
                continue;
            };
            let pk = self.pks[i];
            match self.actions[i] {
                Action::Skipped => continue,
                Action::Unchanged => {
                    if read::files_with_bytes(change.conn()?, &[pk])?.contains(&pk) {
                        continue;
                    }
                    if !self.add_text(change, i, pk)? {
                        self.touches.push((pk, self.opts.now));
                    }
                }
                Action::New | Action::Changed => {}
            }
            change.store_file_bytes(pk, bytes)?;
            self.report.files_stored += 1;
        }
        Ok(())
    }

    /// An unchanged File's values are not written again, so a `text` read
    /// from its bytes in this run (see `import::add_file_texts`) goes in on
    /// its own, unless the stored File has one. Whether it was written (and
    /// the File re-stamped).
    fn add_text(&mut self, change: &mut Change<'_>, i: usize, pk: i64) -> Result<bool, DbError> {
        let staged: Map<String, Value> =
            serde_json::from_str(self.stage.objects[i].fields.as_str()).unwrap_or_default();
        let Some(text) = staged.get("text") else {
            return Ok(false);
        };
        let Some(row) = read::object(change.conn()?, pk)? else {
            return Ok(false);
        };
        let mut stored: Map<String, Value> = serde_json::from_str(&row.fields).unwrap_or_default();
        if stored.contains_key("text") {
            return Ok(false);
        }
        stored.insert("text".into(), text.clone());
        change.update_fields(pk, &stored, self.opts.now)?;
        Ok(true)
    }

    /// After a full read: what the source no longer has, without telling.
    fn delete_vanished(&mut self, change: &mut Change<'_>) -> Result<(), DbError> {
        for (sid, pk, kind) in import_state::live_of_source(change.conn()?, self.source)? {
            let Some(kind) = Kind::from_code(kind) else {
                continue;
            };
            if self.stage.contains(&sid) || !self.opts.complete_kinds.contains(&kind) {
                continue;
            }
            if change.delete(pk, self.opts.now)? {
                self.report.repair(
                    Repair::VanishedWithoutTombstone,
                    &super::report::Place::new(self.opts.source_key, None),
                    &sid,
                );
                self.report.deleted += 1;
            }
        }
        Ok(())
    }
}
