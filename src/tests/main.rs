//! The integration tests: the API driven in-process over a fresh store on
//! each backend (see `support`). One binary, one module per concern.

mod fixtures;
mod support;

mod api_errors;
mod availability;
mod batch_reads;
mod browser;
mod caching;
mod changes;
mod conformance;
mod dcat;
mod deletion;
mod dumps;
mod exactness;
mod feeds;
mod file_text;
mod files;
mod filters;
mod import;
mod json_format;
mod lists;
mod logging;
mod mirror;
mod mirror_feed;
mod notifications;
mod objects;
mod pages;
mod probes;
mod search;
mod server;
mod stored_data;
mod walk;
mod write_api;
