//! Full-text search over Papers, Meetings, AgendaItems, Files, Persons and
//! Organizations (issue 12), on the database's own engine: FTS5 on SQLite,
//! a `tsvector` under a GIN index on PostgreSQL.
//!
//! German words are folded and stemmed here, in Rust, on the way into the
//! index and on the query (`text`), so both backends hold and look for the
//! same terms; only matching and ranking are the engines' own (`find`).
//! The index follows every change in its transaction (`index`, called by
//! `store::write::change`). `query` is the language a citizen types,
//! `document` what is searched of each kind, `snippet` the highlighted
//! excerpt of a hit, `sql` the raw statements' plumbing.

pub mod document;
pub mod find;
pub mod index;
pub mod query;
pub mod snippet;
pub mod sql;
pub mod text;
