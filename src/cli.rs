//! The command line: `oparl serve`, `migrate`, `generate`, `check`, `import`.
//! Every setting is a flag with an environment variable and a default; a
//! wrong one stops the program with a message that names it.

use crate::api::AppState;
use crate::db::Db;
use crate::demo::{self, DemoOptions};
use crate::store::{read, write};
use crate::urls::Urls;
use clap::{Parser, Subcommand};
use serde_json::Map;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Parser)]
#[command(
    name = "oparl",
    version,
    about = "An OParl 1.1 server for council information"
)]
struct Cli {
    /// Where the data lives: a SQLite file path (created if missing) or a
    /// postgres://user@host/database URL.
    #[arg(
        long,
        env = "OPARL_DATABASE_URL",
        default_value = "oparl.sqlite",
        global = true
    )]
    database_url: String,

    /// How log lines are written: `text` (for people; coloured only when
    /// standard error is a terminal) or `json` (one object per line, for a
    /// log collector).
    #[arg(
        long,
        env = "OPARL_LOG_FORMAT",
        default_value = "text",
        value_parser = ["text", "json"],
        global = true
    )]
    log_format: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Publish the store over HTTP.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Write the demo city into an empty store.
    Generate(GenerateArgs),
    /// Check any OParl endpoint against the rules of OParl 1.1.
    Check(CheckArgs),
    /// Import OParl data from a live endpoint (1.0 or 1.1) or a dump.
    /// Exit status: 0 everything imported, 3 imported with skipped input
    /// (see the summary or --report), 1 failed and nothing was written.
    Import(ImportArgs),
    /// Write the store (or one Body) in the format of the bulk dumps: JSON
    /// Lines, a header with the revision and the change feed, then every
    /// object standalone, tombstones included; gzip when FILE ends in .gz.
    Export(ExportArgs),
    /// Tokens of the write API: create (the secret is printed once), list,
    /// revoke.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Show the audit log of the write API.
    Audit(AuditArgs),
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Make a new token and print its secret (shown this once only).
    Create(TokenCreateArgs),
    /// List the tokens (never their secrets).
    List,
    /// Revoke a token by its number (as `token list` shows it).
    Revoke {
        /// The token's number.
        id: i64,
    },
}

#[derive(Debug, clap::Args)]
struct TokenCreateArgs {
    /// A name for the token (who or what uses it); shown in the audit log.
    #[arg(long)]
    name: String,
    /// A Body the token may write (its number, as in `.../body/N`); repeat
    /// for several. Without it the token may write every Body and create
    /// new ones.
    #[arg(long = "body")]
    bodies: Vec<i64>,
    /// The token authenticates but may not write.
    #[arg(long)]
    read_only: bool,
}

#[derive(Debug, clap::Args)]
struct AuditArgs {
    /// Only entries from this time on (RFC 3339, e.g. 2026-12-01T00:00:00+01:00).
    #[arg(long)]
    since: Option<String>,
    /// Only entries of the token with this name.
    #[arg(long)]
    token: Option<String>,
}

#[derive(Debug, clap::Args)]
struct ExportArgs {
    /// The file to write (gzip-compressed when it ends in .gz), or - for
    /// standard output.
    file: std::path::PathBuf,
    /// Only this Body (its number, as in `.../body/N`).
    #[arg(long)]
    body: Option<i64>,
    /// The public URL of the System, as `serve --base-url`: the dump's ids
    /// are the ones the server publishes.
    #[arg(
        long,
        env = "OPARL_BASE_URL",
        default_value = "http://127.0.0.1:8080/oparl/v1.1"
    )]
    base_url: String,
}

