//! Keeping the index current. `store::write::change` calls [`refresh`] as
//! the last step of every change, inside its transaction: every object the
//! change stamped with its revision (what it wrote, and every object whose
//! JSON shows what it wrote, such as the Paper of a File or the Meeting of
//! an AgendaItem) is indexed anew, and a deleted one leaves the index. So
//! an object is found, and a deleted one is no longer found, from the
//! moment the change commits, whichever server instance made it.

use super::document::{self, Document};
use super::sql::{self, marks, Bind};
use super::text;
use crate::db::schema::object;
use crate::db::{AnyConnection, DbError};
use crate::model::Kind;
use crate::store::read::{self, ObjectRow};
use diesel::prelude::*;

/// Objects indexed per round of statements.
const CHUNK: usize = 500;
/// Terms kept of one part of a document (a long file's text is cut): the
/// same on both backends, and well inside PostgreSQL's limits of a
/// `tsvector` (1 MB, positions up to 16,383).
pub const MAX_TERMS: usize = 16_000;

/// Index anew every object stamped with this revision.
pub fn refresh(conn: &mut AnyConnection, revision: i64) -> Result<(), DbError> {
    // The kinds are sorted out here, not in the query: with a `kind IN`
    // beside it, SQLite's statistics (a million objects share the revision
    // of an import) made it walk `object_list` by kind instead of seeking
    // the revision, 60 ms on every change of a full-size store.
    let pks: Vec<i64> = object::table
        .filter(object::revision.eq(revision))
        .select((object::pk, object::kind))
        .load::<(i64, i16)>(conn)?
        .into_iter()
        .filter(|(_, kind)| Kind::from_code(*kind).is_some_and(document::is_searched))
        .map(|(pk, _)| pk)
        .collect();
    let started = std::time::Instant::now();
    for chunk in pks.chunks(CHUNK) {
        let rows = read::objects(conn, chunk)?;
        index(conn, &rows)?;
    }
    if pks.len() >= CHUNK {
        tracing::debug!(
            objects = pks.len(),
            secs = started.elapsed().as_secs_f64(),
            "search index refreshed"
        );
    }
    Ok(())
}

/// Index every object of the store (after the migration that made the
/// index, see `migrations/*/..._000008_search`).
pub fn rebuild(conn: &mut AnyConnection) -> Result<(), DbError> {
    let mut after = 0;
    loop {
        let (rows, next) = read::objects_after(conn, after, CHUNK as i64)?;
        index(conn, &rows)?;
        match next {
            Some(n) => after = n,
            None => return Ok(()),
        }
    }
}

/// Replace the index entries of these objects by their documents now.
fn index(conn: &mut AnyConnection, rows: &[ObjectRow]) -> Result<(), DbError> {
    let pks: Vec<String> = rows
        .iter()
        .filter(|r| Kind::from_code(r.kind).is_some_and(document::is_searched))
        .map(|r| r.pk.to_string())
        .collect();
    if pks.is_empty() {
        return Ok(());
    }
    // Numbers only: written into the statement, which keeps it short.
    let list = pks.join(",");
    if matches!(conn, AnyConnection::Sqlite(_)) {
        // Only rows that exist: a contentless FTS5 table records every
        // deletion, and most objects of an import are new.
        sql::execute(
            conn,
            &format!(
                "DELETE FROM search_text WHERE rowid IN \
                 (SELECT pk FROM search_doc WHERE pk IN ({list}))"
            ),
            vec![],
        )?;
    }
    sql::execute(
        conn,
        &format!("DELETE FROM search_doc WHERE pk IN ({list})"),
        vec![],
    )?;
    let docs = document::documents(conn, rows)?;
    insert(conn, &docs)
}

