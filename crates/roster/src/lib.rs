//! Start-up and shutdown of a Roster server, shared by the binary and the
//! black-box tests (which start the real server on port 0).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::body::Body;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use roster_api::auth::{hash_password, issue_token};
use roster_api::{router, ApiConfig, AppState};
use roster_domain::model::{Account, Member, NewMember, PersonalNames};
use roster_domain::validate::{required_text, Email, Password, NAME_MAX};
use roster_domain::Error;
use roster_store::{NewAccount, PoolConfig, Store};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt;

/// Connects to the database and brings its schema up to date.
pub async fn open_store(url: &str, pool: &PoolConfig) -> anyhow::Result<Store> {
    let store = Store::connect(url, pool).await.with_context(|| format!("cannot open database {url}"))?;
    store.migrate().await.context("cannot migrate the database")?;
    Ok(store)
}

/// A new account with its administrator, and a token for that administrator.
pub struct CreatedAccount {
    pub account: Account,
    pub admin: Member,
    pub access_token: String,
}

/// Creates an account and its admin (what `roster init` and first start do).
pub async fn create_account(
    store: &Store,
    name: &str,
    admin_email: &str,
    admin_password: &str,
    token_ttl_seconds: i64,
) -> Result<CreatedAccount, Error> {
    let email = Email::parse("admin email", admin_email)?;
    let name = required_text("account name", name, 100)?;
    let password = Password::parse("admin password", admin_password)?;
    let local_part = email.as_str().split('@').next().unwrap_or("admin");
    let user_name = required_text("admin user name", &local_part.chars().take(NAME_MAX).collect::<String>(), NAME_MAX)?;
    let admin = NewMember {
        email,
        user_name,
        names: PersonalNames::default(),
        job_title: None,
        company: None,
        country_code: None,
        work_address: None,
        home_address: None,
        password_hash: Some(hash_password(password).await?),
        status: None,
        profile: None,
        is_admin: true,
        settings: None,
        custom_settings: Vec::new(),
    };
    let (account, admin) = store.create_account(NewAccount { name, admin }).await?;
    let access_token = issue_token(store, admin.user.id, token_ttl_seconds).await?;
    Ok(CreatedAccount { account, admin, access_token })
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Binds `listen` (port 0 picks a free port) and serves until [`Server::stop`].
    pub async fn start(store: Store, listen: &str, config: ApiConfig) -> anyhow::Result<Server> {
        let listener = TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, store, config, async {
            let _ = stopped.await;
        }));
        Ok(Server { addr, shutdown, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets in-flight requests finish, closes the database.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(());
        self.task.await??;
        Ok(())
    }
}

/// Most bytes of request headers a connection buffers (more is refused with 431).
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Serves until `shutdown` resolves, then drains in-flight requests and
/// closes the database (so every acknowledged write is checkpointed).
///
/// The accept loop is hyper-util's rather than `axum::serve` so that slow
/// clients are cut off: request headers must arrive within the configured
/// header read timeout and fit in [`MAX_HEADER_BYTES`]; bodies are bounded by
/// the router's request timeout.
pub async fn serve(
    listener: TcpListener,
    store: Store,
    config: ApiConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let _sole_server = store.lock_for_serving().map_err(std::io::Error::other)?;
    let header_read_timeout = config.header_read_timeout;
    let app = router(AppState::new(store.clone(), config));
    let purge = tokio::spawn(purge_expired(store.clone()));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(header_read_timeout).max_buf_size(MAX_HEADER_BYTES);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone().map_request(|req: Request<Incoming>| req.map(Body::new)));
        let conn = graceful.watch(builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned());
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    purge.abort();
    store.close().await;
    Ok(())
}

/// Forgets expired tokens, sessions, idempotency keys and rate counters every ten minutes.
async fn purge_expired(store: Store) {
    let mut every = tokio::time::interval(Duration::from_secs(600));
    loop {
        every.tick().await;
        if let Err(e) = store.purge_expired().await {
            tracing::warn!(error = %e, "could not purge expired records");
        }
    }
}
