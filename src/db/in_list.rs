//! `column IN (list)` with the whole list as one bound text, so that the
//! statement text is the same for every list and both backends keep it
//! prepared.
//!
//! diesel's `eq_any` writes one placeholder per value on SQLite and marks
//! the statement as not to be cached, so every batch of a rendering (the
//! objects of a page, their links, their children) was parsed and planned
//! anew: a tenth of the server's time in a replay of the change feed. Here
//! the values travel as one text, `1,2,3`, that each backend turns back into
//! a set of integers in SQL:
//!
//! - SQLite: `IN (SELECT value FROM json_each('[' || ? || ']'))` (the JSON
//!   functions are built into SQLite);
//! - PostgreSQL: `= ANY(CAST(string_to_array(?, ',') AS BIGINT[]))`.
//!
//! The text holds only digits, minus signs and commas, written here from
//! integers, so nothing a client sends reaches the SQL.

use super::multi_connection_impl::MultiBackend;
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Bool, Text};
use diesel::QueryResult;

/// `column IN (values)`; see the module text. An empty list matches no row
/// (`json_each('[]')` and `string_to_array('', ',')` are empty), with the
/// same statement text: a statement is cached by its type, so its text must
/// not depend on the values.
#[derive(Debug, Clone)]
pub struct InList<C> {
    column: C,
    values: String,
}

/// `column IN (values)` over integers (pks, kind and field codes).
pub fn in_list<C, T>(column: C, values: &[T]) -> InList<C>
where
    T: Copy + Into<i64>,
{
    let mut text = String::with_capacity(values.len() * 8);
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&(*v).into().to_string());
    }
    InList {
        column,
        values: text,
    }
}

impl<C: Expression> Expression for InList<C> {
    type SqlType = Bool;
}

impl<C, QS> AppearsOnTable<QS> for InList<C> where C: AppearsOnTable<QS> {}

impl<C, QS> SelectableExpression<QS> for InList<C> where C: SelectableExpression<QS> {}

impl<C: ValidGrouping<()>> ValidGrouping<()> for InList<C> {
    type IsAggregate = C::IsAggregate;
}

impl<C: QueryId + 'static> QueryId for InList<C> {
    type QueryId = InList<C::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = C::HAS_STATIC_QUERY_ID;
}

impl<C: QueryFragment<MultiBackend>> QueryFragment<MultiBackend> for InList<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        let postgres = matches!(out.backend(), MultiBackend::Postgres(_));
        out.push_sql("(");
        self.column.walk_ast(out.reborrow())?;
        if postgres {
            out.push_sql(" = ANY(CAST(string_to_array(");
            out.push_bind_param::<Text, _>(&self.values)?;
            out.push_sql(", ',') AS BIGINT[])))");
        } else {
            out.push_sql(" IN (SELECT value FROM json_each('[' || ");
            out.push_bind_param::<Text, _>(&self.values)?;
            out.push_sql(" || ']')))");
        }
        Ok(())
    }
}
