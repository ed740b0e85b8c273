//! Checks of single objects (formats, nulls, empty values, type URIs,
//! schema, type-specific rules) and, after the crawl, of everything between
//! objects: ids, references, embedded copies, and Body list completeness.

use crate::model::{self, EMBEDS, REFS};
use crate::rules::Level;
use crate::schema::{self, Form};
use crate::{describe, Ctx, Version};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// One place an object was met.
#[derive(Debug, Clone)]
pub struct Seen {
    pub type_name: String,
    pub value: Value,
    pub url: String,
    pub path: String,
    /// The Body whose list led here, if any.
    pub body: Option<String>,
}

/// A URL reference to check.
#[derive(Debug, Clone)]
pub struct Reference {
    pub target: String,
    pub type_name: String,
    pub url: String,
    pub path: String,
}

/// Everything met during the crawl.
#[derive(Debug, Default)]
pub struct Collected {
    /// Objects met standalone (list entries, or fetched at their id).
    pub standalone: BTreeMap<String, Seen>,
    /// Embedded copies.
    pub embedded: BTreeMap<String, Vec<Seen>>,
    pub refs: Vec<Reference>,
    /// Ids fetched at their own URL, with the answer.
    pub fetched: BTreeMap<String, Option<Value>>,
}

impl Collected {
    pub fn all_ids(&self) -> BTreeSet<&String> {
        self.standalone.keys().chain(self.embedded.keys()).collect()
    }
}

/// Checks objects and records what it meets.
pub struct ObjectChecker<'a> {
    ctx: &'a Ctx,
    body: Option<String>,
}

impl<'a> ObjectChecker<'a> {
    pub fn new(ctx: &'a Ctx) -> Self {
        ObjectChecker { ctx, body: None }
    }

    pub fn in_body(ctx: &'a Ctx, body: Option<String>) -> Self {
        ObjectChecker { ctx, body }
    }

    pub fn check_standalone(&self, value: &Value, type_name: &str, url: &str, path: &str) {
        self.check(value, type_name, Form::Standalone, url, path);
        if let Some((id, seen)) = self.seen(value, type_name, url, path) {
            self.ctx
                .collected
                .lock()
                .unwrap()
                .standalone
                .entry(id)
                .or_insert(seen);
        }
    }

    fn check_embedded(&self, value: &Value, type_name: &str, url: &str, path: &str) {
        self.check(value, type_name, Form::Embedded, url, path);
        if let Some((id, seen)) = self.seen(value, type_name, url, path) {
            self.ctx
                .collected
                .lock()
                .unwrap()
                .embedded
                .entry(id)
                .or_default()
                .push(seen);
        }
    }

    /// Where an object with an id was met.
    fn seen(
        &self,
        value: &Value,
        type_name: &str,
        url: &str,
        path: &str,
    ) -> Option<(String, Seen)> {
        let id = value["id"].as_str()?.to_string();
        let seen = Seen {
            type_name: type_name.into(),
            value: value.clone(),
            url: url.into(),
            path: path.into(),
            body: self.body.clone(),
        };
        Some((id, seen))
    }

