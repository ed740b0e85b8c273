//! A connection of our own to PostgreSQL that reads the version of the
//! database (see `version`) for the async workers directly.
//!
//! Through the pool a check was a blocking-pool task, a pool checkout, a
//! statement parsed anew and the hand-offs back: about 0.25 ms per check,
//! which every hot request waits for. Here it is one prepared statement on
//! a tokio-postgres connection polled by the runtime itself. When that
//! connection cannot be had (the server asks for TLS, which this one does
//! not speak, or it is away), the caller asks through the pool as before,
//! and connecting here is tried again a moment later.
//!
//! In the notification mode (`oparl serve --freshness notified`) a second
//! connection of its own listens on channel `oparl_change`, which a
//! trigger on the revision counter notifies with every commit of the write
//! path (migration 000011). While it listens, the version is the number of
//! notifications heard, read without any query: an answer is then at most
//! as stale as a notification is slow. When that connection breaks, goes
//! silent (a heartbeat every second finds out) or cannot be made, the
//! exact checks answer until it listens again; a new listening connection
//! starts a new number, so nothing kept from before is trusted.

use super::version::Version;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// How long after a failed connection attempt the pool answers instead.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// How often the listening connection is asked whether it still answers,
/// and how long it may take.
const HEARTBEAT: Duration = Duration::from_secs(1);
/// The channel the trigger of migration 000011 notifies.
const CHANNEL: &str = "oparl_change";

/// The version check on a connection of its own.
pub struct Watch {
    config: Option<tokio_postgres::Config>,
    /// The connection and its prepared statement, once made. Checks run one
    /// at a time (`version::Shared`), so this lock is never contended.
    conn: tokio::sync::Mutex<Option<Checker>>,
    /// No connection attempt before this instant.
    quiet_until: Mutex<Option<Instant>>,
    /// How long a check may take before the connection is given up.
    limit: Duration,
    /// What the listening connection heard; its task starts with the first
    /// version asked for once the notification mode is on.
    heard: Arc<Heard>,
    notified: AtomicBool,
    listener_started: AtomicBool,
}

/// What the listening connection has heard.
#[derive(Default)]
struct Heard {
    /// Whether a connection listens now: set once `LISTEN` is confirmed,
    /// cleared the moment it is found broken.
    listening: AtomicBool,
    /// Counts notifications, and each start of listening.
    number: AtomicU64,
}

struct Checker {
    client: tokio_postgres::Client,
    statement: tokio_postgres::Statement,
}

/// What a check on the own connection found.
pub enum Checked {
    Read(Version),
    /// Ask through the pool instead: no connection here just now.
    Elsewhere,
}

impl Watch {
    /// For the database at this URL; checks taking longer than `limit`
    /// give the connection up.
    pub fn new(url: &str, limit: Duration) -> Watch {
        let config = url.parse::<tokio_postgres::Config>().ok().map(|mut c| {
            c.connect_timeout(limit);
            c.application_name("oparl version check");
            c
        });
        Watch {
            config,
            conn: tokio::sync::Mutex::new(None),
            quiet_until: Mutex::new(None),
            limit,
            heard: Arc::default(),
            notified: AtomicBool::new(false),
            listener_started: AtomicBool::new(false),
        }
    }

    /// Turn the notification mode on.
    pub fn use_notifications(&self) {
        if self.config.is_none() {
            tracing::warn!(
                "--freshness notified: the database URL cannot be read by the listening \
                 connection's driver; every answer is checked exactly instead"
            );
        }
        self.notified.store(true, Ordering::Release);
    }

    /// In the notification mode while a connection listens: the version as
    /// the notifications heard so far tell it, without a query. None means
    /// an exact check must answer.
    pub fn heard(&self) -> Option<Version> {
        if !self.notified.load(Ordering::Acquire) {
            return None;
        }
        // A plain load on every request; the swap only until it is started.
        if !self.listener_started.load(Ordering::Acquire)
            && !self.listener_started.swap(true, Ordering::AcqRel)
        {
            if let Some(config) = self.config.clone() {
                tokio::spawn(listen(config, Arc::downgrade(&self.heard), self.limit));
            }
        }
        // The flag first: a number read after it was cleared is still one
        // heard before the connection broke.
        if !self.heard.listening.load(Ordering::Acquire) {
            return None;
        }
        Some(Version::Heard(self.heard.number.load(Ordering::Acquire)))
    }

    /// Whether a connection listens for changes now (for the metrics and
    /// the tests).
    pub fn listening(&self) -> bool {
        self.heard.listening.load(Ordering::Acquire)
    }

