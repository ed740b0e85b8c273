//! Validation against the JSON Schema files of `oparl-schema/`, which are
//! compiled into the binary. A schema violation is reported under the rule
//! it breaks (a missing `created` under 22, a date in the wrong form under
//! 15, a back-reference in an embedded object under 30, and so on).

use crate::report::Findings;
use crate::rules::{rule, Level};
use jsonschema::{Registry, Validator};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::OnceLock;

macro_rules! schema_files {
    ($($name:literal),*) => {
        [$(($name, include_str!(concat!("../../oparl-schema/schema/", $name, ".json")))),*]
    };
}

const FILES: [(&str, &str); 16] = schema_files!(
    "common",
    "Deleted",
    "ListPage",
    "Error",
    "System",
    "Body",
    "LegislativeTerm",
    "Organization",
    "Person",
    "Membership",
    "Meeting",
    "AgendaItem",
    "Paper",
    "Consultation",
    "File",
    "Location"
);

/// The twelve type names.
pub const TYPES: [&str; 12] = [
    "System",
    "Body",
    "LegislativeTerm",
    "Organization",
    "Person",
    "Membership",
    "Meeting",
    "AgendaItem",
    "Paper",
    "Consultation",
    "File",
    "Location",
];

/// How an object was met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// At its id or in a list page.
    Standalone,
    /// Inside its parent.
    Embedded,
}

struct Schemas {
    standalone: HashMap<&'static str, Validator>,
    embedded: HashMap<&'static str, Validator>,
    list_page: Validator,
    error: Validator,
}

fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let mut builder = Registry::new();
        for (name, text) in FILES {
            let value: Value = serde_json::from_str(text).expect("schema files are JSON");
            builder = builder
                .add(format!("urn:oparl-schema:{name}"), value)
                .expect("schema ids are URIs");
        }
        // The registry lives as long as the process, like the validators.
        let registry: &'static Registry =
            Box::leak(Box::new(builder.prepare().expect("schemas resolve")));
        let compile = |reference: String| {
            jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .with_registry(registry)
                .should_validate_formats(true)
                .build(&json!({ "$ref": reference }))
                .expect("schemas compile")
        };
        Schemas {
            standalone: TYPES
                .iter()
                .map(|t| (*t, compile(format!("urn:oparl-schema:{t}"))))
                .collect(),
            embedded: TYPES
                .iter()
                .filter(|t| **t != "System")
                .map(|t| (*t, compile(format!("urn:oparl-schema:{t}#/$defs/embedded"))))
                .collect(),
            list_page: compile("urn:oparl-schema:ListPage".into()),
            error: compile("urn:oparl-schema:Error".into()),
        }
    })
}

/// Check an object of a known type; findings go under `path` at `url`.
pub fn check_object(
    type_name: &str,
    form: Form,
    value: &Value,
    url: &str,
    path: &str,
    out: &mut Findings,
) {
    let s = schemas();
    let validator = match form {
        Form::Standalone => s.standalone.get(type_name),
        Form::Embedded => s.embedded.get(type_name),
    };
    if let Some(v) = validator {
        report(v, type_name, value, url, path, out);
    }
}

/// A violation of a type's standalone schema, for a writer that checks an
/// object before it exists (the write API of the server).
#[derive(Debug, Clone)]
pub struct Violation {
    /// JSON Pointer of the offending value.
    pub pointer: String,
    /// The missing member, for a violation of `required`.
    pub required: Option<String>,
    pub message: String,
}

/// Every violation of the standalone schema of `type_name` by `value`.
pub fn violations(type_name: &str, value: &Value) -> Vec<Violation> {
    let Some(v) = schemas().standalone.get(type_name) else {
        return Vec::new();
    };
    v.iter_errors(value)
        .map(|e| Violation {
            pointer: e.instance_path().as_str().to_string(),
            required: match e.kind() {
                jsonschema::error::ValidationErrorKind::Required { property } => {
                    property.as_str().map(str::to_string)
                }
                _ => None,
            },
            message: e.to_string(),
        })
        .collect()
}

