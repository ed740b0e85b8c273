//! Local sources: a JSON Lines file of OParl objects (one per line, any
//! type, children embedded or not; gzip-compressed or not), a single JSON
//! document (an object, an array of objects or a list page), or a folder of
//! crawled list pages such as the Hürtgenwald crawl the tests use
//! (`src/tests/data/huertgenwald`), where `body/1/paper.page-2.json` is page
//! 2 of the list `paper` of Body 1. A JSON Lines file may be a dump of a
//! server of this kind (`crate::dumps`): its header line says the revision
//! and the change feed to continue with.

use super::progress::Progress;
use super::report::{Place, Report};
use super::stage::{source_id, Context, Stage};
use crate::dumps::{DumpHeader, DUMP_TYPE};
use crate::model::{Kind, BODY_LISTS};
use serde_json::Value;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};

/// A local source, by what its path is.
pub enum Dump {
    Jsonl(PathBuf),
    Document(PathBuf),
    Folder(PathBuf),
}

impl Dump {
    /// A folder, a `.json` document, or else JSON Lines.
    pub fn of(path: &Path) -> Dump {
        if path.is_dir() {
            Dump::Folder(path.to_path_buf())
        } else if path.extension().is_some_and(|e| e == "json") {
            Dump::Document(path.to_path_buf())
        } else {
            Dump::Jsonl(path.to_path_buf())
        }
    }

    /// Stage everything the dump holds; the header of a dump of a server of
    /// this kind, if it is one.
    pub fn read(
        &self,
        max_bytes: u64,
        stage: &mut Stage,
        report: &mut Report,
        progress: &mut Progress,
    ) -> Result<Option<DumpHeader>, String> {
        match self {
            Dump::Jsonl(path) => {
                let name = path.display().to_string();
                let file = std::fs::File::open(path).map_err(|e| format!("{name}: {e}"))?;
                read_jsonl(Box::new(file), &name, max_bytes, stage, report, progress)
            }
            Dump::Document(path) => read_document(path, max_bytes, stage, report).map(|_| None),
            Dump::Folder(path) => {
                read_folder(path, max_bytes, stage, report, progress).map(|_| None)
            }
        }
    }
}

/// Read JSON Lines (gzip-compressed or not) named `name` in messages. A
/// line that is not JSON, or not an object, is skipped and reported with its
/// number; input without any usable line, or with a line over the size
/// limit, is an error. A first line that is a dump's header is returned
/// instead of staged.
///
/// One thread reads lines, two parse and stage batches of them, and this
/// one merges the batches in file order (so ids are given in the same order
/// on every run). Each batch is parsed and staged on one thread: values
/// freed on another thread than the one that made them cost glibc dearly.
pub fn read_jsonl(
    input: Box<dyn Read + Send>,
    name: &str,
    max_bytes: u64,
    stage: &mut Stage,
    report: &mut Report,
    progress: &mut Progress,
) -> Result<Option<DumpHeader>, String> {
    let name = name.to_string();
    let (input, header) = split_header(input, &name, max_bytes)?;
    let first_number = usize::from(header.is_some());
    let (line_tx, line_rx) = mpsc::sync_channel::<Job>(4);
    // Shared by the staging threads only: when both have ended, the reader's
    // next send fails and it stops too, whatever ended them.
    let line_rx = Arc::new(Mutex::new(line_rx));
    let usable = std::thread::scope(|scope| {
        let (out_tx, out_rx) = mpsc::sync_channel::<(usize, Staging)>(8);
        let reader_name = name.clone();
        let mut threads =
            vec![scope
                .spawn(move || read_lines(input, first_number, &reader_name, max_bytes, line_tx))];
        for _ in 0..2 {
            let out_tx = out_tx.clone();
            let line_rx = Arc::clone(&line_rx);
            let (name, empty) = (name.clone(), report.empty_like());
            threads.push(scope.spawn(move || loop {
                let job = line_rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                let (n, staged) = match job {
                    Ok(Job::Lines(n, lines)) => {
                        (n, Ok(stage_lines(&name, lines, empty.empty_like())))
                    }
                    Ok(Job::Failed(n, e)) => (n, Err(e)),
                    Err(_) => return,
                };
                if out_tx.send((n, staged)).is_err() {
                    return;
                }
            }));
        }
        drop((out_tx, line_rx));
        let merged = merge_batches(out_rx, &name, stage, report, progress);
        // Joined here, not by the scope (which would panic in turn): a thread
        // that panicked ended its part early, so what the others read is not
        // the whole file and nothing may be written.
        if let Some(why) = first_panic(threads) {
            return Err(format!(
                "{name}: internal error, the file was not read to its end: {why}"
            ));
        }
        merged
    })?;
    if usable == 0 && header.is_none() {
        return Err(format!("{name}: no OParl object in the file"));
    }
    Ok(header)
}

