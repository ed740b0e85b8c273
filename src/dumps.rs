//! Bulk dumps: every object of the store, and of each Body, as one
//! gzip-compressed JSON Lines file, consistent as of one revision.
//!
//! A dump is built from one read snapshot (no write lock is taken, writers
//! go on meanwhile), written to a temporary file while its SHA-256 is
//! computed, and then renamed over the previous one, so a download never
//! sees half a file. The first line says what the dump is and its revision;
//! every other line is one object in its standalone form (as at its id,
//! tombstones included) with its revision in `server:revision`, in pk order.
//! A client loads the dump and continues with the change feed after the
//! dump's revision: dump and feed together give an exact mirror.

mod threaded;

use crate::db::{AnyConnection, Db, DbError};
use crate::model::Kind;
use crate::render::{self, Options};
use crate::store::read;
use crate::urls::Urls;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A finished dump file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpFile {
    /// The store's revision the dump shows.
    pub revision: i64,
    pub path: PathBuf,
    /// Bytes of the compressed file.
    pub size: u64,
    /// SHA-256 of the compressed file, lower-case hex.
    pub sha256: String,
    /// Objects in it (lines after the first).
    pub objects: u64,
    /// When it was built (Unix seconds).
    pub built: i64,
}

/// The dumps of one server: where they are written and the latest of each.
pub struct Dumps {
    dir: PathBuf,
    /// By Body pk; None is the whole store.
    latest: Mutex<HashMap<Option<i64>, DumpFile>>,
    /// One build at a time.
    building: Mutex<()>,
}

/// Why a dump could not be built.
#[derive(Debug)]
pub enum DumpError {
    Db(DbError),
    Io(PathBuf, std::io::Error),
}

impl std::fmt::Display for DumpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DumpError::Db(e) => write!(f, "{e}"),
            DumpError::Io(path, e) => write!(f, "{}: {e}", path.display()),
        }
    }
}

impl From<DbError> for DumpError {
    fn from(e: DbError) -> Self {
        DumpError::Db(e)
    }
}

impl From<diesel::result::Error> for DumpError {
    fn from(e: diesel::result::Error) -> Self {
        DumpError::Db(DbError::Query(e))
    }
}

/// Counts and hashes what passes through to the file.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    written: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The first line of a dump: what it is of, the revision it shows, and the
/// change feed to continue with after that revision.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DumpHeader {
    /// Always [`DUMP_TYPE`].
    #[serde(rename = "type")]
    pub type_: String,
    pub system: String,
    /// The Body the dump is of; None for the whole store.
    pub body: Option<String>,
    /// `server:revision` (model::REVISION_PROPERTY).
    #[serde(rename = "server:revision")]
    pub revision: i64,
    /// `server:changes` (model::CHANGES_PROPERTY): the feed of the same
    /// objects, to ask `after` the revision.
    #[serde(rename = "server:changes")]
    pub changes: String,
    pub created: String,
}

/// The `type` of a dump's first line (a vendor type: OParl 1.1 §3 leaves
/// the prefix to the vendor).
pub const DUMP_TYPE: &str = "server:Dump";

/// One dump being written: the Body it is of, where its lines go, and the
/// name errors give.
pub struct Lines<W: Write> {
    pub body: Option<i64>,
    pub out: W,
    pub name: PathBuf,
    pub objects: u64,
}

impl<W: Write> Lines<W> {
    pub fn new(body: Option<i64>, out: W, name: &Path) -> Lines<W> {
        Lines {
            body,
            out,
            name: name.to_path_buf(),
            objects: 0,
        }
    }

    fn line(&mut self, text: &[u8]) -> Result<(), DumpError> {
        self.out
            .write_all(text)
            .and_then(|_| self.out.write_all(b"\n"))
            .map_err(|e| DumpError::Io(self.name.clone(), e))
    }
}

