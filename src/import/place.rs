//! Placing staged objects in a Body when nothing names one.
//!
//! OParl gives Meeting, AgendaItem, Consultation, File and Location no
//! `body`, so a JSON Lines line of such a kind often names none. Such an
//! object belongs to the Body of what it belongs to or goes with: a Meeting
//! to its organizations' Body, an AgendaItem to its Meeting's, a File to
//! the Body of the object that holds it, a Consultation to its paper's,
//! meeting's or organizations', a Location to the Body of what embeds it.
//! The Body is therefore taken through the object's relations, nearest
//! first, until a chain reaches an object whose Body is known; so a dump
//! imports the same into an empty store and into one that already holds
//! other Bodies.

use super::stage::Stage;
use crate::model::RELS;
use rustc_hash::FxHashMap;

/// Complete `bodies` (the Body pk of each staged object, where its own
/// values, list, parent or the store already tell) through the objects'
/// relations. `outside` answers the Body of a source id that is not staged
/// but known to the store.
///
/// For each object still without a Body, in this order: the objects it
/// belongs to (the parent it came embedded in, its back-references such as
/// a File's `paper` or a Location's `meetings`), the objects it refers to
/// (a Meeting's `organization`, a Consultation's `meeting`), the objects it
/// embeds, and last the objects that refer to it. Rounds repeat while they
/// place something, since a chain may be several steps long (an AgendaItem
/// through its Meeting through the Meeting's organizations).
pub fn through_relations(
    stage: &Stage,
    bodies: &mut [Option<i64>],
    outside: &dyn Fn(&str) -> Option<i64>,
) {
    let mut open: Vec<usize> = (0..stage.len()).filter(|&i| bodies[i].is_none()).collect();
    // Who refers to whom is only indexed when the first rounds leave
    // objects without a Body: it costs a pass over every link.
    let mut incoming: Option<FxHashMap<&str, Vec<usize>>> = None;
    while !open.is_empty() {
        let before = open.len();
        open.retain(
            |&i| match related_body(stage, i, bodies, outside, incoming.as_ref()) {
                Some(body) => {
                    bodies[i] = Some(body);
                    false
                }
                None => true,
            },
        );
        if open.len() == before {
            if incoming.is_some() {
                break;
            }
            incoming = Some(referrers(stage));
        }
    }
}

/// The first Body found through the relations of object `i`.
fn related_body(
    stage: &Stage,
    i: usize,
    bodies: &[Option<i64>],
    outside: &dyn Fn(&str) -> Option<i64>,
    incoming: Option<&FxHashMap<&str, Vec<usize>>>,
) -> Option<i64> {
    let s = &stage.objects[i];
    let body_of = |sid: &str| match stage.position(sid) {
        Some(j) => bodies[j],
        None => outside(sid),
    };
    let embedding = |field: i16| RELS[field as usize].shape.is_embedding();
    s.via
        .iter()
        .find_map(|sid| body_of(sid))
        .or_else(|| {
            s.links
                .iter()
                .filter(|l| !embedding(l.field))
                .find_map(|l| body_of(&l.to))
        })
        .or_else(|| {
            s.links
                .iter()
                .filter(|l| embedding(l.field))
                .find_map(|l| body_of(&l.to))
        })
        .or_else(|| {
            incoming?
                .get(s.sid.as_str())?
                .iter()
                .find_map(|&j| bodies[j])
        })
}

/// For each source id, the staged objects whose links point at it.
fn referrers(stage: &Stage) -> FxHashMap<&str, Vec<usize>> {
    let mut out: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
    for (j, s) in stage.objects.iter().enumerate() {
        for l in &s.links {
            out.entry(l.to.as_str()).or_default().push(j);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::report::{Place, Report};
    use crate::import::stage::Context;
    use serde_json::json;

    const T: &str = "https://schema.oparl.org/1.1/";

    fn stage(lines: Vec<serde_json::Value>) -> Stage {
        let mut stage = Stage::default();
        let mut report = Report::new(false);
        for (n, line) in lines.into_iter().enumerate() {
            let place = Place::new("test.jsonl", Some(n + 1));
            stage.add(line, Context::default(), &place, &mut report);
        }
        stage
    }

    #[test]
    fn chains_of_relations_place_what_names_no_body() {
        let stage = stage(vec![
            json!({"id": "https://s.test/body/1", "type": format!("{T}Body")}),
            json!({"id": "https://s.test/body/2", "type": format!("{T}Body")}),
            json!({"id": "https://s.test/org/2", "type": format!("{T}Organization"),
                   "body": "https://s.test/body/2"}),
            // Through its organization; its agenda item through it.
            json!({"id": "https://s.test/meeting/1", "type": format!("{T}Meeting"),
                   "organization": ["https://s.test/org/2"],
                   "agendaItem": [{"id": "https://s.test/ai/1", "type": format!("{T}AgendaItem"),
                                   "order": 0}]}),
            // Through its meeting, its paper not being here.
            json!({"id": "https://s.test/c/1", "type": format!("{T}Consultation"),
                   "paper": "https://s.test/paper/404", "meeting": "https://s.test/meeting/1"}),
            // Through the meeting that names it.
            json!({"id": "https://s.test/meeting/2", "type": format!("{T}Meeting"),
                   "agendaItem": [{"id": "https://s.test/ai/2", "type": format!("{T}AgendaItem"),
                                   "order": 0, "consultation": "https://s.test/c/1"}]}),
            // Related to nothing.
            json!({"id": "https://s.test/location/9", "type": format!("{T}Location")}),
        ]);
        let mut bodies: Vec<Option<i64>> = stage
            .objects
            .iter()
            .enumerate()
            .map(|(i, s)| match (s.kind, s.body.as_deref()) {
                (crate::model::Kind::Body, _) => Some(i as i64),
                (_, Some(b)) => stage.position(b).map(|j| j as i64),
                _ => None,
            })
            .collect();
        through_relations(&stage, &mut bodies, &|_| None);
        let body_of = |sid: &str| bodies[stage.position(&format!("s.test/{sid}")).unwrap()];
        let second = stage.position("s.test/body/2").map(|j| j as i64);
        for sid in ["meeting/1", "ai/1", "c/1", "meeting/2", "ai/2"] {
            assert_eq!(body_of(sid), second, "{sid}");
        }
        assert_eq!(body_of("location/9"), None);
    }
}