/// Undo gzip if the input is compressed, and take a dump's header line off
/// the front if there is one (a header that does not parse is an error: a
/// dump of this kind must not be read without knowing its revision).
fn split_header(
    input: Box<dyn Read + Send>,
    name: &str,
    max_bytes: u64,
) -> Result<(Box<dyn BufRead + Send>, Option<DumpHeader>), String> {
    let mut raw = std::io::BufReader::with_capacity(1 << 20, input);
    let gzip = raw
        .fill_buf()
        .map_err(|e| format!("{name}: {e}"))?
        .starts_with(&[0x1f, 0x8b]);
    let mut text: Box<dyn BufRead + Send> = if gzip {
        Box::new(std::io::BufReader::with_capacity(
            1 << 20,
            flate2::read::MultiGzDecoder::new(raw),
        ))
    } else {
        Box::new(raw)
    };
    let mut first = String::new();
    (&mut text)
        .take(max_bytes + 1)
        .read_line(&mut first)
        .map_err(|e| format!("{name}: line 1: {e}"))?;
    let is_header = serde_json::from_str::<Value>(&first)
        .ok()
        .is_some_and(|v| v.get("type").and_then(Value::as_str) == Some(DUMP_TYPE));
    if !is_header {
        let rest: Box<dyn BufRead + Send> = Box::new(std::io::Cursor::new(first).chain(text));
        return Ok((rest, None));
    }
    let header: DumpHeader = serde_json::from_str(&first)
        .map_err(|e| format!("{name}: line 1: not a dump header of this server: {e}"))?;
    Ok((Box::new(text), Some(header)))
}

/// Wait for every thread (each one: the scope would panic over any left
/// unjoined that panicked); the message of the first that panicked.
fn first_panic(threads: Vec<std::thread::ScopedJoinHandle<'_, ()>>) -> Option<String> {
    let panics: Vec<String> = threads
        .into_iter()
        .filter_map(|t| t.join().err())
        .map(|payload| crate::text::panic_message(payload.as_ref()))
        .collect();
    panics.into_iter().next()
}

/// Take the staged batches as they come (in any order) and merge them in
/// file order, so ids are given in the same order on every run; returns
/// how many lines held a usable object.
fn merge_batches(
    batches: mpsc::Receiver<(usize, Staging)>,
    name: &str,
    stage: &mut Stage,
    report: &mut Report,
    progress: &mut Progress,
) -> Result<usize, String> {
    let mut usable = 0;
    let mut waiting = std::collections::BTreeMap::new();
    let mut next = 0;
    for (n, staged) in batches {
        waiting.insert(n, staged);
        while let Some(staged) = waiting.remove(&next) {
            let (batch, batch_report, batch_usable) = staged?;
            report.absorb(batch_report);
            stage.absorb(batch, report);
            usable += batch_usable;
            next += 1;
            progress.tick(stage.len(), name);
        }
    }
    Ok(usable)
}

/// A batch of numbered lines for a staging thread, or why reading stopped.
enum Job {
    Lines(usize, Vec<(usize, String)>),
    Failed(usize, String),
}

/// What a staging thread made of a batch: its objects, its report, and how
/// many lines held a usable object.
type Staging = Result<(Stage, Report, usize), String>;