#[derive(Debug, clap::Args)]
struct ImportArgs {
    /// The URL of a System (http/https), a JSON Lines file of objects, a
    /// JSON file, or a folder of crawled list pages.
    source: String,
    /// Read everything instead of only what changed since the last run,
    /// and mark objects the source no longer has as deleted.
    #[arg(long)]
    full: bool,
    /// Download the bytes of every File into the store (checking size and
    /// checksums); without it Files keep pointing at the source's bytes.
    #[arg(long)]
    with_files: bool,
    /// Write every repair and skipped input as JSON to this file.
    #[arg(long)]
    report: Option<std::path::PathBuf>,
    /// Seconds subtracted from the last run's start when asking for
    /// modified_since, for source clocks and slow commits.
    #[arg(long, default_value_t = 600)]
    margin: u32,
    /// The largest response, file or line accepted, in MB.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=4096))]
    max_document_mb: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
    /// Seconds before a request is given up (then retried).
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Retries of a request that timed out or answered 5xx/429.
    #[arg(long, default_value_t = 4)]
    retries: u32,
    /// No progress display.
    #[arg(long)]
    quiet: bool,
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// The URL of the endpoint's System object.
    system_url: String,
    /// Also write every finding as JSON to this file.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// Fail (exit status 1) on SHOULD findings too, not only on MUST.
    #[arg(long)]
    strict: bool,
    /// Stop after this many objects (0: check everything).
    #[arg(long, default_value_t = 0)]
    max_objects: usize,
    /// Download and check at most this many files.
    #[arg(long, default_value_t = 200)]
    max_files: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
    /// Seconds before a request is given up.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Retries of a request that failed without an answer (or 429/502-504).
    #[arg(long, default_value_t = 3)]
    retries: u32,
    /// Examples shown per rule in the report.
    #[arg(long, default_value_t = 3)]
    examples: usize,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "OPARL_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,

    /// The public URL of the System object; every id is minted from it, so
    /// set it when the server sits behind a proxy. Default:
    /// http://<listen>/oparl/v1.1
    #[arg(long, env = "OPARL_BASE_URL")]
    base_url: Option<String>,

    /// Generate the demo city first if the store holds no Body.
    #[arg(long, env = "OPARL_DEMO")]
    demo: bool,

    /// Do not apply migrations at start-up (run `oparl migrate` instead).
    #[arg(long, env = "OPARL_NO_MIGRATE")]
    no_migrate: bool,

    /// Memory for the caches of rendered JSON, in MiB. Entries are keyed by
    /// the modification times read from the database, so they are never
    /// served stale, even with several servers on one database.
    #[arg(long, env = "OPARL_CACHE_MB", default_value_t = 64)]
    cache_mb: usize,

    /// Serve an answer up to this many milliseconds old without asking the
    /// database. 0 (the default) asks on every request, so a change
    /// committed by any server shows at once; a bound trades that for speed,
    /// and harvesters must then subtract it from their modified_since.
    #[arg(long, env = "OPARL_MAX_STALE_MS", default_value_t = 0)]
    max_stale_ms: u64,

    /// How a kept answer is known to be current (PostgreSQL). `exact` (the
    /// default) asks the database on every request, so every answer
    /// reflects every commit that finished before the request arrived.
    /// `notified` trusts kept answers until a change notification arrives
    /// (LISTEN/NOTIFY, sent by every commit of any instance or import): no
    /// question per request, and a change shows as soon as its
    /// notification is delivered, milliseconds after the commit. While the
    /// listening connection is down, exact checks answer. SQLite ignores
    /// this: its exact check costs no query.
    #[arg(long, env = "OPARL_FRESHNESS", default_value = "exact", value_parser = ["exact", "notified"])]
    freshness: String,

    /// Where the bulk dumps (B/dump, B/body/N/dump) are written.
    #[arg(long, env = "OPARL_DUMP_DIR", default_value = "oparl-dumps")]
    dump_dir: std::path::PathBuf,

    /// Rebuild the dumps after a change at most this often, in seconds; 0
    /// builds no dumps (their URLs then answer 404).
    #[arg(long, env = "OPARL_DUMP_EVERY_SECS", default_value_t = 300)]
    dump_every_secs: u64,

    /// Longest time an answer may take, in milliseconds. A request that
    /// runs longer (a slow query, a database that is away) gets 503 with
    /// Retry-After, and PostgreSQL cancels statements that run longer.
    #[arg(long, env = "OPARL_REQUEST_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    request_timeout_ms: u64,
    /// The URI of the publisher of the DCAT-AP.de catalogue (B/dcat);
    /// without it the publisher is a blank node.
    #[arg(long, env = "OPARL_DCAT_PUBLISHER_URI")]
    dcat_publisher_uri: Option<String>,

    /// The name of the catalogue's publisher; default the System's name.
    #[arg(long, env = "OPARL_DCAT_PUBLISHER_NAME")]
    dcat_publisher_name: Option<String>,

