//! What the index holds of an object: the texts it is found by (issue 12,
//! "what is searched"), in two parts that rank differently (its own names
//! in `head`, longer texts and what it shows of other objects in `body`),
//! its own date, and for a Paper the key of its reference.
//!
//! A Paper is also found by the names and texts of its main and auxiliary
//! files, a Meeting by its location and the names of its agenda items: they
//! are embedded in it, so a change to them re-stamps it (store::write) and
//! it is indexed again with them.

use crate::db::{AnyConnection, DbError};
use crate::model::{Kind, MEETING_AGENDA_ITEM};
use crate::store::read::{self, ObjectRow};
use serde_json::Value;
use std::collections::HashMap;

/// The kinds the search finds (issue 12, "what is searched").
pub const SEARCHED: [Kind; 6] = [
    Kind::Paper,
    Kind::Meeting,
    Kind::AgendaItem,
    Kind::File,
    Kind::Person,
    Kind::Organization,
];

/// Relations whose target's texts feed the owner's document.
const PAPER_MAIN_FILE: i16 = 22;
const PAPER_AUXILIARY_FILE: i16 = 23;
const MEETING_LOCATION: i16 = 8;
const FEEDING: [i16; 4] = [
    PAPER_MAIN_FILE,
    PAPER_AUXILIARY_FILE,
    MEETING_LOCATION,
    MEETING_AGENDA_ITEM,
];

/// What feeds an owner's document: the relation and the target's values.
type Fed<'a> = (i16, &'a Texts);

/// One object's texts, before they become terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub pk: i64,
    pub kind: Kind,
    /// Paper.date, Meeting.start, File.date in Unix seconds (a date is
    /// taken as its start in UTC).
    pub date: Option<i64>,
    /// `text::reference_key` of Paper.reference.
    pub reference: Option<String>,
    pub head: Vec<String>,
    pub body: Vec<String>,
}

/// Whether objects of this kind are searched.
pub fn is_searched(kind: Kind) -> bool {
    SEARCHED.contains(&kind)
}

/// The documents of these live objects (the others are skipped), in the
/// order given; what their parts feed them is loaded in one batch.
pub fn documents(conn: &mut AnyConnection, rows: &[ObjectRow]) -> Result<Vec<Document>, DbError> {
    let rows: Vec<&ObjectRow> = rows
        .iter()
        .filter(|r| !r.deleted && Kind::from_code(r.kind).is_some_and(is_searched))
        .collect();
    let owners: Vec<i64> = rows
        .iter()
        .filter(|r| matches!(r.kind(), Kind::Paper | Kind::Meeting))
        .map(|r| r.pk)
        .collect();
    let links: Vec<_> = read::links_from(conn, &owners)?
        .into_iter()
        .filter(|l| FEEDING.contains(&l.field))
        .collect();
    let targets: Vec<i64> = links.iter().map(|l| l.to_pk).collect();
    let parts: HashMap<i64, Texts> = read::live_objects(conn, &targets)?
        .into_iter()
        .map(|r| (r.pk, fields(&r.fields)))
        .collect();
    let mut fed: HashMap<i64, Vec<Fed>> = HashMap::new();
    for l in &links {
        if let Some(part) = parts.get(&l.to_pk) {
            fed.entry(l.from_pk).or_default().push((l.field, part));
        }
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let f = fields(&r.fields);
            let parts = fed.get(&r.pk).map(Vec::as_slice).unwrap_or(&[]);
            document(r.pk, r.kind(), &f, parts)
        })
        .collect())
}

fn fields(json: &str) -> Texts {
    serde_json::from_str(json).unwrap_or_default()
}

/// The members of an object's values that the search reads; the others
/// are skipped unparsed (an import indexes a million objects).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Texts {
    name: Option<Value>,
    reference: Option<Value>,
    paper_type: Option<Value>,
    keyword: Option<Value>,
    file_name: Option<Value>,
    text: Option<Value>,
    number: Option<Value>,
    resolution_text: Option<Value>,
    form_of_address: Option<Value>,
    affix: Option<Value>,
    title: Option<Value>,
    given_name: Option<Value>,
    family_name: Option<Value>,
    short_name: Option<Value>,
    description: Option<Value>,
    street_address: Option<Value>,
    room: Option<Value>,
    locality: Option<Value>,
    date: Option<Value>,
    start: Option<Value>,
}

