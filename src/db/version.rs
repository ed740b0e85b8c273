//! The version of the database: a token that changes with every commit, by
//! any connection of any process, so that an answer kept in memory may be
//! served again as long as the version it was read at is still current.
//!
//! - SQLite (always in WAL mode here): the wal-index header, the first 48
//!   bytes of the `-shm` file that every connection to the database shares
//!   (format documented at <https://sqlite.org/walformat.html>, section
//!   2.2). A commit changes it (a change counter, the number of frames, the
//!   salts and the checksum of the last frame), a reader starts from it, and
//!   it is kept twice, the second copy written first, so a read in the
//!   middle of a commit shows two different copies and is not trusted.
//!   Reading it is one `pread`: no statement, no lock. Where it cannot be
//!   read, `PRAGMA data_version` on a connection of our own that never
//!   writes answers instead (SQLite changes that number whenever another
//!   connection, of this process or another, has committed since).
//! - PostgreSQL: the current snapshot (`pg_current_snapshot()`: xmin, xmax
//!   and the transactions in progress). A commit anywhere in the cluster
//!   removes a transaction from the in-progress list or moves xmax, so two
//!   equal snapshots mean nothing was committed in between. Reading it is a
//!   round trip, so concurrent requests share one: a request waits for the
//!   next check that *starts after it arrived* (one already in flight may
//!   have begun before a commit the client has seen), and every request
//!   waiting for it takes its answer.
//!
//! Either way the version must be read before the data it is stored with:
//! the data are then at least as new as the version, never older.

use super::{AnyConnection, DbError};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use std::sync::Mutex;

/// A version of the database; equal versions mean equal contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Version {
    /// The wal-index header of a SQLite database.
    Wal([u8; 48]),
    /// What the database said (`data_version`, `pg_current_snapshot`).
    Said(std::sync::Arc<str>),
    /// The number of change notifications heard on a listening connection
    /// (PostgreSQL's notification mode, see `pg_watch`).
    Heard(u64),
}

/// The `-shm` file of a SQLite database in WAL mode, opened for reading.
///
/// It stays the same file only while a connection of this process has the
/// database open in WAL mode (SQLite deletes it when the last connection
/// closes), so whoever holds a `WalIndex` must hold such a connection too.
pub struct WalIndex(std::fs::File);

/// The wal-index format of every SQLite since 3.7.0.
const WAL_INDEX_FORMAT: u32 = 3_007_000;

impl WalIndex {
    /// The index of the SQLite database at this path, if it has one.
    pub fn open(database: &str) -> Option<WalIndex> {
        std::fs::File::open(format!("{database}-shm"))
            .ok()
            .map(WalIndex)
    }

    /// The header as it is now; None while a commit is writing it or when
    /// the file does not hold an initialised index.
    pub fn read(&self) -> Option<Version> {
        use std::os::unix::fs::FileExt;
        let mut both = [0u8; 96];
        self.0.read_exact_at(&mut both, 0).ok()?;
        let (first, second) = both.split_at(48);
        let format = u32::from_ne_bytes(first[0..4].try_into().unwrap());
        let initialised = first[12] == 1;
        (first == second && format == WAL_INDEX_FORMAT && initialised)
            .then(|| Version::Wal(first.try_into().unwrap()))
    }
}

/// Reads the version of a SQLite database: from the wal-index, or where
/// that cannot be read from `data_version` on a connection of its own.
#[derive(Default)]
pub struct Local {
    /// The connection that never writes, opened on first use; it also keeps
    /// the `-shm` file that `wal` reads in place.
    checker: Mutex<Option<AnyConnection>>,
    /// The wal-index, opened once `checker` has read the database.
    wal: std::sync::RwLock<Option<WalIndex>>,
}