    /// `dcatde:contributorID` of the catalogue and its datasets (a URI of
    /// GovData's contributor list).
    #[arg(long, env = "OPARL_DCAT_CONTRIBUTOR_ID")]
    dcat_contributor_id: Option<String>,

    /// `dct:accrualPeriodicity` of the datasets, a code of the EU frequency
    /// vocabulary.
    #[arg(
        long,
        env = "OPARL_DCAT_ACCRUAL_PERIODICITY",
        default_value = "UPDATE_CONT"
    )]
    dcat_accrual_periodicity: String,

    /// The largest JSON request of the write API, in MB (413 beyond).
    #[arg(long, env = "OPARL_MAX_BODY_MB", default_value_t = 16,
          value_parser = clap::value_parser!(u64).range(1..=4096))]
    max_body_mb: u64,

    /// The largest File content (`PUT .../content`) and batch of the write
    /// API, in MB (413 beyond).
    #[arg(long, env = "OPARL_MAX_FILE_MB", default_value_t = 64,
          value_parser = clap::value_parser!(u64).range(1..=4096))]
    max_file_mb: u64,

    /// An origin (e.g. https://admin.example.de) whose browser pages may
    /// write (CORS preflights of write methods are answered for it); repeat
    /// the flag or separate by commas. None by default.
    #[arg(
        long = "write-cors-origin",
        env = "OPARL_WRITE_CORS_ORIGINS",
        value_delimiter = ','
    )]
    write_cors_origins: Vec<String>,

    /// Failed authentications a client address may have per minute before
    /// its write requests get 429.
    #[arg(long, env = "OPARL_AUTH_FAILURES_PER_MINUTE", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..))]
    auth_failures_per_minute: u32,
}

#[derive(Debug, clap::Args)]
struct GenerateArgs {
    /// Years of history, ending in 2026.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=200))]
    years: u32,
    /// Multiplier of the yearly volume (1 = about 280 meetings and 1,000
    /// papers a year; 10 years at scale 10 give about a million objects).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    scale: u32,
}

/// Run the command line; the exit code is 0 on success.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log_format);
    let result = match cli.command {
        Command::Import(ref args) => import(&cli.database_url, args),
        _ => run(cli).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `oparl import`: the summary on stdout; the exit status tells complete,
/// partial (3) and failed (1) apart.
fn import(database_url: &str, args: &ImportArgs) -> Result<ExitCode, String> {
    use crate::import::{self, ImportOptions, Outcome};
    let db = Db::open(database_url, true)
        .map_err(|e| format!("--database-url / OPARL_DATABASE_URL: {e}"))?;
    let mut opts = ImportOptions::new(&args.source);
    opts.full = args.full;
    opts.with_files = args.with_files;
    opts.margin_secs = args.margin.into();
    opts.max_document_bytes = args.max_document_mb << 20;
    opts.fetch.concurrency = args.concurrency.into();
    opts.fetch.timeout = std::time::Duration::from_secs(args.timeout.max(1));
    opts.fetch.retries = args.retries;
    opts.report_file = args.report.clone();
    opts.quiet = args.quiet;
    let started = Instant::now();
    let (outcome, report) = import::run(&db, &opts)?;
    print!("{}", report.summary());
    println!(
        "{} in {:.1} s",
        args.source,
        started.elapsed().as_secs_f64()
    );
    Ok(match outcome {
        Outcome::Complete => ExitCode::SUCCESS,
        Outcome::Partial => ExitCode::from(3),
    })
}

/// Log to standard error: text, with colour codes only on a terminal (a
/// log file or a collector would get the escape sequences as text), or
/// JSON lines.
fn init_logging(format: &str) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logger = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        logger.json().with_current_span(false).init();
    } else {
        logger.with_ansi(std::io::stderr().is_terminal()).init();
    }
}