impl Texts {
    fn get(&self, name: &str) -> Option<&Value> {
        match name {
            "name" => self.name.as_ref(),
            "reference" => self.reference.as_ref(),
            "paperType" => self.paper_type.as_ref(),
            "keyword" => self.keyword.as_ref(),
            "fileName" => self.file_name.as_ref(),
            "text" => self.text.as_ref(),
            "number" => self.number.as_ref(),
            "resolutionText" => self.resolution_text.as_ref(),
            "formOfAddress" => self.form_of_address.as_ref(),
            "affix" => self.affix.as_ref(),
            "title" => self.title.as_ref(),
            "givenName" => self.given_name.as_ref(),
            "familyName" => self.family_name.as_ref(),
            "shortName" => self.short_name.as_ref(),
            "description" => self.description.as_ref(),
            "streetAddress" => self.street_address.as_ref(),
            "room" => self.room.as_ref(),
            "locality" => self.locality.as_ref(),
            "date" => self.date.as_ref(),
            "start" => self.start.as_ref(),
            _ => None,
        }
    }
}

/// The document of one object from its values and the values of the
/// objects that feed it (relation code, values).
fn document(pk: i64, kind: Kind, f: &Texts, parts: &[Fed]) -> Document {
    let mut head = Vec::new();
    let mut body = Vec::new();
    let take = |out: &mut Vec<String>, f: &Texts, names: &[&str]| {
        for name in names {
            match f.get(name) {
                Some(Value::String(s)) => out.push(s.clone()),
                Some(Value::Array(a)) => {
                    out.extend(a.iter().filter_map(Value::as_str).map(str::to_string))
                }
                _ => {}
            }
        }
    };
    let date_of = |name: &str| f.get(name).and_then(Value::as_str).and_then(parse_date);
    let mut date = None;
    let mut reference = None;
    match kind {
        Kind::Paper => {
            take(&mut head, f, &["name", "reference", "paperType", "keyword"]);
            for (field, part) in parts {
                if matches!(*field, PAPER_MAIN_FILE | PAPER_AUXILIARY_FILE) {
                    take(&mut body, part, &["name", "fileName", "text"]);
                }
            }
            date = date_of("date");
            reference = f
                .get("reference")
                .and_then(Value::as_str)
                .map(super::text::reference_key)
                .filter(|k| !k.is_empty());
        }
        Kind::Meeting => {
            take(&mut head, f, &["name", "keyword"]);
            for (field, part) in parts {
                match *field {
                    MEETING_LOCATION => take(
                        &mut body,
                        part,
                        &["description", "streetAddress", "room", "locality"],
                    ),
                    MEETING_AGENDA_ITEM => take(&mut body, part, &["name"]),
                    _ => {}
                }
            }
            date = date_of("start");
        }
        Kind::AgendaItem => {
            take(&mut head, f, &["number", "name", "keyword"]);
            take(&mut body, f, &["resolutionText"]);
        }
        Kind::File => {
            take(&mut head, f, &["name", "fileName", "keyword"]);
            take(&mut body, f, &["text"]);
            date = date_of("date");
        }
        Kind::Person => {
            take(
                &mut head,
                f,
                &["name", "formOfAddress", "affix", "title", "keyword"],
            );
            if f.name.is_none() {
                take(&mut head, f, &["givenName", "familyName"]);
            }
        }
        Kind::Organization => take(&mut head, f, &["name", "shortName", "keyword"]),
        _ => {}
    }
    Document {
        pk,
        kind,
        date,
        reference,
        head,
        body,
    }
}

/// A date (`2026-03-01`, the start of that day in UTC) or a date-time in
/// Unix seconds.
pub fn parse_date(value: &str) -> Option<i64> {
    if let Ok(d) = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp());
    }
    chrono::DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|t| t.timestamp())
}
