//! Every change to the store goes through here, so that the rules the spec
//! attaches to changes hold whoever writes (the demo generator, an import,
//! the tests):
//!
//! - `modified` only moves forward and is set on every change;
//! - a change to an object also re-stamps every object whose JSON shows it:
//!   the parents that embed it (transitively), the Organization whose
//!   `membership` lists a Membership, and the Files and Locations whose
//!   back-reference arrays name a deleted parent (digest §4.3, §12.3 item 15);
//! - deletion keeps a tombstone, removes the object from the arrays that
//!   embedded it (renumbering `AgendaItem.order`), and deletes the children
//!   that exist only inside it.
//!
//! Functions take `now` explicitly so callers (and tests) control time.

use super::read::{LinkRow, ObjectRow};
use crate::db::schema::{file_content, link, object};
use crate::db::{AnyConnection, DbError};
use crate::model::{self, Kind, Shape, MEETING_AGENDA_ITEM, MEMBERSHIP_ORGANIZATION, RELS};
use diesel::prelude::*;
use serde_json::{Map, Value};

/// A new row of `object`. Its `fields` must be normalised
/// ([`normalize_fields`]); bulk writers insert these directly.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = object, treat_none_as_default_value = false)]
pub struct NewObject {
    pub pk: i64,
    pub kind: i16,
    pub body_pk: Option<i64>,
    pub created: i64,
    pub modified: i64,
    pub deleted: bool,
    pub fields: String,
}

#[derive(Insertable)]
#[diesel(table_name = link, treat_none_as_default_value = false)]
pub(crate) struct NewLink {
    pub from_pk: i64,
    pub field: i16,
    pub position: i32,
    pub to_pk: i64,
}

#[derive(Insertable)]
#[diesel(table_name = file_content, treat_none_as_default_value = false)]
struct NewContent<'a> {
    file_pk: i64,
    bytes: &'a [u8],
}

/// Refresh the planner statistics after a bulk load.
///
/// On SQLite the samples of `sqlite_stat4` are dropped again (the bundled
/// build has STAT4): with them, every statement that compares an indexed
/// column with a bound value is prepared twice per execution, once more
/// when its values are bound, and the hot list page spent a fifth of its
/// time in the parser. `sqlite_stat1` is enough for our few index choices.
pub fn analyze(conn: &mut AnyConnection) -> Result<(), DbError> {
    use diesel::connection::SimpleConnection;
    if matches!(conn, AnyConnection::Sqlite(_)) {
        // A sample of each index is enough for stat1 (and a full scan of a
        // million rows took a second).
        conn.batch_execute(
            "PRAGMA analysis_limit = 2000; ANALYZE; \
             DELETE FROM sqlite_stat4; ANALYZE sqlite_schema",
        )?;
    } else {
        conn.batch_execute("ANALYZE")?;
    }
    Ok(())
}

/// The pk the next new object gets.
pub fn next_pk(conn: &mut AnyConnection) -> Result<i64, DbError> {
    let max: Option<i64> = object::table
        .select(diesel::dsl::max(object::pk))
        .first(conn)?;
    Ok(max.unwrap_or(0) + 1)
}

/// Insert many objects at once (used by bulk writers; no re-stamping).
pub fn insert_objects(conn: &mut AnyConnection, rows: &[NewObject]) -> Result<(), DbError> {
    bulk_insert!(conn, object::table, rows, 500);
    Ok(())
}

/// Insert many links at once (used by bulk writers; no re-stamping).
pub fn insert_links(conn: &mut AnyConnection, rows: &[LinkRow]) -> Result<(), DbError> {
    let rows: Vec<NewLink> = rows
        .iter()
        .map(|l| NewLink {
            from_pk: l.from_pk,
            field: l.field,
            position: l.position,
            to_pk: l.to_pk,
        })
        .collect();
    bulk_insert!(conn, link::table, &rows, 1000);
    Ok(())
}

/// Store the bytes of many Files at once.
pub fn insert_file_contents(
    conn: &mut AnyConnection,
    files: &[(i64, Vec<u8>)],
) -> Result<(), DbError> {
    let rows: Vec<NewContent> = files
        .iter()
        .map(|(pk, bytes)| NewContent {
            file_pk: *pk,
            bytes,
        })
        .collect();
    bulk_insert!(conn, file_content::table, &rows, 200);
    Ok(())
}

/// Store the bytes of a File.
pub fn insert_file_bytes(
    conn: &mut AnyConnection,
    file_pk: i64,
    bytes: &[u8],
) -> Result<(), DbError> {
    diesel::insert_into(file_content::table)
        .values(NewContent { file_pk, bytes })
        .execute(conn)?;
    Ok(())
}

/// The values an object stores: without nulls, empty strings and empty
/// arrays (digest §8.2), and without the attributes the server derives from
/// the store itself (ids, times, relations, lists, back-references), which a
/// source may have sent. The renderer copies what is left as it is.
pub fn normalize_fields(kind: Kind, fields: &Map<String, Value>) -> Map<String, Value> {
    fields
        .iter()
        .filter(|(key, value)| is_present(value) && !is_derived(kind, key))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => true,
    }
}