fn run(cli: Cli) -> Result<(), String> {
    if let Command::Check(args) = &cli.command {
        return check(args);
    }
    let open = |migrate: bool| {
        Db::open(&cli.database_url, migrate)
            .map_err(|e| format!("--database-url / OPARL_DATABASE_URL: {e}"))
    };
    match cli.command {
        Command::Migrate => {
            let db = open(false)?;
            let mut conn = db.conn().map_err(|e| e.to_string())?;
            let n = crate::db::run_migrations(&mut conn).map_err(|e| e.to_string())?;
            println!("{n} migration(s) applied");
            Ok(())
        }
        Command::Generate(args) => {
            let db = open(true)?;
            generate(
                &db,
                DemoOptions {
                    years: args.years,
                    scale: args.scale,
                },
            )
        }
        Command::Check(_) | Command::Import(_) => unreachable!("handled above"),
        Command::Token(command) => token(&open(true)?, command),
        Command::Audit(args) => audit(&open(true)?, &args),
        Command::Export(args) => {
            let urls = Urls::new(&args.base_url)
                .map_err(|e| format!("--base-url / OPARL_BASE_URL: {e}"))?;
            let db = open(true)?;
            let mut conn = db.conn().map_err(|e| e.to_string())?;
            let started = Instant::now();
            if let Some(pk) = args.body {
                let head = crate::store::read::head(&mut conn, pk).map_err(|e| e.to_string())?;
                if head.is_none_or(|h| h.kind != crate::model::Kind::Body.code() || h.deleted) {
                    return Err(format!("--body {pk}: the store has no live Body {pk}"));
                }
            }
            let (revision, objects) = export_to(&mut conn, &urls, args.body, &args.file)?;
            tracing::info!(
                revision,
                objects,
                seconds = format!("{:.1}", started.elapsed().as_secs_f64()),
                "exported"
            );
            Ok(())
        }
        Command::Serve(args) => {
            let listen: SocketAddr = args.listen.parse().map_err(|e| {
                format!(
                    "--listen / OPARL_LISTEN: `{}` is not an address:port ({e})",
                    args.listen
                )
            })?;
            let base = match &args.base_url {
                Some(base) => base.clone(),
                None if listen.ip().is_unspecified() => {
                    return Err(format!(
                        "--base-url / OPARL_BASE_URL: required when listening on {listen}, \
                         because ids must name a host clients can reach"
                    ))
                }
                None => format!("http://{listen}/oparl/v1.1"),
            };
            let urls = Urls::new(&base).map_err(|e| format!("--base-url / OPARL_BASE_URL: {e}"))?;
            let dcat = crate::dcat::DcatSettings {
                publisher_uri: args.dcat_publisher_uri.clone(),
                publisher_name: args.dcat_publisher_name.clone(),
                contributor_id: args.dcat_contributor_id.clone(),
                accrual_periodicity: args.dcat_accrual_periodicity.clone(),
            };
            dcat.validate()?;
            let db = open(!args.no_migrate)?;
            prepare_store(&db, args.demo)?;
            drop(db);
            // Served from a pool whose statements are bounded by the time
            // limit; the demo city above was written without that bound.
            let limit = std::time::Duration::from_millis(args.request_timeout_ms);
            let db = Db::open_with(&cli.database_url, false, crate::db::Limits::serving(limit))
                .map_err(|e| format!("--database-url / OPARL_DATABASE_URL: {e}"))?;
            if args.freshness == "notified" && !db.use_change_notifications() {
                tracing::info!(
                    "--freshness notified: SQLite's checks are exact and cost no query; ignored"
                );
            }
            let mut state = AppState::new(db, urls, args.cache_mb * 1024 * 1024)
                .with_max_stale(std::time::Duration::from_millis(args.max_stale_ms))
                .with_time_limit(limit)
                .with_dcat(dcat)
                .with_writes(crate::api::write::WriteSettings {
                    max_body_bytes: args.max_body_mb << 20,
                    max_file_bytes: args.max_file_mb << 20,
                    cors_origins: args
                        .write_cors_origins
                        .iter()
                        .map(|o| o.trim().trim_end_matches('/').to_string())
                        .filter(|o| !o.is_empty())
                        .collect(),
                    auth_failures_per_minute: args.auth_failures_per_minute,
                });
            let mut every = None;
            if args.dump_every_secs > 0 {
                let dumps = crate::dumps::Dumps::new(&args.dump_dir)
                    .map_err(|e| format!("--dump-dir / OPARL_DUMP_DIR: {e}"))?;
                state = state.with_dumps(Arc::new(dumps));
                every = Some(std::time::Duration::from_secs(args.dump_every_secs));
            }
            serve(state, listen, every)
        }
    }
}

