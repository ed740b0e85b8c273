//! The database: one connection type over SQLite and PostgreSQL, the pool,
//! and the embedded migrations.
//!
//! The backend is chosen from the URL scheme alone (`postgres://` or
//! `postgresql://` is PostgreSQL, `sqlite://` or a plain path is SQLite) and
//! anything else is refused: a PostgreSQL server that cannot be reached is an
//! error, never a silent fallback to a file. All queries in `store/` are
//! written once against [`AnyConnection`].

pub mod in_list;
pub mod pg_watch;
pub mod schema;
pub mod version;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A connection to either backend; diesel's query builder works on it as on
/// any connection.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Decide the backend from a database URL, and the string to hand to the
    /// driver. Unknown schemes are an error that names them.
    pub fn from_url(url: &str) -> Result<(Backend, String), String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok((Backend::Postgres, url.to_string()));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            return Self::sqlite_path(path);
        }
        if let Some((scheme, _)) = url.split_once("://") {
            return Err(format!(
                "unsupported database URL scheme `{scheme}://` (use postgres://... for PostgreSQL or a file path for SQLite)"
            ));
        }
        Self::sqlite_path(url)
    }

    fn sqlite_path(path: &str) -> Result<(Backend, String), String> {
        if path.trim().is_empty() {
            return Err("the SQLite file path is empty".into());
        }
        Ok((Backend::Sqlite, path.to_string()))
    }
}

/// Errors of the storage layer.
#[derive(Debug)]
pub enum DbError {
    /// A query failed.
    Query(diesel::result::Error),
    /// No connection could be made or taken from the pool.
    Connect(String),
    /// Migrations could not be applied.
    Migration(String),
    /// The database could not be asked just now (a shared version check
    /// that found it unreachable); the text says why.
    Unavailable(String),
}

impl DbError {
    /// Whether the database is unreachable, restarting, busy or too slow
    /// right now, rather than the query wrong: worth asking again later
    /// (the API answers 503 with `Retry-After`).
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Connect(_) | DbError::Unavailable(_) => true,
            DbError::Query(e) => connection_lost(e) || interrupted(e),
            DbError::Migration(_) => false,
        }
    }
}

/// The connection itself is gone (PostgreSQL restarted or unreachable):
/// libpq reports a broken socket as one of these two kinds.
fn connection_lost(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        e,
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _
        )
    )
}

/// A statement stopped by a time limit or a lock, not by its content:
/// PostgreSQL's `statement_timeout` (or a cancel), SQLite's `SQLITE_BUSY`.
/// diesel passes on neither the SQLSTATE nor the SQLite code, only the
/// message; PostgreSQL's is English unless `lc_messages` says otherwise.
fn interrupted(e: &diesel::result::Error) -> bool {
    let diesel::result::Error::DatabaseError(_, info) = e else {
        return false;
    };
    let message = info.message();
    message.starts_with("canceling statement due to") || message.starts_with("database is locked")
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::Query(e) => write!(f, "database query failed: {e}"),
            DbError::Connect(e) => write!(f, "cannot connect to the database: {e}"),
            DbError::Migration(e) => write!(f, "database migration failed: {e}"),
            DbError::Unavailable(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for DbError {}

impl From<diesel::result::Error> for DbError {
    fn from(e: diesel::result::Error) -> Self {
        // Noted on the thread that ran the query, where `Db::run` looks.
        if connection_lost(&e) {
            LOST.with(|lost| lost.set(true));
        }
        DbError::Query(e)
    }
}

thread_local! {
    /// Set when a query on this thread found its connection gone. The
    /// connection itself is then discarded by the pool (diesel counts it as
    /// broken), but the others that sat idle meanwhile are most likely dead
    /// too: see [`Health`].
    static LOST: Cell<bool> = const { Cell::new(false) };
}

impl From<r2d2::PoolError> for DbError {
    fn from(e: r2d2::PoolError) -> Self {
        DbError::Connect(e.to_string())
    }
}

/// Bounds on database work. The command-line tools keep the defaults (an
/// import's statements may run long); the server sets them from its request
/// time limit with [`Limits::serving`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// PostgreSQL cancels a statement of a pooled connection that runs
    /// longer (`statement_timeout`); None: no limit.
    pub statement_timeout: Option<Duration>,
    /// How long a request waits for a pooled connection, and so also how
    /// long the pool keeps retrying a connection that failed before it
    /// tries again (half of this at most).
    pub checkout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            statement_timeout: None,
            checkout: Duration::from_secs(10),
        }
    }
}