/// Attributes the renderer writes itself.
fn is_derived(kind: Kind, key: &str) -> bool {
    matches!(
        key,
        "id" | "type" | "created" | "modified" | "deleted" | "body"
    ) || (kind == Kind::AgendaItem && key == "order")
        || (kind == Kind::System && key == "oparlVersion")
        || RELS.iter().any(|r| r.owner == kind && r.name == key)
        || (kind == Kind::Person && key == "location")
        || (kind == Kind::Body
            && (key == "system" || model::BODY_LISTS.iter().any(|(n, _)| *n == key)))
        || (kind == Kind::Organization && matches!(key, "meeting" | "consultation"))
        || RELS
            .iter()
            .any(|r| r.target == kind && r.back.is_some_and(|(name, _)| name == key))
}

/// Make sure the System object exists; returns its pk.
pub fn ensure_system(
    conn: &mut AnyConnection,
    fields: &Map<String, Value>,
    now: i64,
) -> Result<i64, DbError> {
    if let Some(row) = super::read::system(conn)? {
        return Ok(row.pk);
    }
    create(conn, Kind::System, None, fields, now)
}

/// Create one object; returns its pk. A Body belongs to itself.
pub fn create(
    conn: &mut AnyConnection,
    kind: Kind,
    body_pk: Option<i64>,
    fields: &Map<String, Value>,
    now: i64,
) -> Result<i64, DbError> {
    let pk = next_pk(conn)?;
    let body_pk = if kind == Kind::Body {
        Some(pk)
    } else {
        body_pk
    };
    insert_objects(
        conn,
        &[NewObject {
            pk,
            kind: kind.code(),
            body_pk,
            created: now,
            modified: now,
            deleted: false,
            fields: Value::Object(normalize_fields(kind, fields)).to_string(),
        }],
    )?;
    Ok(pk)
}

/// Append `to` to the relation `field` of `from` (an embedded child or a
/// reference) and re-stamp everything whose JSON changed.
pub fn add_link(
    conn: &mut AnyConnection,
    from: i64,
    field: i16,
    to: i64,
    now: i64,
) -> Result<(), DbError> {
    let rel = model::rel_by_code(field).expect("known relation code");
    let next: Option<i32> = link::table
        .filter(link::from_pk.eq(from))
        .filter(link::field.eq(field))
        .select(diesel::dsl::max(link::position))
        .first(conn)?;
    let position = match rel.shape {
        Shape::Ref | Shape::Embed => {
            // A single-valued relation: replace what was there.
            diesel::delete(
                link::table
                    .filter(link::from_pk.eq(from))
                    .filter(link::field.eq(field)),
            )
            .execute(conn)?;
            0
        }
        Shape::Refs | Shape::Embeds => next.map_or(0, |p| p + 1),
    };
    diesel::insert_into(link::table)
        .values(NewLink {
            from_pk: from,
            field,
            position,
            to_pk: to,
        })
        .execute(conn)?;
    let mut changed = vec![from];
    if rel.back.is_some() || field == MEMBERSHIP_ORGANIZATION {
        // The target now shows a back-reference (or Organization.membership
        // grew): its JSON changed too.
        changed.push(to);
    }
    for pk in changed {
        touch_with_ancestors(conn, pk, now)?;
    }
    Ok(())
}

/// Replace the plain values of an object and re-stamp it and its parents.
pub fn update_fields(
    conn: &mut AnyConnection,
    pk: i64,
    fields: &Map<String, Value>,
    now: i64,
) -> Result<(), DbError> {
    diesel::update(object::table.find(pk))
        .set(object::fields.eq(Value::Object(fields.clone()).to_string()))
        .execute(conn)?;
    touch_with_ancestors(conn, pk, now)
}

/// Overwrite an object's row with what an import found (the caller decides
/// the times); a deleted object comes back to life.
pub fn overwrite(
    conn: &mut AnyConnection,
    pk: i64,
    body_pk: Option<i64>,
    created: i64,
    modified: i64,
    fields: &str,
) -> Result<(), DbError> {
    diesel::update(object::table.find(pk))
        .set((
            object::body_pk.eq(body_pk),
            object::created.eq(created),
            object::modified.eq(modified),
            object::deleted.eq(false),
            object::fields.eq(fields),
        ))
        .execute(conn)?;
    Ok(())
}

/// Remove every link out of an object (an import then inserts the new ones).
pub fn remove_links_from(conn: &mut AnyConnection, pk: i64) -> Result<(), DbError> {
    diesel::delete(link::table.filter(link::from_pk.eq(pk))).execute(conn)?;
    Ok(())
}

/// Forget the stored bytes of a File.
pub fn remove_file_bytes(conn: &mut AnyConnection, pk: i64) -> Result<(), DbError> {
    diesel::delete(file_content::table.find(pk)).execute(conn)?;
    Ok(())
}