/// `oparl check`: exit status 0 only without MUST findings (or, with
/// --strict, without SHOULD findings).
fn check(args: &CheckArgs) -> Result<(), String> {
    use oparl_conformance::{fetch::FetchOptions, CheckOptions};
    url::Url::parse(&args.system_url)
        .map_err(|e| format!("`{}` is not a URL: {e}", args.system_url))?;
    let opts = CheckOptions {
        fetch: FetchOptions {
            concurrency: args.concurrency.into(),
            timeout: std::time::Duration::from_secs(args.timeout.max(1)),
            retries: args.retries,
            ..FetchOptions::default()
        },
        max_objects: args.max_objects,
        max_files: args.max_files,
        progress: true,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    // On a task of its own, so that a panic in the checker ends in a
    // message and a failed exit, not in an abort without a report.
    let url = args.system_url.clone();
    let report = runtime
        .block_on(runtime.spawn(async move { oparl_conformance::check(&url, opts).await }))
        .map_err(|e| {
            format!(
                "the check of {} stopped: internal error: {e}",
                args.system_url
            )
        })?;
    print!("{}", report.text(args.examples));
    if let Some(path) = &args.json {
        std::fs::write(path, report.json())
            .map_err(|e| format!("--json {}: {e}", path.display()))?;
    }
    match report.exit_code(args.strict) {
        0 => Ok(()),
        2 => Err(format!(
            "the check of {} did not finish (internal errors listed above)",
            args.system_url
        )),
        _ => Err(format!("{} violates OParl 1.1", args.system_url)),
    }
}

/// Make sure a System exists, and seed the demo when asked and empty.
fn prepare_store(db: &Db, demo: bool) -> Result<(), String> {
    let mut conn = db.conn().map_err(|e| e.to_string())?;
    let empty = demo::store_is_empty(&mut conn).map_err(|e| e.to_string())?;
    drop(conn);
    if demo && empty {
        generate(db, DemoOptions::default())?;
    }
    let mut conn = db.conn().map_err(|e| e.to_string())?;
    let mut fields = Map::new();
    fields.insert("name".into(), "OParl".into());
    if read::system(&mut conn)
        .map_err(|e| e.to_string())?
        .is_none()
    {
        write::change(&mut conn, |c| c.ensure_system(&fields, crate::time::now()))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn generate(db: &Db, opts: DemoOptions) -> Result<(), String> {
    let started = Instant::now();
    let mut conn = db.conn().map_err(|e| e.to_string())?;
    demo::generate(&mut conn, opts).map_err(|e| e.to_string())?;
    let counts = read::count_by_kind(&mut conn).map_err(|e| e.to_string())?;
    let total: i64 = counts.iter().map(|(_, live, deleted)| live + deleted).sum();
    tracing::info!(
        objects = total,
        seconds = format!("{:.1}", started.elapsed().as_secs_f64()),
        "demo city generated"
    );
    for (kind, live, deleted) in counts {
        println!("{:<16} {live:>9} {deleted:>4} deleted", kind.name());
    }
    Ok(())
}

fn serve(
    state: AppState,
    listen: SocketAddr,
    dump_every: Option<std::time::Duration>,
) -> Result<(), String> {
    // glibc gives every thread that allocates its own arena and keeps freed
    // memory in it; with the runtime's blocking threads that held several
    // hundred MB after a large harvest. Two arenas are plenty for two cores.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator tunable; called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        // Buffers of a megabyte and more (pages of large objects, database
        // results) come from mmap and go back to the system when freed;
        // glibc would otherwise raise this threshold after the first such
        // buffer and keep later ones in the heap.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Database work is gated to the pool size (db::Db::run); more blocking
        // threads would only add memory.
        .max_blocking_threads(32)
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("--listen / OPARL_LISTEN: cannot listen on {listen}: {e}"))?;
        tracing::info!(system = %state.urls.system(), %listen, backend = ?state.db.backend(), "serving OParl 1.1");
        let state = Arc::new(state);
        if let (Some(dumps), Some(every)) = (&state.dumps, dump_every) {
            tokio::spawn(crate::dumps::keep_current(
                Arc::clone(dumps),
                state.db.clone(),
                state.urls.clone(),
                every,
            ));
        }
        crate::server::serve(state, listener, crate::server::shutdown_signal())
            .await
            .map_err(|e| e.to_string())
    })
}

