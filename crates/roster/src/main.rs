//! The `roster` command: `serve`, `init`, `token`.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use rand::distributions::{Alphanumeric, DistString};
use roster::{create_account, open_store, serve, CreatedAccount};
use roster_api::auth::issue_token;
use roster_api::rate_limit::RateLimits;
use roster_api::ApiConfig;
use roster_domain::Error;
use roster_store::{PoolConfig, SqliteSynchronous};
use serde_json::json;
use tokio::net::TcpListener;

#[derive(Parser)]
#[command(
    name = "roster",
    version,
    about = "Roster: user, permission and settings administration (DocuSign v2.1 and Akana wire protocols)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (creates the first account on an empty database).
    Serve(ServeArgs),
    /// Create an account and its administrator; prints one JSON line.
    Init(InitArgs),
    /// Print a new access token for a user.
    Token(TokenArgs),
    /// Bring the database schema up to date (serve does this at start too).
    Migrate(MigrateArgs),
    /// Copy a SQLite database consistently while Roster serves it.
    Backup(BackupArgs),
}

#[derive(Args)]
struct MigrateArgs {
    #[command(flatten)]
    db: DatabaseArgs,
}

#[derive(Args)]
struct BackupArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    /// The file to write (must not exist). Restore by starting Roster on it.
    #[arg(long)]
    to: String,
}

#[derive(Args)]
struct DatabaseArgs {
    /// sqlite://FILE (created if missing) or postgres://USER@HOST:PORT/DB
    #[arg(long, env = "ROSTER_DATABASE_URL", default_value = "sqlite://roster.db")]
    database: String,
    /// Most database connections in the pool.
    #[arg(long, env = "ROSTER_DB_MAX_CONNECTIONS", default_value_t = 8)]
    db_max_connections: u32,
    /// Seconds to wait for a database connection before answering 503.
    #[arg(long, env = "ROSTER_DB_ACQUIRE_TIMEOUT", default_value_t = 5)]
    db_acquire_timeout: u64,
    /// SQLite durability: full (every commit on disk before it is acknowledged) or normal.
    #[arg(long, env = "ROSTER_SQLITE_SYNCHRONOUS", default_value = "full")]
    sqlite_synchronous: SqliteSynchronous,
}

impl DatabaseArgs {
    fn pool(&self) -> PoolConfig {
        PoolConfig {
            max_connections: self.db_max_connections.max(1),
            acquire_timeout: Duration::from_secs(self.db_acquire_timeout.max(1)),
            sqlite_synchronous: self.sqlite_synchronous,
        }
    }
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ROSTER_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    #[command(flatten)]
    db: DatabaseArgs,
    /// Lifetime of access tokens, in seconds.
    #[arg(long, env = "ROSTER_TOKEN_TTL", default_value_t = 8 * 3600)]
    token_ttl: i64,
    /// Public base URL announced as `base_uri` by /oauth/userinfo (default: from the Host header).
    #[arg(long, env = "ROSTER_PUBLIC_URL")]
    public_url: Option<String>,
    /// Seconds one request may take before it is answered 408.
    #[arg(long, env = "ROSTER_REQUEST_TIMEOUT", default_value_t = 30)]
    request_timeout: u64,
    /// Seconds a client may take to send its request headers before it is cut off.
    #[arg(long, env = "ROSTER_HEADER_TIMEOUT", default_value_t = 10)]
    header_timeout: u64,
    /// The site's tenant id (Akana fedmemberid): cookie names and UserIDs `{guid}.{tenant}`.
    #[arg(long, env = "ROSTER_TENANT", default_value = "roster")]
    tenant: String,
    /// Lifetime of Akana session cookies, in seconds.
    #[arg(long, env = "ROSTER_SESSION_TTL", default_value_t = 30 * 60)]
    session_ttl: i64,
    /// API calls allowed per account per hour on the DocuSign routes (off when unset).
    #[arg(long, env = "ROSTER_RATE_LIMIT_HOURLY")]
    rate_limit_hourly: Option<u32>,
    /// API calls allowed per account per 30 seconds (off when unset).
    #[arg(long, env = "ROSTER_RATE_LIMIT_BURST")]
    rate_limit_burst: Option<u32>,
    /// DocuSign's own limits: 3,000 calls an hour and 500 per 30 seconds per account.
    #[arg(long, env = "ROSTER_EMULATE_DOCUSIGN_LIMITS")]
    emulate_docusign_limits: bool,
    /// Name of the account created on first start.
    #[arg(long, env = "ROSTER_ACCOUNT_NAME", default_value = "Roster")]
    account_name: String,
    /// Administrator created on first start.
    #[arg(long, env = "ROSTER_ADMIN_EMAIL", default_value = "admin@localhost")]
    admin_email: String,
    /// Its password; generated and printed once when unset.
    #[arg(long, env = "ROSTER_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
}

#[derive(Args)]
struct InitArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    #[arg(long)]
    account_name: String,
    #[arg(long)]
    admin_email: String,
    #[arg(long, env = "ROSTER_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: String,
    /// Lifetime of the printed access token, in seconds.
    #[arg(long, default_value_t = 8 * 3600)]
    ttl: i64,
}

#[derive(Args)]
struct TokenArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    #[arg(long)]
    email: String,
    /// Lifetime of the token, in seconds.
    #[arg(long, default_value_t = 8 * 3600)]
    ttl: i64,
}