impl Limits {
    /// The bounds of a server whose answers must come within `limit`: no
    /// statement outlives the answer it was for, and a request waits for a
    /// connection at most two seconds (a connection is otherwise made in
    /// milliseconds; longer means the database is away).
    pub fn serving(limit: Duration) -> Limits {
        Limits {
            statement_timeout: Some(limit),
            checkout: limit.min(Duration::from_secs(2)),
        }
    }
}

/// How long a request waits for a connection while the last attempt to get
/// one failed: it fails fast with 503 instead of waiting the full checkout
/// time, and the pool's own retries find the database when it is back.
const BRIEF_CHECKOUT: Duration = Duration::from_millis(250);

/// Opens connections for the pool, choosing the variant from the URL.
pub struct Manager {
    backend: Backend,
    target: String,
    /// `statement_timeout` of the connections (PostgreSQL).
    statement_timeout: Option<Duration>,
    /// How long a SQLite statement waits for a lock held by another
    /// connection before it fails with "database is locked".
    busy_timeout_ms: u32,
}

impl Manager {
    fn new(backend: Backend, target: &str) -> Manager {
        Manager {
            backend,
            target: target.to_string(),
            statement_timeout: None,
            // A second writer waits instead of failing at once.
            busy_timeout_ms: 10_000,
        }
    }

    fn open(&self) -> Result<AnyConnection, DbError> {
        match self.backend {
            Backend::Postgres => {
                let mut conn = diesel::PgConnection::establish(&self.target)
                    .map_err(|e| DbError::Connect(format!("PostgreSQL: {e}")))?;
                // Every statement of ours reads at most some thousand rows
                // through an index, where starting parallel workers costs
                // more than it saves: the back-references of a page of
                // 1,000 objects took 10.7 ms with two workers and 1.7 ms
                // without. Nor is compiling a statement worth it (JIT):
                // PostgreSQL compiles when its estimate is large, and an
                // estimate over a list of keys can be a thousand times the
                // rows found; the back-references of the change feed's
                // page of 132 objects (84 rows) spent 4.3 of 5 ms on it.
                conn.batch_execute("SET max_parallel_workers_per_gather = 0; SET jit = off")
                    .map_err(|e| DbError::Connect(format!("PostgreSQL: {e}")))?;
                if let Some(limit) = self.statement_timeout {
                    let ms = limit.as_millis().max(1);
                    conn.batch_execute(&format!("SET statement_timeout = {ms}"))
                        .map_err(|e| DbError::Connect(format!("PostgreSQL: {e}")))?;
                }
                Ok(AnyConnection::Postgres(conn))
            }
            Backend::Sqlite => {
                let mut conn = diesel::SqliteConnection::establish(&self.target)
                    .map_err(|e| DbError::Connect(format!("SQLite file {}: {e}", self.target)))?;
                // WAL lets the server read while an import writes; foreign
                // keys are off by default in SQLite. The busy timeout comes
                // first: `journal_mode` needs a lock, and while another
                // process held one (a server starting as `oparl token` ran)
                // it failed at once with "database is locked".
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                    self.busy_timeout_ms
                ))
                .map_err(|e| DbError::Connect(format!("SQLite file {}: {e}", self.target)))?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }
}

impl ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<AnyConnection, r2d2::Error> {
        self.open().map_err(|e| {
            r2d2::Error::ConnectionError(diesel::ConnectionError::BadConnection(e.to_string()))
        })
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        // A PostgreSQL connection whose socket closed counts as broken too:
        // libpq then reports its transaction state as unknown.
        std::thread::panicking() || conn.is_broken()
    }
}

static NEXT_DB_ID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

thread_local! {
    /// Per-thread SQLite connections of [`Db::inline`], by store.
    static INLINE: std::cell::RefCell<Vec<(usize, AnyConnection)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The shared handle to the database: a pool of connections.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
    backend: Backend,
    /// Opens the per-thread connections of [`Db::inline`] and the SQLite
    /// version checker: connections used on async workers, which therefore
    /// never wait for a lock (`busy_timeout` 0).
    opener: Arc<Manager>,
    /// Tells this store's per-thread connections from another's.
    id: usize,
    /// As many permits as connections: requests wait here, asynchronously,
    /// instead of each holding a blocking thread while it waits for the pool.
    gate: Arc<tokio::sync::Semaphore>,
    /// Where [`Db::version`] is read.
    versions: Arc<Versions>,
    health: Arc<Health>,
    limits: Limits,
}

