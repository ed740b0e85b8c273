//! The audit log of the write API and the answers it keeps for retried
//! requests (`Idempotency-Key`). Both are written inside the change they
//! describe, so an entry exists exactly when its write committed.

use crate::db::schema::{idempotency_key, write_audit};
use crate::db::{AnyConnection, DbError};
use crate::model::Kind;
use diesel::prelude::*;

/// One object written on purpose by one request.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = write_audit)]
pub struct Entry {
    pub id: i64,
    pub at: i64,
    pub token: String,
    pub revision: i64,
    pub operation: String,
    pub object_pk: i64,
    pub kind: i16,
}

#[derive(Insertable)]
#[diesel(table_name = write_audit, treat_none_as_default_value = false)]
struct NewEntry<'a> {
    at: i64,
    token: &'a str,
    revision: i64,
    operation: &'a str,
    object_pk: i64,
    kind: i16,
}

/// Record these (operation, pk, kind) of one change.
pub fn record(
    conn: &mut AnyConnection,
    token: &str,
    revision: i64,
    at: i64,
    entries: &[(&'static str, i64, Kind)],
) -> Result<(), DbError> {
    let rows: Vec<NewEntry> = entries
        .iter()
        .map(|(operation, pk, kind)| NewEntry {
            at,
            token,
            revision,
            operation,
            object_pk: *pk,
            kind: kind.code(),
        })
        .collect();
    bulk_insert!(conn, write_audit::table, &rows, 500);
    Ok(())
}

/// Entries from `since` on (inclusive), of one token name or all, oldest
/// first.
pub fn entries(
    conn: &mut AnyConnection,
    since: Option<i64>,
    token: Option<&str>,
) -> Result<Vec<Entry>, DbError> {
    let mut q = write_audit::table
        .order((write_audit::at, write_audit::id))
        .select(Entry::as_select())
        .into_boxed();
    if let Some(since) = since {
        q = q.filter(write_audit::at.ge(since));
    }
    if let Some(token) = token {
        q = q.filter(write_audit::token.eq(token.to_string()));
    }
    Ok(q.load(conn)?)
}

/// The answer kept for an `Idempotency-Key`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = idempotency_key)]
pub struct Kept {
    pub request_hash: String,
    pub status: i16,
    pub location: String,
    pub answer: String,
}

/// The answer kept for this token and key, if any.
pub fn kept(conn: &mut AnyConnection, token_id: i64, key: &str) -> Result<Option<Kept>, DbError> {
    Ok(idempotency_key::table
        .filter(idempotency_key::token_id.eq(token_id))
        .filter(idempotency_key::key.eq(key))
        .select(Kept::as_select())
        .first(conn)
        .optional()?)
}

/// Keep an answer for this token and key.
pub fn keep(
    conn: &mut AnyConnection,
    token_id: i64,
    key: &str,
    kept: &Kept,
    at: i64,
) -> Result<(), DbError> {
    diesel::insert_into(idempotency_key::table)
        .values((
            idempotency_key::token_id.eq(token_id),
            idempotency_key::key.eq(key),
            idempotency_key::request_hash.eq(&kept.request_hash),
            idempotency_key::status.eq(kept.status),
            idempotency_key::location.eq(&kept.location),
            idempotency_key::answer.eq(&kept.answer),
            idempotency_key::created.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}