/// Write the dumps of the store as `conn` shows it (call it inside
/// [`snapshot`] for a consistent dump): a header line each, then every
/// object in pk order into the dump of the whole store and of its Body.
/// Returns the revision they show.
pub fn write_dumps<W: Write>(
    conn: &mut AnyConnection,
    urls: &Urls,
    built: i64,
    outs: &mut [Lines<W>],
) -> Result<i64, DumpError> {
    let revision = read::revision(conn)?;
    for w in outs.iter_mut() {
        let header = DumpHeader {
            type_: DUMP_TYPE.into(),
            system: urls.system(),
            body: w.body.map(|b| urls.object(Kind::Body, b)),
            revision,
            changes: urls.changes_of(w.body),
            created: crate::time::format_datetime(built),
        };
        let text = serde_json::to_vec(&header).expect("a header always serialises");
        w.line(&text)?;
    }
    let mut after = 0;
    loop {
        let (rows, next) = read::objects_after(conn, after, 1000)?;
        let Some(next) = next else { break };
        after = next;
        let heads: Vec<_> = rows.iter().map(|r| r.head()).collect();
        let rendered = render::standalone(
            conn,
            urls,
            rows,
            Options {
                omit_internal: false,
            },
        )?;
        for (json, head) in rendered.into_iter().zip(heads) {
            let line = render::feed_entry(urls, json.as_bytes(), &head);
            for w in outs.iter_mut() {
                if w.body.is_none() || w.body == head.body_pk {
                    w.line(&line)?;
                    w.objects += 1;
                }
            }
        }
    }
    for w in outs.iter_mut() {
        w.out
            .flush()
            .map_err(|e| DumpError::Io(w.name.clone(), e))?;
    }
    Ok(revision)
}

/// A dump file being written: gzip over a hash of the compressed bytes.
type FileOut = flate2::write::GzEncoder<Hashing<std::io::BufWriter<std::fs::File>>>;

/// Create the temporary file of a dump.
fn create_file(dir: &Path, body: Option<i64>) -> Result<Lines<FileOut>, DumpError> {
    let tmp = dir.join(format!(".{}.tmp", file_name(body)));
    let file = std::fs::File::create(&tmp).map_err(|e| DumpError::Io(tmp.clone(), e))?;
    let hashing = Hashing {
        inner: std::io::BufWriter::with_capacity(1 << 20, file),
        hash: Sha256::new(),
        written: 0,
    };
    let gz = flate2::write::GzEncoder::new(hashing, flate2::Compression::default());
    Ok(Lines::new(body, gz, &tmp))
}

/// Close a dump's temporary file and put it in place of the previous dump.
fn finish_file(
    lines: Lines<FileOut>,
    dir: &Path,
    revision: i64,
    built: i64,
) -> Result<DumpFile, DumpError> {
    let tmp = lines.name;
    let io = |e| DumpError::Io(tmp.clone(), e);
    let mut hashing = lines.out.finish().map_err(io)?;
    hashing.flush().map_err(io)?;
    let file = hashing
        .inner
        .into_inner()
        .map_err(|e| DumpError::Io(tmp.clone(), e.into_error()))?;
    file.sync_all().map_err(io)?;
    let path = dir.join(file_name(lines.body));
    std::fs::rename(&tmp, &path).map_err(io)?;
    Ok(DumpFile {
        revision,
        path,
        size: hashing.written,
        sha256: crate::text::hex(&hashing.hash.finalize()),
        objects: lines.objects,
        built,
    })
}

/// The file name of the dump of a Body, or of the whole store.
fn file_name(body: Option<i64>) -> String {
    match body {
        Some(pk) => format!("body-{pk}.jsonl.gz"),
        None => "all.jsonl.gz".into(),
    }
}