fn stage_lines(
    name: &str,
    lines: Vec<(usize, String)>,
    mut report: Report,
) -> (Stage, Report, usize) {
    let mut stage = Stage::default();
    let mut usable = 0;
    for (number, text) in lines {
        let place = Place::new(name, Some(number));
        match serde_json::from_str::<Value>(&text) {
            Ok(value) => {
                if stage
                    .add(value, Context::default(), &place, &mut report)
                    .is_some()
                {
                    usable += 1;
                }
            }
            Err(e) => report.skip(&place, format!("not JSON: {e}")),
        }
    }
    (stage, report, usable)
}

/// Read lines and hand them out in numbered batches; stops at the first
/// read error or oversized line, or when nobody takes batches any more.
fn read_lines(
    mut reader: Box<dyn BufRead + Send>,
    first_number: usize,
    name: &str,
    max_bytes: u64,
    tx: mpsc::SyncSender<Job>,
) {
    let mut number = first_number;
    let mut batch_no = 0;
    let mut batch = Vec::with_capacity(256);
    loop {
        let mut line = String::new();
        let read = match (&mut reader).take(max_bytes + 1).read_line(&mut line) {
            Ok(n) => n,
            Err(e) => {
                let _ = tx.send(Job::Failed(
                    batch_no,
                    format!("{name}: line {}: {e}", number + 1),
                ));
                return;
            }
        };
        if read == 0 {
            break;
        }
        number += 1;
        if read as u64 > max_bytes {
            let message = format!(
                "{name}: line {number} is larger than --max-document-mb ({} MB)",
                max_bytes >> 20
            );
            let _ = tx.send(Job::Failed(batch_no, message));
            return;
        }
        if line.trim().is_empty() {
            continue;
        }
        batch.push((number, line));
        if batch.len() == 256 {
            if tx
                .send(Job::Lines(batch_no, std::mem::take(&mut batch)))
                .is_err()
            {
                return;
            }
            batch_no += 1;
        }
    }
    let _ = tx.send(Job::Lines(batch_no, batch));
}

/// Read one JSON document: an object, an array of objects, or a list page.
pub fn read_document(
    path: &Path,
    max_bytes: u64,
    stage: &mut Stage,
    report: &mut Report,
) -> Result<(), String> {
    let name = path.display().to_string();
    let value = load(path, max_bytes)?;
    if add_document(value, &name, None, None, stage, report) == 0 {
        return Err(format!("{name}: no OParl object in the document"));
    }
    Ok(())
}

/// Read a folder of crawled pages. A file that is not JSON is skipped and
/// reported; a folder without any OParl object is an error.
pub fn read_folder(
    root: &Path,
    max_bytes: u64,
    stage: &mut Stage,
    report: &mut Report,
    progress: &mut Progress,
) -> Result<(), String> {
    let mut files = Vec::new();
    walk(root, &mut files).map_err(|e| format!("{}: {e}", root.display()))?;
    files.sort_by_key(|p| sort_key(root, p));
    let mut usable = 0;
    for path in files {
        let name = path.display().to_string();
        let (list, _) = page_key(root, &path);
        let value = match load(&path, max_bytes) {
            Ok(v) => v,
            Err(e) if e.contains("--max-document-mb") => return Err(e),
            Err(e) => {
                report.skip(&Place::new(&name, None), e);
                continue;
            }
        };
        // `body/1/paper` is a list of Body 1: find that Body's source id.
        let segments: Vec<&str> = list.split('/').collect();
        let body = match segments.as_slice() {
            [.., "body", n, _] => body_ending(stage, &format!("/body/{n}")),
            _ => None,
        };
        let kind = segments.last().and_then(|s| list_kind(s));
        usable += add_document(value, &name, kind, body.as_deref(), stage, report);
        progress.tick(stage.len(), &name);
    }
    if usable == 0 {
        return Err(format!("{}: no OParl object in the folder", root.display()));
    }
    Ok(())
}