impl Local {
    /// The version now. A statement on a local file takes microseconds, so
    /// the fallback runs on the calling thread.
    pub fn current(
        &self,
        open: impl FnOnce() -> Result<AnyConnection, DbError>,
        database: &str,
    ) -> Result<Version, DbError> {
        let index = self.wal.read().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = index.as_ref().and_then(WalIndex::read) {
            return Ok(v);
        }
        drop(index);
        let mut checker = self.checker.lock().unwrap_or_else(|e| e.into_inner());
        let conn = match checker.as_mut() {
            Some(conn) => conn,
            None => checker.insert(open()?),
        };
        let read = read(conn);
        let mut index = self.wal.write().unwrap_or_else(|e| e.into_inner());
        match read {
            Ok(_) if index.is_none() => *index = WalIndex::open(database),
            Ok(_) => {}
            Err(_) => {
                // Both opened afresh next time; the index first, since the
                // connection is what keeps its file in place.
                *index = None;
                *checker = None;
            }
        }
        read
    }
}

#[derive(QueryableByName)]
struct DataVersion {
    #[diesel(sql_type = BigInt)]
    data_version: i64,
}

#[derive(QueryableByName)]
struct Snapshot {
    #[diesel(sql_type = Text)]
    snapshot: String,
}

/// Read the version on this connection. On SQLite the number only means
/// something on a connection that never writes (see the module text).
pub fn read(conn: &mut AnyConnection) -> Result<Version, DbError> {
    let token = match conn {
        AnyConnection::Sqlite(c) => diesel::sql_query("PRAGMA data_version")
            .get_result::<DataVersion>(c)?
            .data_version
            .to_string(),
        AnyConnection::Postgres(c) => {
            let text = diesel::sql_query("SELECT pg_current_snapshot()::text AS snapshot")
                .get_result::<Snapshot>(c)?
                .snapshot;
            return Ok(snapshot(&text));
        }
    };
    Ok(Version::Said(token.into()))
}

/// The version a PostgreSQL snapshot (`xmin:xmax:xip,...`) stands for: the
/// transactions it sees as committed, written as `xmax:xip,...` after
/// taking from the top every transaction still in progress there. Every
/// id below `xmax` and not in `xip` is finished, so a snapshot taken while a
/// writer holds the newest id (xmax 101, in progress 100) sees what one
/// taken before it began saw (xmax 100, none in progress): one version, not
/// two. A write then changes the version once, at its commit, instead of
/// also when it takes its id, and the answers kept for the version before
/// it stay good while it runs. Text that does not parse stays as it is.
pub fn snapshot(text: &str) -> Version {
    let canonical = || -> Option<String> {
        let mut parts = text.split(':');
        let _xmin = parts.next()?;
        let mut xmax: u64 = parts.next()?.parse().ok()?;
        let mut xip: Vec<u64> = match parts.next()? {
            "" => Vec::new(),
            list => list
                .split(',')
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?,
        };
        if parts.next().is_some() {
            return None;
        }
        xip.sort_unstable();
        while xip.last().is_some_and(|&top| top + 1 == xmax) {
            xip.pop();
            xmax -= 1;
        }
        let xip: Vec<String> = xip.iter().map(u64::to_string).collect();
        Some(format!("{xmax}:{}", xip.join(",")))
    };
    Version::Said(canonical().unwrap_or_else(|| text.to_string()).into())
}

/// Shares checks among the requests that wait at the same time.
///
/// One check runs at a time. Letting a request that finds only a check begun
/// before it arrived start its own at once was measured and lost on two
/// cores: with four in flight, 13,900 against 15,500 answers/s at 8 clients
/// and 34,000 against 51,000 at 256; the extra checks cost more CPU than the
/// waiting.
#[derive(Default)]
pub struct Shared {
    state: Mutex<Checks>,
    finished: tokio::sync::Notify,
}

#[derive(Default)]
struct Checks {
    /// Checks started so far; the number of the latest.
    started: u64,
    /// The number of the latest successful check, and what it read.
    finished: u64,
    latest: Option<Version>,
    /// The number of the latest check that found the database unavailable,
    /// and why. Every request that waited for it takes the failure as its
    /// answer: asking again one after another would keep each waiting for a
    /// database that is away.
    failed: u64,
    failure: Option<String>,
    running: bool,
}

/// Marks the running check as ended however its future ends: with a result,
/// a panic, or dropped because the client went away. Otherwise `running`
/// would stay set and every later request would wait for ever.
struct Running<'a>(&'a Shared);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .running = false;
        self.0.finished.notify_waiters();
    }
}