/// `oparl export`: to standard output, or to a file that appears only once
/// it is complete (written beside it, then renamed), gzip-compressed when
/// its name ends in `.gz`.
fn export_to(
    conn: &mut crate::db::AnyConnection,
    urls: &Urls,
    body: Option<i64>,
    file: &std::path::Path,
) -> Result<(i64, u64), String> {
    use std::io::Write;
    if file.as_os_str() == "-" {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        return crate::export::export(conn, urls, body, &mut out, file).map_err(|e| e.to_string());
    }
    let mut tmp_name = file.as_os_str().to_owned();
    tmp_name.push(".part");
    let tmp = std::path::PathBuf::from(tmp_name);
    let written = (|| {
        let f = std::fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
        let buffered = std::io::BufWriter::with_capacity(1 << 20, f);
        let gzip = file.extension().is_some_and(|e| e == "gz");
        let io = |e: std::io::Error| format!("{}: {e}", tmp.display());
        let counts = if gzip {
            let mut gz = flate2::write::GzEncoder::new(buffered, flate2::Compression::default());
            let counts = crate::export::export(conn, urls, body, &mut gz, file)
                .map_err(|e| e.to_string())?;
            gz.finish()
                .map_err(io)?
                .into_inner()
                .map_err(|e| io(e.into_error()))?
                .sync_all()
                .map_err(io)?;
            counts
        } else {
            let mut out = buffered;
            let counts = crate::export::export(conn, urls, body, &mut out, file)
                .map_err(|e| e.to_string())?;
            out.flush().map_err(io)?;
            out.into_inner()
                .map_err(|e| io(e.into_error()))?
                .sync_all()
                .map_err(io)?;
            counts
        };
        std::fs::rename(&tmp, file).map_err(|e| format!("{}: {e}", file.display()))?;
        Ok(counts)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// `oparl token ...`.
fn token(db: &Db, command: TokenCommand) -> Result<(), String> {
    use crate::store::tokens;
    let mut conn = db.conn().map_err(|e| e.to_string())?;
    match command {
        TokenCommand::Create(args) => {
            if args.name.trim().is_empty() {
                return Err("--name: a token needs a name".into());
            }
            for pk in &args.bodies {
                let head = read::head(&mut conn, *pk).map_err(|e| e.to_string())?;
                if head.is_none_or(|h| h.kind() != crate::model::Kind::Body || h.deleted) {
                    return Err(format!("--body {pk}: the store has no live Body {pk}"));
                }
            }
            let (id, secret) = tokens::create(
                &mut conn,
                args.name.trim(),
                &args.bodies,
                args.read_only,
                crate::time::now(),
            )
            .map_err(|e| e.to_string())?;
            eprintln!("token {id} created; its secret is shown this once only:");
            println!("{secret}");
            Ok(())
        }
        TokenCommand::List => {
            println!("id\tname\tbodies\tread-only\tcreated\trevoked");
            for t in tokens::list(&mut conn).map_err(|e| e.to_string())? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    t.id,
                    t.name,
                    if t.bodies.is_empty() {
                        "all"
                    } else {
                        &t.bodies
                    },
                    if t.read_only { "yes" } else { "no" },
                    crate::time::format_datetime(t.created),
                    t.revoked
                        .map(crate::time::format_datetime)
                        .unwrap_or_default()
                );
            }
            Ok(())
        }
        TokenCommand::Revoke { id } => {
            if tokens::revoke(&mut conn, id, crate::time::now()).map_err(|e| e.to_string())? {
                println!("token {id} revoked");
                Ok(())
            } else {
                Err(format!("no token {id} that is not revoked already"))
            }
        }
    }
}

/// `oparl audit`: one line per object written, oldest first.
fn audit(db: &Db, args: &AuditArgs) -> Result<(), String> {
    let since = match &args.since {
        Some(s) => Some(crate::time::parse_filter(s).map_err(|e| format!("--since: {e}"))?),
        None => None,
    };
    let mut conn = db.conn().map_err(|e| e.to_string())?;
    let entries = crate::store::audit::entries(&mut conn, since, args.token.as_deref())
        .map_err(|e| e.to_string())?;
    println!("time\ttoken\trevision\toperation\ttype\tobject");
    for e in entries {
        let kind = crate::model::Kind::from_code(e.kind).map_or("?", |k| k.name());
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            crate::time::format_datetime(e.at),
            e.token,
            e.revision,
            e.operation,
            kind,
            e.object_pk
        );
    }
    Ok(())
}
