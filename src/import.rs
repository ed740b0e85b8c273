//! `oparl import SOURCE`: bring OParl data from a live endpoint (1.0 or
//! 1.1) or a local dump into the store, repaired, with our ids, losslessly
//! and incrementally.
//!
//! A server of this kind (its System advertises `server:changes`) is
//! mirrored through its dump and change feed instead (see `feed`): exact,
//! and incremental from the revision the last run reached.
//!
//! A run has two halves. Reading (`harvest`, `dump`) stages every object in
//! memory (`stage`), repairing what it can (`repair`) and noting every
//! repair and skip (`report`); nothing is written. Applying (`apply`)
//! writes the stage in one transaction. So a run that fails or is killed
//! leaves the store as it was, readers never see half a run, and the next
//! run simply does the work again.

pub mod apply;
pub mod dump;
pub mod feed;
pub mod harvest;
pub mod place;
pub mod progress;
pub mod repair;
pub mod report;
pub mod required;
pub mod stage;

use crate::db::Db;
use crate::model::Kind;
use crate::store::{import_state, read};
use oparl_conformance::fetch::{FetchOptions, Fetcher};
use progress::Progress;
use report::{Place, Report};
use serde_json::Value;
use sha2::Digest;
use stage::Stage;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Everything a run is told.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// A System URL, a dump URL or file of a server of this kind, a JSON
    /// Lines file, a JSON file or a folder of pages.
    pub source: String,
    /// Read everything (a server of this kind: its dump, or its feed from
    /// the beginning), and mark what the source no longer has as deleted.
    pub full: bool,
    /// Download the bytes of every File into the store.
    pub with_files: bool,
    /// Seconds subtracted from the last run's start for `modified_since`.
    pub margin_secs: i64,
    /// The largest document (response, file, line) accepted.
    pub max_document_bytes: u64,
    pub fetch: FetchOptions,
    /// Write every repair and skip here as JSON.
    pub report_file: Option<PathBuf>,
    /// No progress display.
    pub quiet: bool,
}

impl ImportOptions {
    pub fn new(source: &str) -> ImportOptions {
        ImportOptions {
            source: source.to_string(),
            full: false,
            with_files: false,
            margin_secs: 600,
            max_document_bytes: 256 << 20,
            fetch: FetchOptions {
                retry_server_errors: true,
                ..FetchOptions::default()
            },
            report_file: None,
            quiet: false,
        }
    }
}

/// How a run ended, when it wrote its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything was read and applied.
    Complete,
    /// Applied, but some input was skipped (see the report).
    Partial,
}

/// The kinds of source.
enum Source {
    Live(String),
    Dump(dump::Dump),
}

impl Source {
    fn parse(text: &str) -> Result<(Source, String), String> {
        if text.starts_with("http://") || text.starts_with("https://") {
            url::Url::parse(text).map_err(|e| format!("{text}: not a URL: {e}"))?;
            return Ok((Source::Live(text.to_string()), text.to_string()));
        }
        let path = Path::new(text);
        let key = std::fs::canonicalize(path)
            .map_err(|e| {
                format!("{text}: {e} (SOURCE is an http(s) URL of a System, a file or a folder)")
            })?
            .display()
            .to_string();
        Ok((Source::Dump(dump::Dump::of(path)), key))
    }
}