    fn check(&self, value: &Value, type_name: &str, form: Form, url: &str, path: &str) {
        let ctx = self.ctx;
        let Some(map) = value.as_object() else {
            ctx.add(
                20,
                url,
                path,
                format!("expected a {type_name} object, found {}", describe(value)),
            );
            return;
        };
        let version = ctx.version();
        let expected_type = format!("{}{type_name}", version.prefix());
        match map.get("type") {
            None => ctx.add(21, url, path, "the object has no type"),
            Some(t) if t.as_str() != Some(&expected_type) => ctx.add(
                21,
                url,
                &format!("{path}.type"),
                format!("type is {} where {expected_type} belongs", describe(t)),
            ),
            _ => {}
        }
        if map.get("deleted") == Some(&Value::Bool(true)) && form == Form::Embedded {
            ctx.add(31, url, path, "a deleted object is embedded");
        }
        let mut clean = value.clone();
        self.values(&mut clean, type_name, url, path);
        // The schemas are those of 1.1; for a 1.0 endpoint the type URI and
        // the requirements new in 1.1 are judged elsewhere or not at all.
        if version == Version::V1_0 {
            clean["type"] = Value::String(format!("https://schema.oparl.org/1.1/{type_name}"));
        }
        let mut found = crate::report::Findings::default();
        schema::check_object(type_name, form, &clean, url, path, &mut found);
        for f in found.into_vec() {
            let new_in_1_1 =
                matches!(f.rule, 75 | 77) || (form == Form::Embedded && matches!(f.rule, 22 | 23));
            if version == Version::V1_0 && new_in_1_1 {
                continue;
            }
            ctx.add_at(f.rule, f.level, &f.url, &f.path, f.message);
        }
        if map.get("deleted") == Some(&Value::Bool(true)) {
            return;
        }
        self.type_rules(map, type_name, url, path);
        for (owner, attribute, child, is_array) in EMBEDS {
            if *owner != type_name {
                continue;
            }
            let here = format!("{path}.{attribute}");
            match (map.get(*attribute), is_array) {
                (None, _) => {}
                (Some(Value::Array(items)), true) => {
                    for (i, item) in items.iter().enumerate() {
                        self.check_embedded(item, child, url, &format!("{here}[{i}]"));
                    }
                }
                (Some(v @ Value::Object(_)), false) => self.check_embedded(v, child, url, &here),
                (Some(other), _) => ctx.add(
                    20,
                    url,
                    &here,
                    format!(
                        "expected embedded {child} object(s), found {}",
                        describe(other)
                    ),
                ),
            }
        }
        let mut refs = Vec::new();
        for (owner, attribute, target, _) in REFS {
            if *owner != type_name
                || (form == Form::Embedded && model::is_back_reference(type_name, attribute))
            {
                continue;
            }
            let here = format!("{path}.{attribute}");
            let mut add = |v: &Value, at: String| {
                if let Some(s) = v.as_str() {
                    refs.push(crate::checks::objects::Reference {
                        target: s.to_string(),
                        type_name: target.to_string(),
                        url: url.to_string(),
                        path: at,
                    });
                }
            };
            match map.get(*attribute) {
                Some(Value::Array(items)) => items
                    .iter()
                    .enumerate()
                    .for_each(|(i, v)| add(v, format!("{here}[{i}]"))),
                Some(v) => add(v, here),
                None => {}
            }
        }
        // A Body's System link and Person.location are checked like other
        // references.
        self.ctx.collected.lock().unwrap().refs.extend(refs);
    }