/// The members the schema of `type_name` defines (of a live object).
pub fn property_names(type_name: &str) -> Vec<String> {
    let Some((_, text)) = FILES.iter().find(|(n, _)| *n == type_name) else {
        return Vec::new();
    };
    let value: Value = serde_json::from_str(text).expect("schema files are JSON");
    let props = value
        .pointer("/else/properties")
        .or_else(|| value.pointer("/properties"));
    props
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// Check a list page envelope (rule 32).
pub fn check_list_page(value: &Value, url: &str, out: &mut Findings) {
    for e in schemas().list_page.iter_errors(value) {
        out.add(
            32,
            url,
            &join(&e.instance_path().to_string()),
            e.to_string(),
        );
    }
}

/// Whether a value is an OParl Error object.
pub fn is_error_object(value: &Value) -> bool {
    schemas().error.is_valid(value)
}

fn report(
    v: &Validator,
    type_name: &str,
    value: &Value,
    url: &str,
    path: &str,
    out: &mut Findings,
) {
    for e in v.iter_errors(value) {
        let at = format!("{path}{}", e.instance_path().as_str().replace('/', "."));
        let schema_path = e.evaluation_path().to_string();
        let kind = e.kind();
        let property = match kind {
            jsonschema::error::ValidationErrorKind::Required { property } => {
                property.as_str().map(str::to_string)
            }
            _ => None,
        };
        // The type URI is judged by the object checks, which know the version.
        if property.is_none() && at.ends_with(".type") {
            continue;
        }
        let forbidden = matches!(kind, jsonschema::error::ValidationErrorKind::FalseSchema);
        let (id, level) = if forbidden {
            // Only embedded forms forbid attributes: back-references and `deleted`.
            let field = at.rsplit('.').next().unwrap_or("");
            rule_level(if field == "deleted" { 31 } else { 30 })
        } else {
            classify(type_name, property.as_deref(), &schema_path, &at)
        };
        let message = match &property {
            Some(p) => format!("required attribute `{p}` is missing"),
            None => e.to_string(),
        };
        out.add_at(id, level, url, &at, message);
    }
}

fn rule_level(id: u32) -> (u32, Level) {
    (id, rule(id).level)
}

/// Which rule a schema error breaks.
fn classify(type_name: &str, required: Option<&str>, schema_path: &str, at: &str) -> (u32, Level) {
    let own = |id: u32| (id, rule(id).level);
    if let Some(p) = required {
        return own(match p {
            "id" | "type" => 21,
            "created" => 22,
            "modified" => 23,
            "deleted" => 48,
            "order" => 77,
            "accessUrl" => 60,
            "oparlVersion" => 71,
            "name" | "organization" | "person" | "meeting" | "paper" if type_name == "Body" => 74,
            "agendaItem"
            | "consultation"
            | "file"
            | "locationList"
            | "legislativeTermList"
            | "membership"
                if type_name == "Body" =>
            {
                75
            }
            "body" | "meeting" | "paper" | "person" => 29,
            _ => 20,
        });
    }
    let field = at.rsplit('.').next().unwrap_or("");
    if schema_path.contains("geojson") || at.contains(".geojson") {
        return own(79);
    }
    if matches!(
        field,
        "created" | "modified" | "start" | "end" | "licenseValidSince" | "oparlSince"
    ) {
        return own(16);
    }
    if matches!(field, "date" | "startDate" | "endDate") {
        return own(15);
    }
    if field == "type" {
        return own(21);
    }
    if field == "oparlVersion" {
        return own(71);
    }
    if schema_path.contains("Deleted") {
        return own(48);
    }
    own(20)
}

fn join(pointer: &str) -> String {
    format!("${}", pointer.replace('/', "."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_compile_and_catch_the_basics() {
        let mut out = Findings::default();
        let good = json!({
            "id": "https://x.example/a/1", "type": "https://schema.oparl.org/1.1/AgendaItem",
            "meeting": "https://x.example/m/1", "order": 0,
            "created": "2020-01-01T10:00:00+01:00", "modified": "2020-01-01T10:00:00+01:00"
        });
        check_object("AgendaItem", Form::Standalone, &good, "u", "$", &mut out);
        assert!(out.is_empty(), "{:?}", out.into_vec());
        let mut out = Findings::default();
        check_object("AgendaItem", Form::Embedded, &good, "u", "$", &mut out);
        let found = out.into_vec();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule, 30, "{found:?}");
        let mut bad = good.clone();
        bad["created"] = json!("2020-01-01T10:00:00Z");
        bad.as_object_mut().unwrap().remove("order");
        let mut out = Findings::default();
        check_object("AgendaItem", Form::Standalone, &bad, "u", "$", &mut out);
        let rules: Vec<u32> = out.into_vec().iter().map(|f| f.rule).collect();
        assert!(rules.contains(&16) && rules.contains(&77), "{rules:?}");
        let tomb = json!({"id": "https://x.example/a/1", "type": "https://schema.oparl.org/1.1/Paper", "created": "2020-01-01T10:00:00+01:00", "modified": "2020-01-01T10:00:00+01:00", "deleted": true});
        let mut out = Findings::default();
        check_object("Paper", Form::Standalone, &tomb, "u", "$", &mut out);
        assert!(out.is_empty());
        assert!(is_error_object(
            &json!({"type": "https://schema.oparl.org/1.1/Error", "message": "x"})
        ));
    }
}
