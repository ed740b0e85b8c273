//! `oparl export`: the whole store as JSON Lines, a dump a harvester (or
//! `oparl import`) reads in one go instead of walking every list.
//!
//! Each object appears once at the top level: every object that no live
//! object embeds is written in its standalone form, with its children
//! embedded; tombstones are written too, so a dump carries deletions.

use crate::db::{AnyConnection, DbError};
use crate::model::RELS;
use crate::render::{self, Options};
use crate::store::read;
use crate::urls::Urls;
use std::collections::HashSet;
use std::io::Write;

/// Write the dump; returns the number of lines.
pub fn export_jsonl(
    conn: &mut AnyConnection,
    urls: &Urls,
    out: &mut dyn Write,
) -> Result<u64, ExportError> {
    let embedding: Vec<i16> = RELS
        .iter()
        .filter(|r| r.shape.is_embedding())
        .map(|r| r.code)
        .collect();
    let mut after = 0;
    let mut lines = 0;
    loop {
        let (rows, next) = read::objects_after(conn, after, 1000)?;
        let Some(next) = next else { break };
        after = next;
        let pks: Vec<i64> = rows.iter().map(|r| r.pk).collect();
        let embedded: HashSet<i64> = read::links_to(conn, &pks, &embedding)?
            .into_iter()
            .filter(|(_, parent_deleted)| !parent_deleted)
            .map(|(l, _)| l.to_pk)
            .collect();
        let top: Vec<_> = rows
            .into_iter()
            .filter(|r| r.deleted || !embedded.contains(&r.pk))
            .collect();
        let opts = Options {
            omit_internal: false,
        };
        for json in render::standalone(conn, urls, top, opts)? {
            out.write_all(json.as_bytes())?;
            out.write_all(b"\n")?;
            lines += 1;
        }
    }
    out.flush()?;
    Ok(lines)
}

/// What can go wrong while exporting.
#[derive(Debug)]
pub enum ExportError {
    Db(DbError),
    Io(std::io::Error),
}

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExportError::Db(e) => e.fmt(f),
            ExportError::Io(e) => write!(f, "cannot write: {e}"),
        }
    }
}

impl From<DbError> for ExportError {
    fn from(e: DbError) -> Self {
        ExportError::Db(e)
    }
}

impl From<std::io::Error> for ExportError {
    fn from(e: std::io::Error) -> Self {
        ExportError::Io(e)
    }
}