    /// Rules on plain values anywhere in the object: null (17), empty
    /// arrays (18), empty or padded strings (19), entity escapes (14). Nulls
    /// are removed from `clean` so the schema judges the rest.
    fn values(&self, clean: &mut Value, type_name: &str, url: &str, path: &str) {
        let Some(map) = clean.as_object_mut() else {
            return;
        };
        let mut nulls = Vec::new();
        for (key, v) in map.iter() {
            let here = format!("{path}.{key}");
            match v {
                Value::Null => {
                    nulls.push(key.clone());
                    let required = matches!(key.as_str(), "id" | "type" | "created" | "modified");
                    let level = if required { Level::Must } else { Level::Should };
                    self.ctx.add_at(17, level, url, &here, "null value");
                }
                Value::Array(items)
                    if items.is_empty() && !(type_name == "Body" && key == "legislativeTerm") =>
                {
                    self.ctx
                        .add(18, url, &here, "empty array of an optional attribute")
                }
                Value::String(s) => self.string(s, url, &here),
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if let Value::String(s) = item {
                            self.string(s, url, &format!("{here}[{i}]"));
                        }
                    }
                }
                _ => {}
            }
        }
        for key in nulls {
            map.remove(&key);
        }
    }

    fn string(&self, s: &str, url: &str, path: &str) {
        if s.is_empty() {
            self.ctx.add(19, url, path, "empty string");
        } else if s.trim() != s {
            self.ctx.add(
                19,
                url,
                path,
                format!("white space around {}", describe(&Value::String(s.into()))),
            );
        }
        for entity in ["&amp;", "&lt;", "&gt;", "&quot;", "&#"] {
            if s.contains(entity) && !s.starts_with("http") {
                self.ctx
                    .add(14, url, path, format!("HTML entity `{entity}` in a string"));
                break;
            }
        }
    }

    fn type_rules(&self, map: &Map<String, Value>, type_name: &str, url: &str, path: &str) {
        let ctx = self.ctx;
        match type_name {
            "Meeting" => {
                if let Some(Value::Array(items)) = map.get("agendaItem") {
                    for (i, item) in items.iter().enumerate() {
                        if item
                            .get("order")
                            .is_some_and(|o| o.as_u64() != Some(i as u64))
                        {
                            ctx.add(
                                77,
                                url,
                                &format!("{path}.agendaItem[{i}].order"),
                                format!("order is {} at index {i}", item["order"]),
                            );
                        }
                    }
                }
                if let Some(state) = map.get("meetingState").and_then(Value::as_str) {
                    if !matches!(state, "terminiert" | "eingeladen" | "durchgeführt") {
                        ctx.add(
                            84,
                            url,
                            &format!("{path}.meetingState"),
                            format!("meetingState is `{state}`"),
                        );
                    }
                }
            }
            "Person" => {
                if let Some(object) = map.get("locationObject") {
                    if map.get("location") != object.get("id") {
                        ctx.add(
                            80,
                            url,
                            &format!("{path}.location"),
                            "Person.location does not name locationObject.id",
                        );
                    }
                }
                if let Some(gender) = map.get("gender").and_then(Value::as_str) {
                    if gender.chars().any(|c| !c.is_ascii_lowercase()) {
                        ctx.add(
                            81,
                            url,
                            &format!("{path}.gender"),
                            format!("gender is `{gender}`"),
                        );
                    }
                }
            }
            "File" => {
                if let Some(name) = map.get("name").and_then(Value::as_str) {
                    let lower = name.to_ascii_lowercase();
                    if [
                        ".pdf", ".odt", ".docx", ".doc", ".txt", ".jpg", ".png", ".xlsx",
                    ]
                    .iter()
                    .any(|e| lower.ends_with(e))
                    {
                        ctx.add(
                            65,
                            url,
                            &format!("{path}.name"),
                            format!("File.name `{name}` has a file extension"),
                        );
                    }
                }
                if map.contains_key("sha1Checksum") && !map.contains_key("sha512Checksum") {
                    ctx.add(64, url, path, "sha1Checksum without sha512Checksum");
                }
            }
            "Body" if !map.contains_key("legislativeTerm") => {
                ctx.add(
                    74,
                    url,
                    path,
                    "Body.legislativeTerm is missing (an empty array when there are none)",
                );
            }
            "Location" => {
                if let Some(geo) = map.get("geojson") {
                    check_coordinates(ctx, geo, url, &format!("{path}.geojson"));
                }
            }
            _ => {}
        }
    }
}

/// GeoJSON is longitude first. Council data lies in or near Germany
/// (longitude 5..16, latitude 47..56), so a first coordinate in the
/// latitude band and a second in the longitude band means swapped axes.
fn check_coordinates(ctx: &Ctx, geo: &Value, url: &str, path: &str) {
    let mut points = Vec::new();
    collect_points(&geo["geometry"]["coordinates"], &mut points);
    if let Some((x, y)) = points.first() {
        if (47.0..56.0).contains(x) && (5.0..16.0).contains(y) {
            ctx.add(79, url, path, format!("coordinates [{x}, {y}] are latitude, longitude; GeoJSON is longitude, latitude"));
        } else if !(-180.0..=180.0).contains(x) || !(-90.0..=90.0).contains(y) {
            ctx.add(
                79,
                url,
                path,
                format!("coordinates [{x}, {y}] are out of range"),
            );
        }
    }
}