    /// The version now, read by a query that starts during this call.
    pub async fn check(&self) -> Checked {
        let mut conn = self.conn.lock().await;
        if conn.is_none() {
            *conn = self.connect().await;
        }
        let Some(checker) = conn.as_ref() else {
            return Checked::Elsewhere;
        };
        let asked = checker.client.query_one(&checker.statement, &[]);
        let failed = match tokio::time::timeout(self.limit, asked).await {
            Ok(Ok(row)) => {
                return match row.try_get::<_, String>(0) {
                    Ok(snapshot) => Checked::Read(super::version::snapshot(&snapshot)),
                    Err(_) => Checked::Elsewhere,
                }
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => "no answer within the time limit".to_string(),
        };
        // A broken or stalled connection: the pool's checks, with their own
        // handling of a database that went away, answer until a new
        // connection here works.
        tracing::debug!("version check connection given up: {failed}");
        *conn = None;
        self.quiet();
        Checked::Elsewhere
    }

    fn quiet(&self) {
        *self.quiet_until.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(Instant::now() + RETRY_AFTER);
    }

    async fn connect(&self) -> Option<Checker> {
        let config = self.config.as_ref()?;
        {
            let quiet = self.quiet_until.lock().unwrap_or_else(|e| e.into_inner());
            if quiet.is_some_and(|until| Instant::now() < until) {
                return None;
            }
        }
        let made = async {
            let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
            // The connection's messages are read by a task of its own; it
            // ends when the client is dropped or the socket closes.
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!("version check connection closed: {e}");
                }
            });
            let statement = client.prepare("SELECT pg_current_snapshot()::text").await?;
            Ok::<_, tokio_postgres::Error>(Checker { client, statement })
        };
        match tokio::time::timeout(self.limit, made).await {
            Ok(Ok(checker)) => Some(checker),
            Ok(Err(e)) => {
                tracing::debug!("no connection of its own for the version check: {e}");
                self.quiet();
                None
            }
            Err(_) => {
                self.quiet();
                None
            }
        }
    }
}

/// Listen for changes while the store's handle lives, connecting again
/// after every loss.
async fn listen(mut config: tokio_postgres::Config, heard: Weak<Heard>, limit: Duration) {
    config.application_name("oparl change listener");
    // Attempts in a row that never got to listen: the first is logged as a
    // warning, the others only for debugging, and they come less often (a
    // database that is away, or one that demands TLS, must not fill the log).
    let mut failures: u32 = 0;
    while heard.strong_count() > 0 {
        let (listened, outcome) = listen_once(&config, &heard, limit).await;
        if listened {
            failures = 0;
        }
        // `listen_once` has cleared `listening` on its way out.
        if let Err(why) = outcome {
            if failures == 0 {
                tracing::warn!("not listening for changes ({why}); exact checks answer meanwhile");
            } else {
                tracing::debug!("still not listening for changes ({why})");
            }
            if !listened {
                failures = failures.saturating_add(1);
            }
        }
        let pause = (RETRY_AFTER / 4) * 2u32.pow(failures.saturating_sub(1).min(4));
        tokio::time::sleep(pause).await;
    }
}

/// One listening connection, from its start until it is found broken or
/// the store's handle is dropped.
/// Whether it got to listen, and how it ended.
async fn listen_once(
    config: &tokio_postgres::Config,
    heard: &Weak<Heard>,
    limit: Duration,
) -> (bool, Result<(), String>) {
    let connected = match tokio::time::timeout(limit, config.connect(tokio_postgres::NoTls)).await {
        Ok(Ok(connected)) => connected,
        Ok(Err(e)) => return (false, Err(e.to_string())),
        Err(_) => {
            return (
                false,
                Err("no connection within the time limit".to_string()),
            )
        }
    };
    let (client, mut connection) = connected;
    let mut listened = false;
    // Set by the reader before it clears `listening`, so that a start of
    // listening that races with the connection's end is undone.
    let closed = Arc::new(AtomicBool::new(false));
    let reader = {
        let (heard, closed) = (heard.clone(), Arc::clone(&closed));
        tokio::spawn(async move {
            // Reading the messages also drives the client's own queries.
            loop {
                match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                    Some(Ok(tokio_postgres::AsyncMessage::Notification(_))) => {
                        let Some(h) = heard.upgrade() else { break };
                        h.number.fetch_add(1, Ordering::AcqRel);
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break,
                }
            }
            closed.store(true, Ordering::SeqCst);
            if let Some(h) = heard.upgrade() {
                h.listening.store(false, Ordering::SeqCst);
            }
        })
    };
    let outcome = async {
        tokio::time::timeout(limit, client.batch_execute(&format!("LISTEN {CHANNEL}")))
            .await
            .map_err(|_| "LISTEN took too long".to_string())?
            .map_err(|e| e.to_string())?;
        {
            let Some(h) = heard.upgrade() else {
                return Ok(());
            };
            // A new number: nothing kept before this connection listened
            // is trusted, changes in between may have gone unheard.
            h.number.fetch_add(1, Ordering::AcqRel);
            h.listening.store(true, Ordering::SeqCst);
            if closed.load(Ordering::SeqCst) {
                h.listening.store(false, Ordering::SeqCst);
                return Err("the connection closed".to_string());
            }
            listened = true;
            tracing::info!("listening for changes");
        }
        loop {
            tokio::time::sleep(HEARTBEAT).await;
            if heard.strong_count() == 0 {
                return Ok(());
            }
            if closed.load(Ordering::SeqCst) {
                return Err("the connection closed".to_string());
            }
            match tokio::time::timeout(HEARTBEAT, client.simple_query("")).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e.to_string()),
                Err(_) => return Err("the connection went silent".to_string()),
            }
        }
    }
    .await;
    if let Some(h) = heard.upgrade() {
        h.listening.store(false, Ordering::SeqCst);
    }
    reader.abort();
    (listened, outcome)
}
