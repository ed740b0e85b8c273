//! Raw SQL with a varying number of bound values, on either backend. The
//! statements of the search differ between the engines only where the
//! engines do (FTS5's MATCH and bm25 against `@@` and ts_rank), so they are
//! written once with `?` placeholders, numbered `$n` for PostgreSQL.

use crate::db::{AnyConnection, DbError};
use diesel::pg::Pg;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{BigInt, Double, Nullable, Text};
use diesel::sqlite::Sqlite;
use diesel::{QueryableByName, RunQueryDsl};

/// A value bound to a `?`.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Int(i64),
    OptInt(Option<i64>),
    Float(f64),
    Text(String),
    OptText(Option<String>),
}

macro_rules! bound {
    ($db:ty, $sql:expr, $binds:expr) => {{
        let mut q: BoxedSqlQuery<'static, $db, SqlQuery> = diesel::sql_query($sql).into_boxed();
        for b in $binds {
            q = match b {
                Bind::Int(v) => q.bind::<BigInt, _>(v),
                Bind::OptInt(v) => q.bind::<Nullable<BigInt>, _>(v),
                Bind::Float(v) => q.bind::<Double, _>(v),
                Bind::Text(v) => q.bind::<Text, _>(v),
                Bind::OptText(v) => q.bind::<Nullable<Text>, _>(v),
            };
        }
        q
    }};
}

/// `?` placeholders as PostgreSQL numbers them. The statements here hold
/// no `?` of their own (no JSON operators, no literals with one).
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// Run a statement; returns the number of rows it changed.
pub fn execute(conn: &mut AnyConnection, sql: &str, binds: Vec<Bind>) -> Result<usize, DbError> {
    Ok(match conn {
        AnyConnection::Postgres(c) => bound!(Pg, numbered(sql), binds).execute(c)?,
        AnyConnection::Sqlite(c) => bound!(Sqlite, sql.to_string(), binds).execute(c)?,
    })
}

/// Run a query.
pub fn load<T>(conn: &mut AnyConnection, sql: &str, binds: Vec<Bind>) -> Result<Vec<T>, DbError>
where
    T: QueryableByName<Pg> + QueryableByName<Sqlite> + 'static,
{
    Ok(match conn {
        AnyConnection::Postgres(c) => bound!(Pg, numbered(sql), binds).load(c)?,
        AnyConnection::Sqlite(c) => bound!(Sqlite, sql.to_string(), binds).load(c)?,
    })
}

/// `?, ?, ?` for n values.
pub fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}