/// What the pool has seen of the database going away (PostgreSQL).
#[derive(Default)]
struct Health {
    /// How many times a connection was found dead. A pooled connection last
    /// known alive before the latest loss is pinged before it is used, so
    /// that idle connections left over from before a restart are replaced
    /// instead of failing a request each.
    losses: AtomicU64,
    /// The last attempt to get a connection failed: requests wait only
    /// [`BRIEF_CHECKOUT`] for one until an attempt succeeds again.
    unreachable: AtomicBool,
}

/// When a pooled connection was last known alive, in [`Health::losses`].
struct CheckedAt(u64);

impl Health {
    fn lost(&self) {
        self.losses.fetch_add(1, Ordering::AcqRel);
        self.unreachable.store(true, Ordering::Release);
    }

    /// A connection from the pool that is alive as far as can be told: a
    /// dead one is dropped (and discarded by `has_broken`) and the next
    /// taken, so this loops at most once per pooled connection.
    fn checkout(
        &self,
        pool: &r2d2::Pool<Manager>,
        wait: Duration,
    ) -> Result<r2d2::PooledConnection<Manager>, DbError> {
        loop {
            let wait = if self.unreachable.load(Ordering::Acquire) {
                wait.min(BRIEF_CHECKOUT)
            } else {
                wait
            };
            let mut conn = pool.get_timeout(wait).map_err(|e| {
                self.unreachable.store(true, Ordering::Release);
                DbError::from(e)
            })?;
            let losses = self.losses.load(Ordering::Acquire);
            if losses > 0 {
                let checked = r2d2::PooledConnection::extensions(&conn)
                    .get::<CheckedAt>()
                    .map_or(0, |c| c.0);
                if checked < losses {
                    if conn.ping().is_err() {
                        // Discarded as it goes back (`has_broken`).
                        self.lost();
                        drop(conn);
                        continue;
                    }
                    r2d2::PooledConnection::extensions_mut(&mut conn).insert(CheckedAt(losses));
                }
            }
            self.unreachable.store(false, Ordering::Release);
            LOST.with(|lost| lost.set(false));
            return Ok(conn);
        }
    }
}

/// How the version of the database is read (see `version`).
enum Versions {
    Sqlite(version::Local),
    /// Checks shared among waiting requests, read on a connection of their
    /// own where it can be had.
    Postgres(version::Shared, Box<pg_watch::Watch>),
}

impl fmt::Debug for Db {
    // The URL may hold a password: never print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Db {
    /// Connect, apply pending migrations, and build the pool. Fails when the
    /// database cannot be reached.
    pub fn open(url: &str, migrate: bool) -> Result<Db, DbError> {
        Db::open_with(url, migrate, Limits::default())
    }

    /// [`Db::open`] with bounds on the work of its connections.
    pub fn open_with(url: &str, migrate: bool, limits: Limits) -> Result<Db, DbError> {
        let (backend, target) = Backend::from_url(url).map_err(DbError::Connect)?;
        // Migrations are not bounded by the statement timeout.
        let mut first = Manager::new(backend, &target).open()?;
        if migrate {
            run_migrations(&mut first)?;
        }
        drop(first);
        let opener = Arc::new(Manager {
            busy_timeout_ms: 0,
            ..Manager::new(backend, &target)
        });
        let manager = Manager {
            statement_timeout: limits.statement_timeout,
            ..Manager::new(backend, &target)
        };
        // Eight connections keep two cores busy on either backend (database
        // work waits at the gate below, not in the pool); each PostgreSQL
        // connection also keeps libpq's input buffer at the size of the
        // largest result it ever read, so more of them cost memory.
        let size = 8;
        let pool = r2d2::Pool::builder()
            .max_size(size)
            .min_idle(Some(1))
            .connection_timeout(limits.checkout)
            // A dead connection shows as an error and is then discarded
            // (`has_broken`), and after that every connection is pinged once
            // (`Health`); a test query on every checkout would cost a round
            // trip per request.
            .test_on_check_out(false)
            .build(manager)
            .map_err(|e| DbError::Connect(e.to_string()))?;
        let gate = Arc::new(tokio::sync::Semaphore::new(size as usize));
        let versions = Arc::new(match backend {
            Backend::Sqlite => Versions::Sqlite(version::Local::default()),
            Backend::Postgres => Versions::Postgres(
                version::Shared::default(),
                Box::new(pg_watch::Watch::new(&target, limits.checkout)),
            ),
        });
        Ok(Db {
            pool,
            backend,
            opener,
            id: NEXT_DB_ID.fetch_add(1, Ordering::Relaxed),
            gate,
            versions,
            health: Arc::default(),
            limits,
        })
    }