fn insert(conn: &mut AnyConnection, docs: &[Document]) -> Result<(), DbError> {
    if docs.is_empty() {
        return Ok(());
    }
    let terms = terms_of(docs);
    let docs = docs.iter().zip(terms);
    match conn {
        AnyConnection::Postgres(c) => {
            // One statement with five arrays, not five values a row: the
            // parse and bind of 2,500 parameters took longer than the
            // insert itself (issue 15's batch of 10,000 objects).
            use diesel::sql_types::{Array, BigInt, Nullable, Text};
            let mut pks = Vec::new();
            let mut dates = Vec::new();
            let mut refs = Vec::new();
            let mut heads = Vec::new();
            let mut bodies = Vec::new();
            for (d, (head, body)) in docs {
                pks.push(d.pk);
                dates.push(d.date);
                refs.push(d.reference.clone());
                heads.push(head);
                bodies.push(body);
            }
            diesel::sql_query(
                "INSERT INTO search_doc (pk, date, ref, vec) \
                 SELECT pk, date, ref, setweight(to_tsvector('simple', head), 'A') \
                 || setweight(to_tsvector('simple', body), 'C') \
                 FROM unnest($1, $2, $3, $4, $5) AS d (pk, date, ref, head, body)",
            )
            .bind::<Array<BigInt>, _>(pks)
            .bind::<Array<Nullable<BigInt>>, _>(dates)
            .bind::<Array<Nullable<Text>>, _>(refs)
            .bind::<Array<Text>, _>(heads)
            .bind::<Array<Text>, _>(bodies)
            .execute(c)?;
        }
        AnyConnection::Sqlite(_) => {
            let mut heads = Vec::new();
            let mut texts = Vec::new();
            let mut n = 0;
            for (d, (head, body)) in docs {
                n += 1;
                heads.extend([
                    Bind::Int(d.pk),
                    Bind::OptInt(d.date),
                    Bind::OptText(d.reference.clone()),
                ]);
                texts.extend([Bind::Int(d.pk), Bind::Text(head), Bind::Text(body)]);
            }
            let values = vec![format!("({})", marks(3)); n].join(", ");
            sql::execute(
                conn,
                &format!("INSERT INTO search_doc (pk, date, ref) VALUES {values}"),
                heads,
            )?;
            sql::execute(
                conn,
                &format!("INSERT INTO search_text (rowid, head, body) VALUES {values}"),
                texts,
            )?;
        }
    }
    Ok(())
}

/// After the migration that made the index: index what the store held
/// then, once (its mark, a row of `search_pending`, goes in the same
/// change).
pub fn catch_up(conn: &mut AnyConnection) -> Result<(), DbError> {
    #[derive(QueryableByName)]
    struct Pending {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let pending: Vec<Pending> = sql::load(
        conn,
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM search_pending",
        vec![],
    )?;
    if pending.first().is_none_or(|p| p.n == 0) {
        return Ok(());
    }
    let stored: i64 = object::table.count().get_result(conn)?;
    if stored == 0 {
        // A new store: nothing to index, and no revision to spend on it.
        sql::execute(conn, "DELETE FROM search_pending", vec![])?;
        return Ok(());
    }
    tracing::info!(
        objects = stored,
        "indexing the stored objects for the search"
    );
    crate::store::write::change(conn, |c| c.rebuild_search_index())?;
    Ok(())
}

/// The indexed terms of each document's head and body. Stemming is most of
/// the work of indexing, and a writer uses one core: a large batch is
/// split over two threads.
fn terms_of(docs: &[Document]) -> Vec<(String, String)> {
    let work = |docs: &[Document]| -> Vec<(String, String)> {
        docs.iter()
            .map(|d| {
                (
                    text::indexed(&d.head, MAX_TERMS),
                    text::indexed(&d.body, MAX_TERMS),
                )
            })
            .collect()
    };
    if docs.len() < 64 {
        return work(docs);
    }
    let (first, second) = docs.split_at(docs.len() / 2);
    std::thread::scope(|s| {
        let other = s.spawn(|| work(second));
        let mut out = work(first);
        out.extend(other.join().expect("stemming does not panic"));
        out
    })
}
