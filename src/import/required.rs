//! The references OParl 1.1 requires of an object served at its id
//! (`model::REQUIRED_REFS`: an AgendaItem's `meeting`, a Membership's
//! `person`, a Consultation's `paper`, and its `agendaItem` and `meeting`
//! where it has them) never simply vanish from a mirror.
//!
//! The store derives them from links: a back-reference from the parent
//! that embeds the object, the others from the object's own links. When the
//! source names a target it never serves (a live source's target is
//! fetched at its URL first, see `harvest::fetch_unlisted`), the mirror
//! keeps the source's URL as the published value: it is stored under the
//! member's name in the object's own values and rendered as it is, and
//! reported. An AgendaItem kept outside any Meeting keeps the source's
//! `order` the same way, since its index in a Meeting cannot be known. An
//! object whose required back-reference the source does not give at all,
//! and that no parent embeds, cannot be served as OParl requires; it is
//! skipped and reported.

use super::stage::{source_id, Stage};
use crate::model::{self, Kind};
use rustc_hash::FxHashSet;
use serde_json::Value;

/// The staged objects that a live staged parent embeds, by the relation
/// that embeds them: (index, relation code). `live(j)` says whether staged
/// object `j` exists, not deleted, after this run.
pub fn parents(stage: &Stage, live: &dyn Fn(usize) -> bool) -> FxHashSet<(usize, i16)> {
    let back: Vec<i16> = model::REQUIRED_REFS
        .iter()
        .filter(|r| r.is_back_reference())
        .map(|r| r.rel)
        .collect();
    let mut out = FxHashSet::default();
    for (j, s) in stage.objects.iter().enumerate() {
        if !live(j) {
            continue;
        }
        for l in s.links.iter().filter(|l| back.contains(&l.field)) {
            if let Some(i) = stage.position(&l.to) {
                out.insert((i, l.field));
            }
        }
    }
    out
}

/// The staged objects that cannot be served: a required back-reference
/// that no parent provides and the source does not give, or gives as an
/// object it deleted (whose children went with it), or an AgendaItem
/// outside any Meeting without an `order`. `deleted(sid)` says whether a
/// source id stands for a deleted object after this run.
pub fn unservable(
    stage: &Stage,
    live: &dyn Fn(usize) -> bool,
    has_parent: &dyn Fn(usize, i16) -> bool,
    deleted: &dyn Fn(&str) -> bool,
) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, s) in stage.objects.iter().enumerate() {
        if !live(i) {
            continue;
        }
        for r in model::required_refs(s.kind).filter(|r| r.is_back_reference()) {
            if has_parent(i, r.rel) {
                continue;
            }
            let given = s.required.iter().find(|(name, _)| *name == r.name);
            if let Some((_, url)) = given.filter(|(_, url)| deleted(&source_id(url))) {
                out.push((
                    i,
                    format!(
                        "{}: its {} {url} is deleted at the source, and it with it",
                        s.sid, r.name
                    ),
                ));
                break;
            }
            if given.is_none() {
                out.push((
                    i,
                    format!(
                        "{}: a {} needs its {} (OParl 1.1 requires it), and neither the source nor any parent gives one",
                        s.sid,
                        s.kind.name(),
                        r.name
                    ),
                ));
                break;
            }
            if s.kind == Kind::AgendaItem && s.source_order.is_none() {
                out.push((
                    i,
                    format!(
                        "{}: an AgendaItem outside any Meeting here and without an order (OParl 1.1 requires one)",
                        s.sid
                    ),
                ));
                break;
            }
        }
    }
    out
}

/// The members each live staged object publishes as the source gave them:
/// required references that the store cannot provide. `resolves(sid)`
/// says whether a source id stands for an object after this run.
pub fn kept(
    stage: &Stage,
    live: &dyn Fn(usize) -> bool,
    has_parent: &dyn Fn(usize, i16) -> bool,
    resolves: &dyn Fn(&str) -> bool,
) -> Vec<(usize, Vec<(&'static str, Value)>)> {
    let mut out = Vec::new();
    for (i, s) in stage.objects.iter().enumerate() {
        if !live(i) || s.required.is_empty() {
            continue;
        }
        let mut keep = Vec::new();
        for r in model::required_refs(s.kind) {
            let Some((_, url)) = s.required.iter().find(|(name, _)| *name == r.name) else {
                continue;
            };
            let provided = if r.is_back_reference() {
                has_parent(i, r.rel)
            } else {
                s.links.iter().any(|l| l.field == r.rel && resolves(&l.to))
            };
            if provided {
                continue;
            }
            keep.push((r.name, Value::String(url.clone())));
            if s.kind == Kind::AgendaItem {
                if let Some(order) = s.source_order {
                    keep.push(("order", Value::from(order)));
                }
            }
        }
        if !keep.is_empty() {
            out.push((i, keep));
        }
    }
    out
}