    /// The version of the database now: read after this call began, so
    /// that every commit before it is reflected.
    pub async fn version(&self) -> Result<version::Version, DbError> {
        crate::metrics::get()
            .version_checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match &*self.versions {
            Versions::Sqlite(local) => local.current(|| self.opener.open(), &self.opener.target),
            Versions::Postgres(shared, watch) => {
                if let Some(heard) = watch.heard() {
                    return Ok(heard);
                }
                shared
                    .current(|| async {
                        match watch.check().await {
                            pg_watch::Checked::Read(v) => Ok(v),
                            pg_watch::Checked::Elsewhere => self.run(version::read).await,
                        }
                    })
                    .await
            }
        }
    }

    /// Run a short read on the calling thread, on a SQLite connection of
    /// this thread's own; None on PostgreSQL (a network round trip must not
    /// block an async worker) or when no connection can be had.
    ///
    /// A hot answer is one index lookup plus cache hits: handing it to a
    /// blocking thread and back (two task switches, the pool's mutex) cost
    /// several times the lookup itself.
    ///
    /// Nothing here can interrupt the closure, so callers pass only work
    /// bounded by its own shape: lookups by primary key and index range
    /// scans that stop after a page (see `api::answer`). The connection
    /// never waits for a lock: a locked database fails the closure, whose
    /// caller then asks again on a blocking thread.
    pub fn inline<T>(&self, f: impl FnOnce(&mut AnyConnection) -> T) -> Option<T> {
        if self.backend != Backend::Sqlite {
            return None;
        }
        INLINE.with(|cell| {
            // Never re-entered, but a nested call would find it borrowed.
            let mut conns = cell.try_borrow_mut().ok()?;
            let index = match conns.iter().position(|(id, _)| *id == self.id) {
                Some(i) => i,
                None => {
                    let conn = self.opener.open().ok()?;
                    // Tests open many stores on one thread; keep a few.
                    if conns.len() >= 4 {
                        conns.remove(0);
                    }
                    conns.push((self.id, conn));
                    conns.len() - 1
                }
            };
            Some(f(&mut conns[index].1))
        })
    }

    /// The pool's connections: (all, idle).
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The notification mode: on PostgreSQL, answers kept in memory are
    /// trusted while no change notification has come (see `pg_watch`),
    /// instead of asking the database on every request. False on SQLite,
    /// whose exact check is already a read of shared memory.
    pub fn use_change_notifications(&self) -> bool {
        match &*self.versions {
            Versions::Postgres(_, watch) => {
                watch.use_notifications();
                true
            }
            Versions::Sqlite(_) => false,
        }
    }

    /// Whether a connection listens for change notifications right now.
    pub fn listening_for_changes(&self) -> bool {
        match &*self.versions {
            Versions::Postgres(_, watch) => watch.listening(),
            Versions::Sqlite(_) => false,
        }
    }

    /// Take a connection for synchronous work (CLI commands, tests).
    pub fn conn(&self) -> Result<r2d2::PooledConnection<Manager>, DbError> {
        self.health.checkout(&self.pool, self.limits.checkout)
    }