fn collect_points(v: &Value, out: &mut Vec<(f64, f64)>) {
    match v.as_array() {
        Some(a) if a.len() >= 2 && a[0].is_number() => {
            out.push((a[0].as_f64().unwrap_or(0.0), a[1].as_f64().unwrap_or(0.0)));
        }
        Some(a) => a.iter().for_each(|x| collect_points(x, out)),
        None => {}
    }
}

/// After the crawl: fetch every object and every referenced URL of this
/// endpoint at its id (rules 2, 28, 45), check the reference types, and
/// compare embedded copies with the standalone object.
pub async fn resolve_everything(ctx: &Arc<Ctx>) {
    let origin = origin_of(
        &ctx.collected
            .lock()
            .unwrap()
            .standalone
            .values()
            .next()
            .map(|s| s.url.clone())
            .unwrap_or_default(),
    );
    loop {
        let todo: Vec<(String, String)> = {
            let c = ctx.collected.lock().unwrap();
            let mut todo = BTreeMap::new();
            for (id, seen) in c.standalone.iter() {
                todo.insert(id.clone(), seen.type_name.clone());
            }
            for (id, seen) in c.embedded.iter() {
                todo.entry(id.clone())
                    .or_insert_with(|| seen[0].type_name.clone());
            }
            for r in &c.refs {
                if origin_of(&r.target) == origin {
                    todo.entry(r.target.clone())
                        .or_insert_with(|| r.type_name.clone());
                }
            }
            todo.into_iter()
                .filter(|(id, _)| !c.fetched.contains_key(id))
                .collect()
        };
        if todo.is_empty() {
            break;
        }
        let limit = if ctx.opts.max_objects == 0 {
            usize::MAX
        } else {
            ctx.opts.max_objects
        };
        let mut tasks = tokio::task::JoinSet::new();
        for (id, type_name) in todo {
            if ctx.collected.lock().unwrap().fetched.len() >= limit {
                return compare_embedded(ctx);
            }
            ctx.collected
                .lock()
                .unwrap()
                .fetched
                .insert(id.clone(), None);
            let ctx = Arc::clone(ctx);
            tasks.spawn(async move {
                let Some((fetched, value)) = ctx.fetcher.json_with(&id, 200).await else {
                    return;
                };
                if value["id"].as_str() != Some(&id) {
                    ctx.add(
                        2,
                        &id,
                        "$.id",
                        format!("fetched from {id} but its id is {}", describe(&value["id"])),
                    );
                }
                let _ = fetched;
                ObjectChecker::new(&ctx).check_standalone(&value, &type_name, &id, "$");
                ctx.collected
                    .lock()
                    .unwrap()
                    .fetched
                    .insert(id, Some(value));
            });
        }
        while let Some(done) = tasks.join_next().await {
            ctx.joined(done, "checking an object");
        }
    }
    check_reference_types(ctx, &origin);
    compare_embedded(ctx);
}

