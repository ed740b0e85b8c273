//! Reading the index: the hits of a query under filters, in relevance or
//! date order, one page after a cursor, with the number of all hits.
//!
//! The cursor is the sort key of the last hit shown (score or date, then
//! pk), and the next page starts strictly after it: on an unchanged store
//! no hit is shown twice and none is passed over, however the pages are
//! cut (the key is a total order: ties are broken by pk).

use super::query::Query;
use super::sql::{self, marks, Bind};
use crate::db::{AnyConnection, DbError};
use crate::model::{
    Kind, CONSULTATION_ORGANIZATION, MEETING_ORGANIZATION, MEMBERSHIP_ORGANIZATION,
    PAPER_CONSULTATION, PERSON_MEMBERSHIP,
};
use diesel::sql_types::{BigInt, Double};
use diesel::QueryableByName;

/// Added to the score of a Paper whose reference is the query's, so that
/// it comes first (relevance scores of both engines stay far below).
const REFERENCE_BOOST: f64 = 1000.0;
/// How much more a match counts by the kind of object it is found on. An
/// AgendaItem, a File and a Consultation repeat their Paper's name, and
/// the engines' length normalisation favours them (short documents) over
/// the Paper, whose document also holds its files' text: a citizen looking
/// for "Radweg" wants the Paper first, then the Meeting. Factors well
/// below the gap between an exact and a partial match.
const KIND_WEIGHTS: [(Kind, f64); 2] = [(Kind::Paper, 1.3), (Kind::Meeting, 1.1)];

/// The sort key of an object without a date: after all dated ones.
pub const NO_DATE: i64 = -(1 << 53);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    Relevance,
    Date,
}

/// Where a page starts: after the hit with this sort key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cursor {
    Score(f64, i64),
    Date(i64, i64),
}

/// What the hits are narrowed to. Times in Unix seconds, inclusive.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub kinds: Vec<Kind>,
    pub body: Option<i64>,
    pub organization: Option<i64>,
    pub created_since: Option<i64>,
    pub created_until: Option<i64>,
    pub modified_since: Option<i64>,
    pub modified_until: Option<i64>,
    pub date_since: Option<i64>,
    pub date_until: Option<i64>,
}

/// One hit.
#[derive(Debug, Clone, Copy, PartialEq, QueryableByName)]
pub struct Hit {
    #[diesel(sql_type = BigInt)]
    pub pk: i64,
    #[diesel(sql_type = Double)]
    pub score: f64,
    #[diesel(sql_type = BigInt)]
    pub date: i64,
    #[diesel(sql_type = BigInt)]
    pub total: i64,
}

impl Hit {
    pub fn cursor(&self, sort: Sort) -> Cursor {
        match sort {
            Sort::Relevance => Cursor::Score(self.score, self.pk),
            Sort::Date => Cursor::Date(self.date, self.pk),
        }
    }
}