    /// Run one unit of database work on a blocking thread. The connection is
    /// taken inside the closure so that it is never held across an await.
    ///
    /// The permit goes with the work: when the request that started it has
    /// been answered already (its time limit passed), the work still holds
    /// its connection, and the gate must not let another request wait for
    /// that connection in the pool instead of here.
    pub async fn run<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, DbError> + Send + 'static,
    {
        let permit = Arc::clone(&self.gate)
            .acquire_owned()
            .await
            .expect("the gate is never closed");
        let (pool, health, wait) = (
            self.pool.clone(),
            Arc::clone(&self.health),
            self.limits.checkout,
        );
        let work = move || {
            let _permit = permit;
            let metrics = crate::metrics::get();
            let asked = std::time::Instant::now();
            let checkout = health.checkout(&pool, wait);
            metrics
                .db_runs
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            metrics.db_wait_micros.fetch_add(
                asked.elapsed().as_micros() as u64,
                std::sync::atomic::Ordering::Relaxed,
            );
            let mut conn = checkout.inspect_err(|e| {
                if e.is_unavailable() {
                    metrics
                        .db_unavailable
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            })?;
            let result = f(&mut conn);
            if LOST.with(Cell::get) {
                health.lost();
            }
            result
        };
        match tokio::task::spawn_blocking(work).await {
            Ok(result) => result,
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        }
    }
}

/// Drop two process-wide SQLite locks that this program does not need: the
/// mutex around every call on a connection (each connection here is used by
/// one thread at a time: diesel's connections are not `Sync`, ours sit in a
/// pool, a thread-local or a `Mutex`) and the one around every allocation
/// for memory statistics. Without them the Paper list is harvested 13 %
/// faster (21,900 against 19,300 papers/s at `limit=1000`).
///
/// `sqlite3_config` must not run while another thread uses SQLite, so the
/// binary calls this first thing in `main`, before any thread exists; the
/// library (tests, the bench) keeps SQLite's defaults. Once SQLite is in
/// use it refuses the change and the defaults stay.
pub fn tune_sqlite() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config only changes settings and refuses them
        // (SQLITE_MISUSE) once the library is in use; the variadic argument
        // of SQLITE_CONFIG_MEMSTATUS is an int, as passed.
        unsafe {
            libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MULTITHREAD);
            libsqlite3_sys::sqlite3_config(
                libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS,
                0 as libc::c_int,
            );
        }
    });
}

/// How many migrations of this version the database has not applied yet
/// (another instance may be applying them, or a rolling upgrade runs with
/// `--no-migrate`).
pub fn pending_migrations(conn: &mut AnyConnection) -> Result<usize, DbError> {
    let pending = match conn {
        AnyConnection::Postgres(c) => c.pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.len()),
        AnyConnection::Sqlite(c) => c.pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
    };
    pending.map_err(|e| DbError::Migration(e.to_string()))
}

/// Undo the last applied migration (for tests of what a server does with a
/// schema behind its version).
pub fn revert_last_migration(conn: &mut AnyConnection) -> Result<(), DbError> {
    let reverted = match conn {
        AnyConnection::Postgres(c) => c.revert_last_migration(POSTGRES_MIGRATIONS).map(|_| ()),
        AnyConnection::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS).map(|_| ()),
    };
    reverted.map_err(|e| DbError::Migration(e.to_string()))
}

/// Apply every pending migration of the connection's backend; returns how
/// many were applied.
pub fn run_migrations(conn: &mut AnyConnection) -> Result<usize, DbError> {
    let applied = match conn {
        AnyConnection::Postgres(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
        AnyConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
    };
    let applied = applied.map_err(|e| DbError::Migration(e.to_string()))?;
    crate::search::index::catch_up(conn)?;
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_from_url() {
        assert_eq!(
            Backend::from_url("postgres://u@h/db").unwrap().0,
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("postgresql://h/db").unwrap().0,
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("oparl.sqlite").unwrap(),
            (Backend::Sqlite, "oparl.sqlite".into())
        );
        assert_eq!(
            Backend::from_url("sqlite:///tmp/x.db").unwrap(),
            (Backend::Sqlite, "/tmp/x.db".into())
        );
        let err = Backend::from_url("mysql://h/db").unwrap_err();
        assert!(err.contains("mysql://"), "{err}");
        assert!(Backend::from_url("").is_err());
    }

    #[tokio::test]
    async fn sqlite_versions_come_from_the_wal_index_once_it_is_open() {
        let path =
            std::env::temp_dir().join(format!("oparl_db_version_{}.sqlite", std::process::id()));
        let path = path.to_str().unwrap().to_string();
        let db = Db::open(&path, true).unwrap();
        // The first read opens the checker connection, then the index.
        let first = db.version().await.unwrap();
        assert!(matches!(first, version::Version::Said(_)), "{first:?}");
        let second = db.version().await.unwrap();
        assert!(matches!(second, version::Version::Wal(_)), "{second:?}");
        assert_eq!(db.version().await.unwrap(), second);
        db.conn()
            .unwrap()
            .batch_execute("PRAGMA user_version = 7")
            .unwrap();
        assert_ne!(db.version().await.unwrap(), second, "a commit is seen");
        drop(db);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
    }
}