/// jemalloc serves Rust's allocations and, unprefixed, SQLite's. glibc's
/// malloc cost a settings PUT a fifth of the runtime threads' time (arena
/// locks shared with the writer thread, and consolidating freed chunks);
/// with jemalloc's per-thread caches a request executes 15-29 % fewer
/// instructions (callgrind; `bench/README.md`).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, read at its first allocation. Its defaults (eight
/// arenas on two cores, freed pages kept ten seconds) reached 98 MB at the
/// peak of a 1,000,000-user benchmark, two arenas 95-96 MB, and one arena
/// 92-93 MB, as fast (the per-thread caches take most allocations), against
/// a 100 MB target for the process; `MALLOC_CONF` overrides them.
#[cfg(not(target_env = "msvc"))]
#[used]
#[export_name = "malloc_conf"]
static MALLOC_CONF: &[u8; 47] = b"narenas:1,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

fn main() -> ExitCode {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime").block_on(run())
}

async fn run() -> ExitCode {
    init_tracing();
    let result = match Cli::parse().command {
        Command::Serve(args) => run_serve(args).await,
        Command::Init(args) => run_init(args).await,
        Command::Token(args) => run_token(args).await,
        Command::Migrate(args) => run_migrate(args).await,
        Command::Backup(args) => run_backup(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::env::var("ROSTER_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run_serve(args: ServeArgs) -> anyhow::Result<()> {
    let store = open_store(&args.db.database, &args.db.pool()).await?;
    let listener = TcpListener::bind(&args.listen).await?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    if !store.has_accounts().await? {
        let generated = args.admin_password.is_none();
        let password =
            args.admin_password.clone().unwrap_or_else(|| Alphanumeric.sample_string(&mut rand::rngs::OsRng, 20));
        match create_account(&store, &args.account_name, &args.admin_email, &password, args.token_ttl).await {
            Ok(created) => {
                print_first_start(&base, &args.admin_email, generated.then_some(password.as_str()), &created)
            }
            // Another node initialised the same database first.
            Err(Error::EmailTaken(_)) => {}
            Err(e) => return Err(anyhow::anyhow!("cannot create the first account: {e}")),
        }
    }
    let config = ApiConfig {
        token_ttl_seconds: args.token_ttl,
        public_url: args.public_url,
        request_timeout: Duration::from_secs(args.request_timeout.max(1)),
        header_read_timeout: Duration::from_secs(args.header_timeout.max(1)),
        tenant: args.tenant,
        session_ttl_seconds: args.session_ttl.max(60),
        rate_limits: if args.emulate_docusign_limits {
            RateLimits::DOCUSIGN
        } else {
            RateLimits { hourly: args.rate_limit_hourly, burst: args.rate_limit_burst, ..RateLimits::default() }
        },
    };
    tracing::info!(%addr, database = %redact(&args.db.database), "roster listening");
    println!("roster listening on {base}");
    serve(listener, store, config, shutdown_signal()).await?;
    tracing::info!("roster stopped");
    Ok(())
}

fn print_first_start(base: &str, email: &str, generated_password: Option<&str>, created: &CreatedAccount) {
    let id = created.account.id;
    println!("First start: created account {id} ({}) with administrator {email}.", created.account.name);
    if let Some(password) = generated_password {
        println!("Generated password (shown only now): {password}");
        println!("Get a token:");
        println!("  curl -s {base}/oauth/token -d grant_type=password -d username={email} -d password={password}");
    }
    println!("List the users (this token is valid for 8 hours):");
    println!("  curl -s -H 'Authorization: Bearer {}' {base}/restapi/v2.1/accounts/{id}/users", created.access_token);
}

async fn run_init(args: InitArgs) -> anyhow::Result<()> {
    let store = open_store(&args.db.database, &args.db.pool()).await?;
    let result = create_account(&store, &args.account_name, &args.admin_email, &args.admin_password, args.ttl).await;
    store.close().await;
    let created = result.map_err(|e| match e {
        Error::EmailTaken(email) => anyhow::anyhow!("a user with email {email} already exists"),
        e => anyhow::anyhow!("{e}"),
    })?;
    let line = json!({
        "accountId": created.account.id.to_string(),
        "accountIdGuid": created.account.guid.to_string(),
        "userId": created.admin.user.id.to_string(),
        "accessToken": created.access_token,
    });
    println!("{line}");
    Ok(())
}

async fn run_token(args: TokenArgs) -> anyhow::Result<()> {
    let store = open_store(&args.db.database, &args.db.pool()).await?;
    let record = store.login_record(&args.email).await?;
    let result = match record {
        Some((user, _, _)) => issue_token(&store, user, args.ttl).await.map_err(anyhow::Error::from),
        None => Err(anyhow::anyhow!("no user with email {}", args.email)),
    };
    store.close().await;
    println!("{}", result?);
    Ok(())
}

async fn run_migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let store = open_store(&args.db.database, &args.db.pool()).await?;
    let version = store.schema_version().await;
    store.close().await;
    println!("database schema at version {}", version?);
    Ok(())
}

async fn run_backup(args: BackupArgs) -> anyhow::Result<()> {
    let store = open_store(&args.db.database, &args.db.pool()).await?;
    let result = store.backup_to(&args.to).await;
    store.close().await;
    result?;
    println!("backup written to {}", args.to);
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown requested; finishing in-flight requests");
}

/// A database URL without its password, for logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