fn origin_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// Every reference of ours resolves to an object of the expected type, and
/// to a live one: references are collected from live objects only (a
/// tombstone's attributes are not checked), and a harvester that follows one
/// to a tombstone finds no object where it expects one (rule 88).
fn check_reference_types(ctx: &Ctx, origin: &str) {
    let c = ctx.collected.lock().unwrap();
    let prefix = ctx.version().prefix();
    let mut reported = BTreeSet::new();
    for r in &c.refs {
        if origin_of(&r.target) != origin
            || !reported.insert((r.target.clone(), r.type_name.clone()))
        {
            continue;
        }
        match c.fetched.get(&r.target) {
            Some(Some(v)) => {
                if v["deleted"] == Value::Bool(true) {
                    ctx.add(
                        88,
                        &r.url,
                        &r.path,
                        format!("{} is a deleted {}", r.target, r.type_name),
                    );
                }
                let expected = format!("{prefix}{}", r.type_name);
                if v["type"].as_str() != Some(&expected) {
                    ctx.add(
                        20,
                        &r.url,
                        &r.path,
                        format!(
                            "{} is a {} where a {} belongs",
                            r.target,
                            describe(&v["type"]),
                            r.type_name
                        ),
                    );
                }
            }
            Some(None) => ctx.add(
                45,
                &r.url,
                &r.path,
                format!("the reference {} does not resolve to an object", r.target),
            ),
            None => {}
        }
    }
}

/// An embedded object agrees with the object at its id, back-references
/// aside (rule 28).
fn compare_embedded(ctx: &Ctx) {
    let c = ctx.collected.lock().unwrap();
    let mut findings = Vec::new();
    for (id, copies) in &c.embedded {
        let Some(Some(standalone)) = c.fetched.get(id) else {
            continue;
        };
        for copy in copies {
            let differing = differing_keys(
                &copy.type_name,
                copy.value.as_object(),
                standalone.as_object(),
            );
            if !differing.is_empty() {
                findings.push((
                    copy.url.clone(),
                    copy.path.clone(),
                    format!(
                        "differs from the object at its id in: {}",
                        differing.join(", ")
                    ),
                ));
            }
        }
    }
    drop(c);
    for (url, path, message) in findings {
        ctx.add(28, &url, &path, message);
    }
}

fn differing_keys(
    type_name: &str,
    a: Option<&Map<String, Value>>,
    b: Option<&Map<String, Value>>,
) -> Vec<String> {
    let (Some(a), Some(b)) = (a, b) else {
        return vec!["(not an object)".into()];
    };
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| !model::is_back_reference(type_name, k) && a.get(*k) != b.get(*k))
        .map(|k| k.to_string())
        .collect()
}

/// Every object of a Body is in the Body list of its type (rule 75).
pub fn check_body_lists_complete(
    ctx: &Ctx,
    lists: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
) {
    let c = ctx.collected.lock().unwrap();
    let mut findings = Vec::new();
    for (id, copies) in &c.embedded {
        for copy in copies {
            let Some(body) = &copy.body else { continue };
            if copy.value["deleted"] == Value::Bool(true) {
                continue;
            }
            let Some(by_type) = lists.get(body) else {
                continue;
            };
            if let Some(list) = by_type.get(&copy.type_name) {
                if !list.contains(id) {
                    findings.push((
                        copy.url.clone(),
                        copy.path.clone(),
                        format!("{id} is not in the Body's {} list", copy.type_name),
                    ));
                    break;
                }
            }
        }
    }
    // Objects met through references name their Body themselves.
    for (id, value) in c
        .fetched
        .iter()
        .filter_map(|(id, v)| Some((id, v.as_ref()?)))
    {
        let (Some(body), Some(type_name)) = (
            value["body"].as_str(),
            value["type"].as_str().and_then(|t| t.rsplit('/').next()),
        ) else {
            continue;
        };
        if value["deleted"] == Value::Bool(true)
            || type_name == "LegislativeTerm" && value.get("body").is_none()
        {
            continue;
        }
        let listed = lists.get(body).and_then(|by_type| by_type.get(type_name));
        if listed.is_some_and(|l| !l.contains(id)) {
            findings.push((
                id.clone(),
                "$".into(),
                format!("{id} names Body {body} but is not in its {type_name} list"),
            ));
        }
    }
    drop(c);
    for (url, path, message) in findings {
        ctx.add(75, &url, &path, message);
    }
}
