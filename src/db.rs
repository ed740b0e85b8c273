//! The database: one connection type over SQLite and PostgreSQL, the pool,
//! and the embedded migrations.
//!
//! The backend is chosen from the URL scheme alone (`postgres://` or
//! `postgresql://` is PostgreSQL, `sqlite://` or a plain path is SQLite) and
//! anything else is refused: a PostgreSQL server that cannot be reached is an
//! error, never a silent fallback to a file. All queries in `store/` are
//! written once against [`AnyConnection`].

pub mod schema;
pub mod version;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::fmt;
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
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::Query(e) => write!(f, "database query failed: {e}"),
            DbError::Connect(e) => write!(f, "cannot connect to the database: {e}"),
            DbError::Migration(e) => write!(f, "database migration failed: {e}"),
        }
    }
}

impl std::error::Error for DbError {}

impl From<diesel::result::Error> for DbError {
    fn from(e: diesel::result::Error) -> Self {
        DbError::Query(e)
    }
}

impl From<r2d2::PoolError> for DbError {
    fn from(e: r2d2::PoolError) -> Self {
        DbError::Connect(e.to_string())
    }
}

/// Opens connections for the pool, choosing the variant from the URL.
pub struct Manager {
    backend: Backend,
    target: String,
}

impl Manager {
    fn open(&self) -> Result<AnyConnection, DbError> {
        match self.backend {
            Backend::Postgres => diesel::PgConnection::establish(&self.target)
                .map(AnyConnection::Postgres)
                .map_err(|e| DbError::Connect(format!("PostgreSQL: {e}"))),
            Backend::Sqlite => {
                let mut conn = diesel::SqliteConnection::establish(&self.target)
                    .map_err(|e| DbError::Connect(format!("SQLite file {}: {e}", self.target)))?;
                // WAL lets the server read while an import writes; foreign
                // keys are off by default in SQLite; busy_timeout makes a
                // second writer wait instead of failing at once.
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                )
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
    /// Opens the per-thread connections of [`Db::inline`].
    opener: Arc<Manager>,
    /// Tells this store's per-thread connections from another's.
    id: usize,
    /// As many permits as connections: requests wait here, asynchronously,
    /// instead of each holding a blocking thread while it waits for the pool.
    gate: Arc<tokio::sync::Semaphore>,
    /// Where [`Db::version`] is read.
    versions: Arc<Versions>,
}

/// How the version of the database is read (see `version`).
enum Versions {
    Sqlite(version::Local),
    Postgres(version::Shared),
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
        let (backend, target) = Backend::from_url(url).map_err(DbError::Connect)?;
        let opener = Arc::new(Manager {
            backend,
            target: target.clone(),
        });
        let manager = Manager { backend, target };
        let mut first = manager.open()?;
        if migrate {
            run_migrations(&mut first)?;
        }
        drop(first);
        // Eight connections keep two cores busy on either backend (database
        // work waits at the gate below, not in the pool); each PostgreSQL
        // connection also keeps libpq's input buffer at the size of the
        // largest result it ever read, so more of them cost memory.
        let size = 8;
        let pool = r2d2::Pool::builder()
            .max_size(size)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            // A broken connection shows as an error and is then discarded
            // (`has_broken`); a test query on every checkout would cost a
            // round trip per request.
            .test_on_check_out(false)
            .build(manager)
            .map_err(|e| DbError::Connect(e.to_string()))?;
        let gate = Arc::new(tokio::sync::Semaphore::new(size as usize));
        let versions = Arc::new(match backend {
            Backend::Sqlite => Versions::Sqlite(version::Local::default()),
            Backend::Postgres => Versions::Postgres(version::Shared::default()),
        });
        Ok(Db {
            pool,
            backend,
            opener,
            id: NEXT_DB_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            gate,
            versions,
        })
    }

    /// The version of the database now: read after this call began, so
    /// that every commit before it is reflected.
    pub async fn version(&self) -> Result<version::Version, DbError> {
        match &*self.versions {
            Versions::Sqlite(local) => local.current(|| self.opener.open(), &self.opener.target),
            Versions::Postgres(shared) => shared.current(|| self.run(version::read)).await,
        }
    }

    /// Run a short read on the calling thread, on a SQLite connection of
    /// this thread's own; None on PostgreSQL (a network round trip must not
    /// block an async worker) or when no connection can be had.
    ///
    /// A hot answer is one index lookup plus cache hits: handing it to a
    /// blocking thread and back (two task switches, the pool's mutex) cost
    /// several times the lookup itself.
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

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Take a connection for synchronous work (CLI commands, tests).
    pub fn conn(&self) -> Result<r2d2::PooledConnection<Manager>, DbError> {
        Ok(self.pool.get()?)
    }

    /// Run one unit of database work on a blocking thread. The connection is
    /// taken inside the closure so that it is never held across an await.
    pub async fn run<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, DbError> + Send + 'static,
    {
        let _permit = self.gate.acquire().await.expect("the gate is never closed");
        let pool = self.pool.clone();
        match tokio::task::spawn_blocking(move || f(&mut *pool.get()?)).await {
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

/// Apply every pending migration of the connection's backend; returns how
/// many were applied.
pub fn run_migrations(conn: &mut AnyConnection) -> Result<usize, DbError> {
    let applied = match conn {
        AnyConnection::Postgres(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
        AnyConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
    };
    applied.map_err(|e| DbError::Migration(e.to_string()))
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