impl Shared {
    /// The version as read by a check that started after this call began.
    /// `check` reads it.
    pub async fn current<F, Fut>(&self, check: F) -> Result<Version, DbError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Version, DbError>>,
    {
        let needed = self.lock().started + 1;
        loop {
            // Registered before the state is looked at, so that a check
            // finishing in between still wakes this request.
            let finished = self.finished.notified();
            tokio::pin!(finished);
            finished.as_mut().enable();
            let number = {
                let mut s = self.lock();
                if s.finished >= needed && s.finished > s.failed {
                    if let Some(v) = &s.latest {
                        return Ok(v.clone());
                    }
                }
                if s.failed >= needed && s.failed > s.finished {
                    if let Some(why) = &s.failure {
                        return Err(DbError::Unavailable(why.clone()));
                    }
                }
                if s.running {
                    None
                } else {
                    s.running = true;
                    s.started += 1;
                    Some(s.started)
                }
            };
            let Some(number) = number else {
                finished.await;
                continue;
            };
            // A request that starts a check returns its result, so it starts
            // at most one.
            let running = Running(self);
            let result = check().await;
            match &result {
                Ok(v) => {
                    let mut s = self.lock();
                    s.finished = number;
                    s.latest = Some(v.clone());
                }
                Err(e) if e.is_unavailable() => {
                    let mut s = self.lock();
                    s.failed = number;
                    s.failure = Some(e.to_string());
                }
                // Anything else is this request's own trouble; the next
                // waiter asks for itself.
                Err(_) => {}
            }
            drop(running);
            return result;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Checks> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    fn v(n: u64) -> Version {
        Version::Said(n.to_string().into())
    }

    #[test]
    fn snapshots_that_see_the_same_commits_are_one_version() {
        let said = |s: &str| Version::Said(s.into());
        // Before a write, while it holds the newest id, and after it.
        let before = snapshot("100:100:");
        assert_eq!(before, said("100:"));
        assert_eq!(snapshot("100:101:100"), before);
        assert_ne!(snapshot("101:101:"), before, "its commit is a new version");
        // Several at the top, unsorted; one below a finished one stays.
        assert_eq!(snapshot("97:103:102,97,101"), said("101:97"));
        assert_ne!(snapshot("97:103:97,101"), snapshot("97:103:97"));
        assert_ne!(snapshot("99:103:99"), snapshot("98:103:98"));
        // Anything else is kept as it came.
        assert_eq!(snapshot("x:y"), said("x:y"));
        assert_eq!(snapshot("1:2:3:4"), said("1:2:3:4"));
    }

    #[tokio::test]
    async fn a_check_in_flight_is_not_reused_by_later_arrivals() {
        let shared = Arc::new(Shared::default());
        let checks = Arc::new(AtomicU64::new(0));
        let (release, hold) = tokio::sync::oneshot::channel::<()>();
        // The first request starts a check and holds it open.
        let first = {
            let (shared, checks) = (shared.clone(), checks.clone());
            tokio::spawn(async move {
                shared
                    .current(|| {
                        let n = checks.fetch_add(1, Ordering::SeqCst) + 1;
                        async move {
                            hold.await.unwrap();
                            Ok(v(n))
                        }
                    })
                    .await
            })
        };
        while !shared.lock().running {
            tokio::task::yield_now().await;
        }
        // Three requests arrive while it runs: they must not take its answer
        // but share one check of their own.
        let later: Vec<_> = (0..3)
            .map(|_| {
                let (shared, checks) = (shared.clone(), checks.clone());
                tokio::spawn(async move {
                    shared
                        .current(|| async move { Ok(v(checks.fetch_add(1, Ordering::SeqCst) + 1)) })
                        .await
                })
            })
            .collect();
        tokio::task::yield_now().await;
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), v(1));
        for task in later {
            assert_eq!(task.await.unwrap().unwrap(), v(2));
        }
        assert_eq!(checks.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_check_fails_its_caller_and_the_next_one_runs() {
        let shared = Shared::default();
        let failed = shared
            .current(|| async { Err(DbError::Connect("gone".into())) })
            .await;
        assert!(failed.is_err());
        let again = shared.current(|| async { Ok(v(7)) }).await.unwrap();
        assert_eq!(again, v(7));
    }

    #[tokio::test]
    async fn requests_waiting_for_a_check_that_found_the_database_away_share_its_failure() {
        let shared = Arc::new(Shared::default());
        let checks = Arc::new(AtomicU64::new(0));
        let (release, hold) = tokio::sync::oneshot::channel::<()>();
        // A check in flight that will fail, and three requests that arrive
        // while it runs and so wait for the next one.
        let first = {
            let (shared, checks) = (shared.clone(), checks.clone());
            tokio::spawn(async move {
                shared
                    .current(|| {
                        checks.fetch_add(1, Ordering::SeqCst);
                        async move {
                            hold.await.unwrap();
                            Err(DbError::Connect("refused".into()))
                        }
                    })
                    .await
            })
        };
        while !shared.lock().running {
            tokio::task::yield_now().await;
        }
        let later: Vec<_> = (0..3)
            .map(|_| {
                let (shared, checks) = (shared.clone(), checks.clone());
                tokio::spawn(async move {
                    shared
                        .current(|| {
                            checks.fetch_add(1, Ordering::SeqCst);
                            async { Err(DbError::Connect("still refused".into())) }
                        })
                        .await
                })
            })
            .collect();
        tokio::task::yield_now().await;
        release.send(()).unwrap();
        assert!(first.await.unwrap().is_err());
        for task in later {
            let e = task.await.unwrap().unwrap_err();
            assert!(e.is_unavailable(), "{e}");
        }
        // The three shared one check instead of asking one after another.
        assert_eq!(checks.load(Ordering::SeqCst), 2);
        // Once the database answers, so do the requests.
        assert_eq!(shared.current(|| async { Ok(v(9)) }).await.unwrap(), v(9));
    }

    #[tokio::test]
    async fn a_check_whose_request_went_away_does_not_block_the_next() {
        let shared = Arc::new(Shared::default());
        // A request starts a check that never ends, and is then dropped (a
        // client that closed its connection).
        let gone = {
            let shared = shared.clone();
            tokio::spawn(async move {
                shared
                    .current(std::future::pending::<Result<Version, DbError>>)
                    .await
            })
        };
        while !shared.lock().running {
            tokio::task::yield_now().await;
        }
        gone.abort();
        assert!(gone.await.unwrap_err().is_cancelled());
        let next = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            shared.current(|| async { Ok(v(3)) }),
        )
        .await
        .expect("the next request is not kept waiting");
        assert_eq!(next.unwrap(), v(3));
    }

    #[test]
    fn the_wal_index_header_changes_with_every_commit_and_only_then() {
        use diesel::connection::SimpleConnection;
        let path = std::env::temp_dir().join(format!("oparl_wal_{}.sqlite", std::process::id()));
        let path = path.to_str().unwrap().to_string();
        let open = || {
            let mut c = diesel::SqliteConnection::establish(&path).unwrap();
            c.batch_execute("PRAGMA journal_mode = WAL;").unwrap();
            c
        };
        let mut writer = open();
        writer.batch_execute("CREATE TABLE t (x INTEGER)").unwrap();
        let mut reader = open();
        reader.batch_execute("SELECT count(*) FROM t").unwrap();
        let index = WalIndex::open(&path).expect("a database in WAL mode has a -shm file");
        let before = index.read().expect("an initialised header");
        reader.batch_execute("SELECT count(*) FROM t").unwrap();
        assert_eq!(index.read(), Some(before.clone()), "reads change nothing");
        for round in 0..3 {
            let seen = index.read().unwrap();
            writer.batch_execute("INSERT INTO t VALUES (1)").unwrap();
            assert_ne!(index.read().unwrap(), seen, "commit {round}");
        }
        // A rolled-back transaction leaves it as it was.
        let seen = index.read().unwrap();
        writer
            .batch_execute("BEGIN; INSERT INTO t VALUES (2); ROLLBACK;")
            .unwrap();
        assert_eq!(index.read().unwrap(), seen);
        drop((writer, reader));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
    }
}
