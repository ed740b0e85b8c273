//! An OParl 1.1 server for council information.
//!
//! Module map, from the outside in:
//! - `cli`: the `oparl` command line and its settings;
//! - `server`: the accept loop, request logging, graceful shutdown;
//! - `api`: routing, query parameters, list pages, errors, File bytes, and
//!   the authenticated write API (`api::write`);
//! - `render`: stored rows to OParl JSON (standalone, embedded, tombstone);
//! - `html`: the same objects, lists and search as pages for browsers;
//! - `ical`, `atom`: meetings as calendars, papers, meetings and searches
//!   as feeds;
//! - `search`: the full-text index, its upkeep, the query language;
//! - `store`: the queries of the read path and every write with its rules,
//!   the write API's tokens and audit log;
//! - `db`: the connection over SQLite or PostgreSQL, pool and migrations;
//! - `model`: the twelve kinds and all their relations, as data;
//! - `urls`: the only place URLs are minted;
//! - `import`: `oparl import`, from live endpoints and dumps, with repairs;
//! - `export`: the whole store as JSON Lines;
//! - `dumps`: the bulk dumps, built in the background from one snapshot;
//! - `dcat`: the DCAT-AP.de catalogue of the System and its Bodies;
//! - `demo`: the generated demo city;
//! - `time`: date-time formats;
//! - `text`: small text helpers (hex digits, ASCII file names, panic messages);
//! - `text_extract`: the text of a File's bytes (plain text, PDF) for `File.text`.

pub mod api;
pub mod atom;
pub mod cli;
pub mod db;
pub mod dcat;
pub mod demo;
pub mod dumps;
pub mod export;
pub mod html;
pub mod ical;
pub mod import;
pub mod metrics;
pub mod model;
pub mod render;
pub mod search;
pub mod server;
pub mod store;
pub mod text;
pub mod text_extract;
pub mod time;
pub mod urls;