/// Delete an object: it stays as a tombstone with `modified` = `now`.
/// Returns false when it was deleted already.
pub fn delete(conn: &mut AnyConnection, pk: i64, now: i64) -> Result<bool, DbError> {
    let Some(row) = super::read::object(conn, pk)? else {
        return Err(DbError::Query(diesel::result::Error::NotFound));
    };
    if row.deleted {
        return Ok(false);
    }
    // Everything whose JSON shows this object changes with its deletion.
    touch_with_ancestors(conn, pk, now)?;
    touch_dependents(conn, &row, now)?;
    diesel::update(object::table.find(pk))
        .set((
            object::deleted.eq(true),
            object::modified.eq(now.max(row.modified)),
        ))
        .execute(conn)?;
    remove_from_parents(conn, pk, now)?;
    // Children that exist only inside this object go with it.
    let owned: Vec<i64> = embedded_children(conn, pk)?
        .into_iter()
        .filter(|(_, kind)| model::owned_by_parent(*kind))
        .map(|(child, _)| child)
        .collect();
    for child in owned {
        delete(conn, child, now)?;
    }
    Ok(true)
}

/// Set `modified` to `now` (never backwards) on the object and on every live
/// object that embeds it, transitively.
pub fn touch_with_ancestors(conn: &mut AnyConnection, pk: i64, now: i64) -> Result<(), DbError> {
    let mut todo = vec![pk];
    let mut seen = Vec::new();
    while let Some(pk) = todo.pop() {
        if seen.contains(&pk) {
            continue;
        }
        seen.push(pk);
        todo.extend(embedding_parents(conn, pk)?);
    }
    diesel::update(
        object::table
            .filter(object::pk.eq_any(&seen))
            .filter(object::deleted.eq(false))
            .filter(object::modified.lt(now)),
    )
    .set(object::modified.eq(now))
    .execute(conn)?;
    Ok(())
}

/// Re-stamp the objects whose derived JSON names this one: the Organizations
/// of a Membership, and the Files and Locations it embeds (their
/// back-reference arrays list it).
fn touch_dependents(conn: &mut AnyConnection, row: &ObjectRow, now: i64) -> Result<(), DbError> {
    let mut targets: Vec<i64> = Vec::new();
    if row.kind() == Kind::Membership {
        targets.extend(
            link::table
                .filter(link::from_pk.eq(row.pk))
                .filter(link::field.eq(MEMBERSHIP_ORGANIZATION))
                .select(link::to_pk)
                .load::<i64>(conn)?,
        );
    }
    targets.extend(
        embedded_children(conn, row.pk)?
            .into_iter()
            .filter(|(_, kind)| matches!(kind, Kind::File | Kind::Location))
            .map(|(child, _)| child),
    );
    for pk in targets {
        touch_with_ancestors(conn, pk, now)?;
    }
    Ok(())
}

fn embedding_codes() -> Vec<i16> {
    RELS.iter()
        .filter(|r| r.shape.is_embedding())
        .map(|r| r.code)
        .collect()
}

/// The live objects that embed this one.
fn embedding_parents(conn: &mut AnyConnection, pk: i64) -> Result<Vec<i64>, DbError> {
    Ok(link::table
        .inner_join(object::table.on(object::pk.eq(link::from_pk)))
        .filter(link::to_pk.eq(pk))
        .filter(link::field.eq_any(embedding_codes()))
        .filter(object::deleted.eq(false))
        .select(link::from_pk)
        .load(conn)?)
}

/// The objects embedded in this one, with their kinds.
fn embedded_children(conn: &mut AnyConnection, pk: i64) -> Result<Vec<(i64, Kind)>, DbError> {
    let rows: Vec<(i16, i64)> = link::table
        .filter(link::from_pk.eq(pk))
        .filter(link::field.eq_any(embedding_codes()))
        .select((link::field, link::to_pk))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(field, to)| (to, RELS[field as usize].target))
        .collect())
}

/// Take a deleted object out of every array or field that embedded it and
/// close the gap, so positions stay 0..n-1. Agenda items whose position (their
/// `order`) moved are re-stamped.
fn remove_from_parents(conn: &mut AnyConnection, pk: i64, now: i64) -> Result<(), DbError> {
    let slots: Vec<(i64, i16)> = link::table
        .filter(link::to_pk.eq(pk))
        .filter(link::field.eq_any(embedding_codes()))
        .select((link::from_pk, link::field))
        .load(conn)?;
    for (from, field) in slots {
        diesel::delete(
            link::table
                .filter(link::from_pk.eq(from))
                .filter(link::field.eq(field))
                .filter(link::to_pk.eq(pk)),
        )
        .execute(conn)?;
        let rest: Vec<LinkRow> = link::table
            .filter(link::from_pk.eq(from))
            .filter(link::field.eq(field))
            .order(link::position.asc())
            .select(LinkRow::as_select())
            .load(conn)?;
        for (index, l) in rest.iter().enumerate() {
            let index = index as i32;
            if l.position == index {
                continue;
            }
            diesel::update(link::table.find((from, field, l.position)))
                .set(link::position.eq(index))
                .execute(conn)?;
            if field == MEETING_AGENDA_ITEM {
                touch_with_ancestors(conn, l.to_pk, now)?;
            }
        }
    }
    Ok(())
}
