//! Reading and writing OParl objects in the database.
//!
//! `read` holds the queries of the API (one object, a list page, the links
//! of a batch of objects); `write` holds every change, and with it the rules
//! the spec attaches to changes: `modified` moves forward on every change,
//! deletion leaves a tombstone, and every object that embedded a changed or
//! deleted object gets a new `modified` too. `tokens` and `audit` keep the
//! write API's tokens, audit log and answers to retried requests.

/// Insert many rows into one table at once: PostgreSQL takes them with
/// COPY (several times faster than INSERT), SQLite in multi-row INSERTs of
/// `$chunk` rows. Multi-row INSERTs and COPY are not available through the
/// generic connection, so this runs on the concrete one of either backend.
macro_rules! bulk_insert {
    ($conn:expr, $table:expr, $rows:expr, $chunk:expr) => {{
        let rows = $rows;
        match $conn {
            crate::db::AnyConnection::Postgres(c) => {
                if !rows.is_empty() {
                    diesel::copy_from($table).from_insertable(rows).execute(c)?;
                }
            }
            crate::db::AnyConnection::Sqlite(c) => {
                for chunk in rows.chunks($chunk) {
                    diesel::insert_into($table).values(chunk).execute(c)?;
                }
            }
        }
    }};
}

pub mod audit;
pub mod import_state;
pub mod read;
pub mod tokens;
pub mod write;

pub use read::{LinkRow, ListFilter, ObjectHead, ObjectRow};