/// Up to `limit` hits after the cursor, and the number of all hits.
pub fn hits(
    conn: &mut AnyConnection,
    query: &Query,
    filter: &Filter,
    sort: Sort,
    after: Option<Cursor>,
    limit: i64,
) -> Result<(Vec<Hit>, i64), DbError> {
    let postgres = matches!(conn, AnyConnection::Postgres(_));
    let mut binds = Vec::new();
    let boost = if query.references.is_empty() {
        "0".to_string()
    } else {
        format!(
            "CASE WHEN d.ref IN ({}) THEN {REFERENCE_BOOST} ELSE 0 END",
            marks(query.references.len())
        )
    };
    // The engine's part: which documents match, and how well.
    let (from, matching, rank) = if postgres {
        binds.push(Bind::Text(query.tsquery()));
        (
            "search_doc d, to_tsquery('simple', ?) q",
            "d.vec @@ q",
            "CAST(ts_rank(d.vec, q) AS float8)",
        )
    } else {
        binds.push(Bind::Text(query.fts5()));
        (
            "search_text JOIN search_doc d ON d.pk = search_text.rowid",
            "search_text MATCH ?",
            // bm25 is better the lower; the object's own names weigh more.
            "(-bm25(search_text, 4.0, 1.0))",
        )
    };
    let weights: String = KIND_WEIGHTS
        .iter()
        .map(|(kind, w)| format!(" WHEN {} THEN {w:.2}", kind.code()))
        .collect();
    let rank = format!("{rank} * CASE o.kind{weights} ELSE 1.0 END");
    // Placeholders are numbered in text order: the boost's (in the
    // select list) come before the query's (in FROM or WHERE).
    let mut binds: Vec<Bind> = query
        .references
        .iter()
        .map(|r| Bind::Text(r.clone()))
        .chain(binds)
        .collect();
    let mut conditions = vec![
        matching.to_string(),
        "o.pk = d.pk".to_string(),
        "o.deleted = false".to_string(),
    ];
    let kinds = if filter.kinds.is_empty() {
        super::document::SEARCHED.to_vec()
    } else {
        filter.kinds.clone()
    };
    let codes: Vec<String> = kinds.iter().map(|k| k.code().to_string()).collect();
    conditions.push(format!("o.kind IN ({})", codes.join(",")));
    let mut bound = |cond: &str, value: Option<i64>, binds: &mut Vec<Bind>| {
        if let Some(v) = value {
            conditions.push(cond.to_string());
            binds.push(Bind::Int(v));
        }
    };
    bound("o.body_pk = ?", filter.body, &mut binds);
    bound("o.created >= ?", filter.created_since, &mut binds);
    bound("o.created <= ?", filter.created_until, &mut binds);
    bound("o.modified >= ?", filter.modified_since, &mut binds);
    bound("o.modified <= ?", filter.modified_until, &mut binds);
    bound("d.date >= ?", filter.date_since, &mut binds);
    bound("d.date <= ?", filter.date_until, &mut binds);
    if let Some(org) = filter.organization {
        // Meetings of it, Papers consulted in it, Persons who are members.
        conditions.push(format!(
            "d.pk IN (\
             SELECT l.from_pk FROM link l WHERE l.field = {MEETING_ORGANIZATION} AND l.to_pk = ? \
             UNION SELECT p.from_pk FROM link p JOIN link c ON c.from_pk = p.to_pk \
               WHERE p.field = {PAPER_CONSULTATION} AND c.field = {CONSULTATION_ORGANIZATION} AND c.to_pk = ? \
             UNION SELECT p.from_pk FROM link p JOIN link m ON m.from_pk = p.to_pk \
               WHERE p.field = {PERSON_MEMBERSHIP} AND m.field = {MEMBERSHIP_ORGANIZATION} AND m.to_pk = ?)"
        ));
        binds.extend([Bind::Int(org), Bind::Int(org), Bind::Int(org)]);
    }
    // The matches are materialised first: FTS5's bm25 can only run in the
    // statement that reads the FTS5 table, not in the window's pass.
    let inner = format!(
        "WITH m AS MATERIALIZED (SELECT d.pk AS pk, {rank} + {boost} AS score, \
         COALESCE(d.date, {NO_DATE}) AS date FROM {from}, object o WHERE {}) \
         SELECT pk, score, date, COUNT(*) OVER () AS total FROM m",
        conditions.join(" AND ")
    );
    let (cursor, order) = match (sort, after) {
        (Sort::Relevance, Some(Cursor::Score(s, pk))) => {
            binds.extend([Bind::Float(s), Bind::Float(s), Bind::Int(pk)]);
            (
                "WHERE h.score < ? OR (h.score = ? AND h.pk > ?)",
                "h.score DESC, h.pk ASC",
            )
        }
        (Sort::Date, Some(Cursor::Date(date, pk))) => {
            binds.extend([Bind::Int(date), Bind::Int(date), Bind::Int(pk)]);
            (
                "WHERE h.date < ? OR (h.date = ? AND h.pk < ?)",
                "h.date DESC, h.pk DESC",
            )
        }
        (Sort::Relevance, _) => ("", "h.score DESC, h.pk ASC"),
        (Sort::Date, _) => ("", "h.date DESC, h.pk DESC"),
    };
    binds.push(Bind::Int(limit));
    let statement = format!(
        "SELECT h.pk, h.score, h.date, h.total FROM ({inner}) h {cursor} ORDER BY {order} LIMIT ?"
    );
    let page: Vec<Hit> = sql::load(conn, &statement, binds.clone())?;
    let total = match page.first() {
        Some(h) => h.total,
        // Past the last hit: count without the cursor.
        None if after.is_some() => {
            let mut binds = binds;
            binds.truncate(binds.len() - 4);
            binds.push(Bind::Int(1));
            let statement =
                format!("SELECT h.pk, h.score, h.date, h.total FROM ({inner}) h LIMIT ?");
            sql::load::<Hit>(conn, &statement, binds)?
                .first()
                .map_or(0, |h| h.total)
        }
        None => 0,
    };
    Ok((page, total))
}

#[derive(QueryableByName)]
struct Pk {
    #[diesel(sql_type = BigInt)]
    pk: i64,
}

/// Live objects of a kind in the order of their own date (the index's
/// date: Paper.date, Meeting.start, File.date), of one Body or of all:
/// from `from` on in ascending order (the next meetings), or before it
/// in descending order (the newest papers). Read along the index of dates
/// (migration 000010), so it stops after `limit` of them.
pub fn dated(
    conn: &mut AnyConnection,
    kind: Kind,
    body: Option<i64>,
    from: i64,
    forward: bool,
    limit: i64,
) -> Result<Vec<i64>, DbError> {
    let (compare, order) = if forward {
        (">=", "ASC")
    } else {
        ("<", "DESC")
    };
    let mut binds = vec![Bind::Int(from), Bind::Int(i64::from(kind.code()))];
    let body_condition = match body {
        Some(b) => {
            binds.push(Bind::Int(b));
            " AND o.body_pk = ?"
        }
        None => "",
    };
    binds.push(Bind::Int(limit));
    let statement = format!(
        "SELECT d.pk AS pk FROM search_doc d JOIN object o ON o.pk = d.pk \
         WHERE d.date {compare} ? AND o.kind = ? AND o.deleted = false{body_condition} \
         ORDER BY d.date {order}, d.pk {order} LIMIT ?"
    );
    Ok(sql::load::<Pk>(conn, &statement, binds)?
        .into_iter()
        .map(|p| p.pk)
        .collect())
}