/// Run one import. An error means nothing was written.
pub fn run(db: &Db, opts: &ImportOptions) -> Result<(Outcome, Report), String> {
    let (source, key) = Source::parse(&opts.source)?;
    let started = crate::time::now();
    let clock = std::time::Instant::now();
    let mut conn = db.conn().map_err(|e| e.to_string())?;
    if db.backend() == crate::db::Backend::Sqlite {
        // SQLite's default page cache is 2 MB; a bulk load into indexes of a
        // million rows spends most of its time re-reading pages without a
        // larger one. It lasts as long as this connection.
        use diesel::connection::SimpleConnection;
        conn.batch_execute("PRAGMA cache_size = -262144")
            .map_err(|e| e.to_string())?;
    }
    let remembered = import_state::source(&mut conn, &key).map_err(|e| e.to_string())?;
    // Where the last run left the source's change feed, unless this run
    // reads everything again.
    let resume = match (&remembered, opts.full) {
        (Some(r), false) => r.feed_url.clone().zip(r.feed_revision),
        _ => None,
    };
    let since = match (&source, opts.full, remembered.and_then(|r| r.last_started)) {
        (Source::Live(_), false, Some(last)) => Some(last - opts.margin_secs),
        _ => None,
    };
    let mut stage = Stage::default();
    let mut report = Report::new(opts.report_file.is_some());
    let mut progress = Progress::new(opts.quiet);
    let fetch = FetchOptions {
        max_body_bytes: opts.max_document_bytes,
        ..opts.fetch.clone()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let fetcher = Arc::new(Fetcher::new(&fetch)?);
    // The feed and the revision this run reached in it, to remember.
    let feed_reached: Option<(String, i64)>;
    let all_kinds: HashSet<Kind> = Kind::ALL.into_iter().collect();
    let complete_kinds: HashSet<Kind> = if let Some((feed, after)) = resume {
        // A server of this kind seen before: only what changed since.
        stage.ordered = true;
        tracing::info!(feed, after, "following the change feed");
        let reached = runtime.block_on(feed::follow(
            &fetcher,
            &feed,
            Some(after),
            &mut stage,
            &mut report,
            &mut progress,
        ))?;
        feed_reached = Some((feed, reached));
        HashSet::new()
    } else {
        match &source {
            Source::Live(url) if feed::is_dump_url(url) => {
                stage.ordered = true;
                let reached = runtime.block_on(async {
                    let header = feed::read_dump(
                        &fetch,
                        url,
                        opts.max_document_bytes,
                        &mut stage,
                        &mut report,
                        &mut progress,
                    )
                    .await?;
                    let after = Some(header.revision);
                    let reached = feed::follow(
                        &fetcher,
                        &header.changes,
                        after,
                        &mut stage,
                        &mut report,
                        &mut progress,
                    )
                    .await?;
                    Ok::<_, String>((header.changes, reached))
                })?;
                feed_reached = Some(reached);
                all_kinds
            }
            Source::Live(url) => {
                if let Some(t) = since {
                    tracing::info!(
                        modified_since = crate::time::format_datetime(t),
                        "incremental run"
                    );
                }
                let (kinds, reached) = runtime.block_on(async {
                    let system = harvest::fetch_json(&fetcher, url).await?;
                    if let Some(ours) = feed::advertised(&system) {
                        // A server of this kind: its dump (if it builds
                        // them) and its feed after the dump's revision.
                        stage.ordered = true;
                        let mut after = None;
                        if let Some(dump) = &ours.dump {
                            let header = feed::read_dump(
                                &fetch,
                                dump,
                                opts.max_document_bytes,
                                &mut stage,
                                &mut report,
                                &mut progress,
                            )
                            .await?;
                            after = Some(header.revision);
                        }
                        let reached = feed::follow(
                            &fetcher,
                            &ours.changes,
                            after,
                            &mut stage,
                            &mut report,
                            &mut progress,
                        )
                        .await?;
                        return Ok((all_kinds, Some((ours.changes, reached))));
                    }
                    let walked = harvest::harvest(
                        Arc::clone(&fetcher),
                        url,
                        system,
                        since,
                        &mut stage,
                        &mut report,
                        &mut progress,
                    )
                    .await?;
                    let scheme = if url.starts_with("https://") {
                        "https"
                    } else {
                        "http"
                    };
                    let mut known = |sids: &[String]| -> Result<HashSet<String>, String> {
                        let sids: Vec<&str> = sids.iter().map(String::as_str).collect();
                        import_state::lookup(&mut conn, &sids)
                            .map(|m| m.into_keys().collect())
                            .map_err(|e| e.to_string())
                    };
                    harvest::fetch_unlisted(&fetcher, scheme, &mut stage, &mut report, &mut known)
                        .await?;
                    Ok::<_, String>((walked.complete_kinds, None))
                })?;
                feed_reached = reached;
                kinds
            }
            Source::Dump(dump) => {
                let header = dump.read(
                    opts.max_document_bytes,
                    &mut stage,
                    &mut report,
                    &mut progress,
                )?;
                // A dump of a server of this kind: one consistent snapshot
                // (so its sightings are ordered), and the next run follows
                // its feed from the dump's revision.
                stage.ordered = header.is_some();
                feed_reached = header.map(|h| (h.changes, h.revision));
                // A dump is read whole: every kind it lacks has vanished.
                all_kinds
            }
        }
    };
    stage.finish(&mut report);
    tracing::debug!(
        objects = stage.len(),
        secs = format!("{:.1}", clock.elapsed().as_secs_f64()),
        "read"
    );
    let read_everything = report.skips() == 0;
    let files = if opts.with_files {
        progress.phase("downloading file bytes");
        let wanted = files_to_download(&mut conn, &stage).map_err(|e| e.to_string())?;
        runtime.block_on(download_files(&fetcher, &stage, wanted, &mut report))?
    } else {
        HashMap::new()
    };
    if !files.is_empty() {
        progress.phase(&format!("reading the text of {} files", files.len()));
        add_file_texts(&mut stage, &files, &mut report);
    }
    progress.phase(&format!("applying {} objects", stage.len()));
    let apply_opts = apply::ApplyOptions {
        source_key: &key,
        full: opts.full,
        complete_kinds: &complete_kinds,
        now: crate::time::now(),
        record_start: read_everything.then_some(started),
        // A feed read with a skipped entry is read again from where the
        // last complete run left it.
        feed: feed_reached
            .as_ref()
            .filter(|_| read_everything)
            .map(|(url, r)| (url.as_str(), *r)),
    };
    apply::apply(&mut conn, &stage, &files, &apply_opts, &mut report)
        .map_err(|e| format!("{key}: nothing was written: {e}"))?;
    if report.created > 1000 {
        crate::store::write::analyze(&mut conn).map_err(|e| e.to_string())?;
        tracing::debug!("analyzed");
    }
    progress.clear();
    if let Some(path) = &opts.report_file {
        let text = serde_json::to_string_pretty(&report.json()).expect("a report is JSON");
        std::fs::write(path, text).map_err(|e| format!("--report {}: {e}", path.display()))?;
    }
    let outcome = if report.skips() == 0 {
        Outcome::Complete
    } else {
        Outcome::Partial
    };
    Ok((outcome, report))
}

/// The Files of the stage whose bytes are not in the store yet, or whose
/// values changed: (source id, URL of the bytes).
fn files_to_download(
    conn: &mut crate::db::AnyConnection,
    stage: &Stage,
) -> Result<Vec<(String, String)>, crate::db::DbError> {
    let files: Vec<&stage::Staged> = stage
        .objects
        .iter()
        .filter(|s| s.kind == Kind::File && !s.deleted)
        .collect();
    let sids: Vec<&str> = files.iter().map(|s| s.sid.as_str()).collect();
    let known = import_state::lookup(conn, &sids)?;
    let pks: Vec<i64> = known.values().map(|(pk, _)| *pk).collect();
    let stored: HashSet<i64> = read::files_with_bytes(conn, &pks)?.into_iter().collect();
    Ok(files
        .into_iter()
        .filter(|s| match known.get(&s.sid) {
            Some((pk, hash)) => *hash != s.hash || !stored.contains(pk),
            None => true,
        })
        .filter_map(|s| {
            let fields: serde_json::Map<String, Value> =
                serde_json::from_str(s.fields.as_str()).ok()?;
            let url = fields
                .get("downloadUrl")
                .or_else(|| fields.get("accessUrl"))?
                .as_str()?
                .to_string();
            Some((s.sid.clone(), url))
        })
        .collect())
}

/// Download file bytes, checking them against the File's `size` and
/// checksums; a File whose bytes fail keeps pointing at the source. A
/// download task that panicked is an error: the import stops, instead of
/// going on without the files it had not seen yet.
async fn download_files(
    fetcher: &Arc<Fetcher>,
    stage: &Stage,
    wanted: Vec<(String, String)>,
    report: &mut Report,
) -> Result<HashMap<String, Vec<u8>>, String> {
    let mut tasks = tokio::task::JoinSet::new();
    for (sid, url) in wanted {
        let fetcher = Arc::clone(fetcher);
        tasks.spawn(async move {
            let got = fetcher.get(&url, &[]).await;
            (sid, url, got)
        });
    }
    let mut out = HashMap::new();
    while let Some(done) = tasks.join_next().await {
        let (sid, url, got) =
            done.map_err(|e| format!("internal error while downloading files: {e}"))?;
        let place = stage
            .get(&sid)
            .map(|s| s.place.clone())
            .unwrap_or_else(|| Place::new(&url, None));
        let bytes = match got {
            Ok(f) if f.status == 200 => f.body,
            Ok(f) => {
                report.skip(
                    &place,
                    format!("{url}: HTTP {}; the File keeps the source URL", f.status),
                );
                continue;
            }
            Err(e) => {
                report.skip(&place, format!("{e}; the File keeps the source URL"));
                continue;
            }
        };
        let fields: serde_json::Map<String, Value> = stage
            .get(&sid)
            .and_then(|s| serde_json::from_str(s.fields.as_str()).ok())
            .unwrap_or_default();
        if let Some(problem) = check_bytes(&fields, &bytes) {
            report.skip(
                &place,
                format!("{url}: {problem}; the File keeps the source URL"),
            );
            continue;
        }
        out.insert(sid, bytes);
    }
    Ok(out)
}

/// Fill the `text` of downloaded Files whose source gave none from their
/// bytes (`text_extract`; a source's own text is kept). This runs before
/// the apply transaction, so no write lock is held while PDFs are read; a
/// few threads share the work. A PDF that gives no text is counted in the
/// report, not skipped: its bytes are stored all the same.
fn add_file_texts(stage: &mut Stage, files: &HashMap<String, Vec<u8>>, report: &mut Report) {
    use crate::text_extract::{extract, is_pdf, Extracted};
    type Map = serde_json::Map<String, Value>;
    let jobs: Vec<(usize, String, &[u8])> = files
        .iter()
        .filter_map(|(sid, bytes)| {
            let i = stage.position(sid)?;
            let fields: Map = serde_json::from_str(stage.objects[i].fields.as_str()).ok()?;
            let given = fields.get("text").and_then(Value::as_str);
            if given.is_some_and(|t| !t.trim().is_empty()) {
                return None;
            }
            let mime = fields.get("mimeType").and_then(Value::as_str).unwrap_or("");
            Some((i, mime.to_string(), bytes.as_slice()))
        })
        .collect();
    if jobs.is_empty() {
        return;
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4);
    let results: Vec<(usize, bool, Extracted)> = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .chunks(jobs.len().div_ceil(threads))
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(i, mime, bytes)| (*i, is_pdf(mime, bytes), extract(mime, bytes)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("text extraction catches its panics"))
            .collect()
    });
    for (i, pdf, got) in results {
        let s = &mut stage.objects[i];
        match got {
            Extracted::Text(text) => {
                let mut fields: Map = serde_json::from_str(s.fields.as_str()).unwrap_or_default();
                fields.insert("text".into(), text.into());
                s.fields = crate::store::write::Fields::new(s.kind, &fields);
                report.file_texts += 1;
            }
            Extracted::NoTextLayer if pdf => report.pdf_gave_no_text(&s.place, None),
            Extracted::Unreadable(why) if pdf => report.pdf_gave_no_text(&s.place, Some(&why)),
            _ => {}
        }
    }
}

/// Why downloaded bytes do not match what the File says of them.
fn check_bytes(fields: &serde_json::Map<String, Value>, bytes: &[u8]) -> Option<String> {
    if let Some(size) = fields.get("size").and_then(Value::as_u64) {
        if size != bytes.len() as u64 {
            return Some(format!("{} bytes where size says {size}", bytes.len()));
        }
    }
    let hex = crate::text::hex;
    if let Some(want) = fields.get("sha512Checksum").and_then(Value::as_str) {
        let got = hex(&sha2::Sha512::digest(bytes));
        if !got.eq_ignore_ascii_case(want) {
            return Some("sha512Checksum does not match".into());
        }
    }
    if let Some(want) = fields.get("sha1Checksum").and_then(Value::as_str) {
        let got = hex(&sha1::Sha1::digest(bytes));
        if !got.eq_ignore_ascii_case(want) {
            return Some("sha1Checksum does not match".into());
        }
    }
    None
}
