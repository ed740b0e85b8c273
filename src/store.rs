//! Reading and writing OParl objects in the database.
//!
//! `read` holds the queries of the API (one object, a list page, the links
//! of a batch of objects); `write` holds every change, and with it the rules
//! the spec attaches to changes: `modified` moves forward on every change,
//! deletion leaves a tombstone, and every object that embedded a changed or
//! deleted object gets a new `modified` too.

/// Run the same diesel expression on the concrete connection of either
/// backend: multi-row INSERTs are not available through the generic one.
macro_rules! on_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            crate::db::AnyConnection::Postgres($c) => $body,
            crate::db::AnyConnection::Sqlite($c) => $body,
        }
    };
}

pub mod import_state;
pub mod read;
pub mod write;

pub use read::{LinkRow, ListFilter, ObjectHead, ObjectRow};