impl Dumps {
    /// Dumps written to `dir` (created if missing).
    pub fn new(dir: &Path) -> Result<Dumps, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Dumps {
            dir: dir.to_path_buf(),
            latest: Mutex::new(HashMap::new()),
            building: Mutex::new(()),
        })
    }

    /// The folder the dumps are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The latest dump of a Body (or, with None, of the whole store).
    pub fn get(&self, body: Option<i64>) -> Option<DumpFile> {
        self.latest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&body)
            .cloned()
    }

    /// The latest dumps, all of one build, by Body pk (None: the whole
    /// store).
    pub fn all(&self) -> HashMap<Option<i64>, DumpFile> {
        self.latest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The revision the latest dumps show, if any were built.
    pub fn revision(&self) -> Option<i64> {
        self.get(None).map(|d| d.revision)
    }

    /// Build the dump of the whole store and of every Body from one
    /// snapshot; returns the revision they show. Blocking: run it on a
    /// thread of its own.
    pub fn build(&self, db: &Db, urls: &Urls) -> Result<i64, DumpError> {
        let _one_at_a_time = self.building.lock().unwrap_or_else(|e| e.into_inner());
        let mut conn = db.conn()?;
        let built = crate::time::now();
        let (revision, files) = snapshot(&mut conn, |conn| self.write_all(conn, urls, built))?;
        let mut latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        latest.clear();
        for f in files {
            let body = file_body(&f.path);
            latest.insert(body, f);
        }
        Ok(revision)
    }

    fn write_all(
        &self,
        conn: &mut AnyConnection,
        urls: &Urls,
        built: i64,
    ) -> Result<(i64, Vec<DumpFile>), DumpError> {
        let bodies = read::body_pks(conn)?;
        // Each file compresses on a thread of its own (gzip is most of
        // the work) while this one reads and renders.
        let threaded = |w: Lines<FileOut>| Lines {
            out: threaded::Threaded::new(w.out),
            body: w.body,
            name: w.name,
            objects: w.objects,
        };
        let mut outs = vec![threaded(create_file(&self.dir, None)?)];
        for body in bodies {
            outs.push(threaded(create_file(&self.dir, Some(body))?));
        }
        let revision = write_dumps(conn, urls, built, &mut outs)?;
        let files = outs
            .into_iter()
            .map(|w| {
                let out = w
                    .out
                    .finish()
                    .map_err(|e| DumpError::Io(w.name.clone(), e))?;
                let w = Lines {
                    out,
                    body: w.body,
                    name: w.name,
                    objects: w.objects,
                };
                finish_file(w, &self.dir, revision, built)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((revision, files))
    }
}

/// The Body a dump file is of, from its name.
fn file_body(path: &Path) -> Option<i64> {
    let name = path.file_name()?.to_str()?;
    name.strip_prefix("body-")?
        .strip_suffix(".jsonl.gz")?
        .parse()
        .ok()
}

/// Run `f` in one read-only snapshot of the store: what it reads is the
/// store as of one moment, however long it takes, and it takes no write
/// lock (PostgreSQL: a REPEATABLE READ transaction; SQLite: a read
/// transaction in WAL mode).
pub fn snapshot<T>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, DumpError>,
) -> Result<T, DumpError> {
    conn.transaction(|conn| {
        if matches!(conn, AnyConnection::Postgres(_)) {
            conn.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
        }
        f(conn)
    })
}

/// Build the dumps now, and again whenever the store changed and the last
/// build is at least `interval` old. Runs until the process ends.
pub async fn keep_current(
    dumps: std::sync::Arc<Dumps>,
    db: Db,
    urls: Urls,
    interval: std::time::Duration,
) {
    let mut last_built: Option<std::time::Instant> = None;
    loop {
        let due = last_built.is_none_or(|t| t.elapsed() >= interval);
        // A failed look at the store counts as unchanged: it is asked again
        // at the next tick.
        let stale = due
            && db
                .run(read::revision)
                .await
                .is_ok_and(|now| dumps.revision() != Some(now));
        if stale {
            let started = std::time::Instant::now();
            let (d, db, urls) = (dumps.clone(), db.clone(), urls.clone());
            match tokio::task::spawn_blocking(move || d.build(&db, &urls)).await {
                Ok(Ok(revision)) => tracing::info!(
                    revision,
                    seconds = started.elapsed().as_secs_f64(),
                    "dumps built"
                ),
                Ok(Err(e)) => tracing::error!(error = %e, "building the dumps failed"),
                Err(e) => tracing::error!(error = %e, "building the dumps panicked"),
            }
            last_built = Some(started);
        }
        tokio::time::sleep(interval.min(std::time::Duration::from_secs(5))).await;
    }
}
