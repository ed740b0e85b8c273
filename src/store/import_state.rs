//! What `oparl import` keeps between runs: one row per source (when its last
//! complete run started, for the next incremental one) and the object each
//! source id became, with a fingerprint of how the source showed it.

use crate::db::schema::{import_id, import_source, object};
use crate::db::{AnyConnection, DbError};
use diesel::prelude::*;
use std::collections::HashMap;

/// Keep `IN (...)` lists well below the parameter limits of both backends.
const CHUNK: usize = 900;

/// A source as remembered.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = import_source)]
pub struct SourceRow {
    pub id: i32,
    pub source: String,
    pub last_started: Option<i64>,
    pub last_finished: Option<i64>,
    pub runs: i32,
    /// The change feed the source is followed through, and the revision
    /// the last run reached in it (see `set_feed`).
    pub feed_url: Option<String>,
    pub feed_revision: Option<i64>,
}

/// A mapping of one source id.
#[derive(Debug, Clone, Insertable, Queryable, Selectable)]
#[diesel(table_name = import_id, treat_none_as_default_value = false)]
pub struct IdRow {
    pub source_id: String,
    pub source: i32,
    pub pk: i64,
    pub hash: i64,
}

/// The row of a source, if it was imported before.
pub fn source(conn: &mut AnyConnection, key: &str) -> Result<Option<SourceRow>, DbError> {
    Ok(import_source::table
        .filter(import_source::source.eq(key))
        .select(SourceRow::as_select())
        .first(conn)
        .optional()?)
}

/// The row of a source, created on its first import.
pub fn source_or_new(conn: &mut AnyConnection, key: &str) -> Result<SourceRow, DbError> {
    if let Some(row) = source(conn, key)? {
        return Ok(row);
    }
    diesel::insert_into(import_source::table)
        .values(import_source::source.eq(key))
        .execute(conn)?;
    source(conn, key)?.ok_or(DbError::Query(diesel::result::Error::NotFound))
}

/// Record a finished run; `started` is stored only when the run saw
/// everything, so the next incremental run never starts after a gap.
pub fn finish_run(
    conn: &mut AnyConnection,
    id: i32,
    started: Option<i64>,
    finished: i64,
) -> Result<(), DbError> {
    let row = import_source::table.find(id);
    diesel::update(row)
        .set((
            import_source::last_finished.eq(finished),
            import_source::runs.eq(import_source::runs + 1),
        ))
        .execute(conn)?;
    if let Some(started) = started {
        diesel::update(row)
            .set(import_source::last_started.eq(started))
            .execute(conn)?;
    }
    Ok(())
}

/// Remember where a run left the source's change feed: the next run asks
/// for the changes after `revision`. Written in the run's transaction, so it
/// holds exactly when the run's objects do.
pub fn set_feed(
    conn: &mut AnyConnection,
    id: i32,
    url: &str,
    revision: i64,
) -> Result<(), DbError> {
    diesel::update(import_source::table.find(id))
        .set((
            import_source::feed_url.eq(url),
            import_source::feed_revision.eq(revision),
        ))
        .execute(conn)?;
    Ok(())
}

/// The (pk, hash) of each of these source ids that is known.
pub fn lookup(
    conn: &mut AnyConnection,
    sids: &[&str],
) -> Result<HashMap<String, (i64, i64)>, DbError> {
    let mut out = HashMap::new();
    for chunk in sids.chunks(CHUNK) {
        let rows: Vec<(String, i64, i64)> = import_id::table
            .filter(import_id::source_id.eq_any(chunk))
            .select((import_id::source_id, import_id::pk, import_id::hash))
            .load(conn)?;
        out.extend(rows.into_iter().map(|(s, pk, h)| (s, (pk, h))));
    }
    Ok(out)
}

/// Whether the store knows any source id at all (a first import skips the
/// look-ups).
pub fn any_ids(conn: &mut AnyConnection) -> Result<bool, DbError> {
    Ok(import_id::table
        .select(import_id::pk)
        .first::<i64>(conn)
        .optional()?
        .is_some())
}

pub fn insert_ids(conn: &mut AnyConnection, rows: &[IdRow]) -> Result<(), DbError> {
    bulk_insert!(conn, import_id::table, rows, 500);
    Ok(())
}

pub fn set_hash(conn: &mut AnyConnection, sid: &str, hash: i64) -> Result<(), DbError> {
    diesel::update(import_id::table.find(sid))
        .set(import_id::hash.eq(hash))
        .execute(conn)?;
    Ok(())
}

/// Every live object of a source: (source id, pk, kind code).
pub fn live_of_source(
    conn: &mut AnyConnection,
    source: i32,
) -> Result<Vec<(String, i64, i16)>, DbError> {
    Ok(import_id::table
        .inner_join(object::table.on(object::pk.eq(import_id::pk)))
        .filter(import_id::source.eq(source))
        .filter(object::deleted.eq(false))
        .select((import_id::source_id, import_id::pk, object::kind))
        .load(conn)?)
}