/// Add what a document holds; returns how many objects were usable.
fn add_document(
    value: Value,
    name: &str,
    kind: Option<Kind>,
    body: Option<&str>,
    stage: &mut Stage,
    report: &mut Report,
) -> usize {
    let place = Place::new(name, None);
    let (items, list) = match value {
        Value::Object(mut map) if map.contains_key("data") && !map.contains_key("id") => {
            match map.remove("data") {
                Some(Value::Array(items)) => (items, true),
                _ => {
                    report.skip(
                        &place.child("data"),
                        "a list page whose data is not an array",
                    );
                    return 0;
                }
            }
        }
        Value::Object(map) if map.contains_key("id") => {
            // The System is read for its own sake, not counted as an object.
            let is_system = map
                .get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.ends_with("/System"));
            if is_system {
                return 1;
            }
            (vec![Value::Object(map)], false)
        }
        Value::Array(items) => (items, false),
        other => {
            report.skip(
                &place,
                format!(
                    "not OParl JSON (neither an object with id, an array nor a list page): {}",
                    super::stage::short(&other)
                ),
            );
            return 0;
        }
    };
    let mut usable = 0;
    for (i, item) in items.into_iter().enumerate() {
        let at = if list {
            place.child("data").child(format!("[{i}]"))
        } else {
            place.child(format!("[{i}]"))
        };
        let ctx = Context {
            kind,
            body,
            unfiltered_list: list,
            parent_times: None,
            parent: None,
        };
        if stage.add(item, ctx, &at, report).is_some() {
            usable += 1;
        }
    }
    usable
}

fn load(path: &Path, max_bytes: u64) -> Result<Value, String> {
    let name = path.display();
    let size = std::fs::metadata(path)
        .map_err(|e| format!("{name}: {e}"))?
        .len();
    if size > max_bytes {
        return Err(format!(
            "{name}: {size} bytes, larger than --max-document-mb ({} MB)",
            max_bytes >> 20
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{name}: {e}"))?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    serde_json::from_slice(bytes).map_err(|e| format!("{name}: not JSON: {e}"))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// The list a page file belongs to (its path below the root without
/// `.json` and the page suffix) and its page number.
fn page_key(root: &Path, path: &Path) -> (String, u32) {
    let relative = path
        .strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/");
    let stem = relative.trim_end_matches(".json");
    let (list, page) = match stem.split_once(".page-") {
        Some((list, n)) => (list.to_string(), n.parse().unwrap_or(u32::MAX)),
        None => (stem.to_string(), 1),
    };
    (list, page)
}

/// Sort key of a page file: the System, then the Bodies (every other list
/// hangs below one), then every list's pages in page order.
fn sort_key(root: &Path, path: &Path) -> (u8, String, u32) {
    let (list, page) = page_key(root, path);
    let rank = match list.as_str() {
        "system" => 0,
        "body" => 1,
        _ => 2,
    };
    (rank, list, page)
}

/// The kind listed under a Body list's field name (`paper`, `agendaItem`,
/// `locationList`, ...), or `body` for the list of Bodies.
fn list_kind(name: &str) -> Option<Kind> {
    if name == "body" {
        return Some(Kind::Body);
    }
    BODY_LISTS
        .iter()
        .find(|(field, _)| field.eq_ignore_ascii_case(name))
        .map(|(_, kind)| *kind)
}

fn body_ending(stage: &Stage, suffix: &str) -> Option<String> {
    stage
        .objects
        .iter()
        .find(|s| s.kind == Kind::Body && s.sid.ends_with(suffix))
        .map(|s| source_id(&s.sid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_that_panicked_are_reported_not_passed_on() {
        let why = std::thread::scope(|scope| {
            let threads = vec![
                scope.spawn(|| {}),
                scope.spawn(|| panic!("a staging bug")),
                scope.spawn(|| panic!("another")),
            ];
            first_panic(threads)
        });
        assert_eq!(why.as_deref(), Some("a staging bug"));
        let none = std::thread::scope(|scope| first_panic(vec![scope.spawn(|| {})]));
        assert_eq!(none, None);
    }
}
