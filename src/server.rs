//! The accept loop: HTTP/1.1 with keep-alive and HTTP/2 (prior knowledge) on
//! one port, one log line per request, and graceful shutdown (in-flight
//! requests finish; new connections are refused).

use crate::api::{self, error::ApiError, AppState};
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// How long shutdown waits for open connections before giving up on them.
const GRACE: Duration = Duration::from_secs(30);

/// Serve until `shutdown` resolves.
pub async fn serve(
    state: Arc<AppState>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        // Out of file descriptors and the like: wait, go on.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let state = Arc::clone(&state);
                let client = api::write::ClientAddr(peer.ip());
                let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                    // The write API limits failed authentications per address.
                    req.extensions_mut().insert(client);
                    respond(Arc::clone(&state), req)
                });
                let conn = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service);
                let conn = graceful.watch(conn.into_owned());
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!("shutting down: waiting for open requests");
    if tokio::time::timeout(GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after {GRACE:?}");
    }
    Ok(())
}

/// Answer one request, log it, and turn a panic into a 500 Error object.
async fn respond(
    state: Arc<AppState>,
    req: Request<Incoming>,
) -> Result<hyper::Response<api::Body>, Infallible> {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let route = api::route::label(&state.urls, &path);
    // Run in place (a task per request would cost a spawn and a wake-up on
    // every answer), pinned inside this future rather than boxed (hyper
    // keeps one slot per connection for it; a box was an allocation of the
    // whole handler's state on every request); a panic still becomes a 500
    // and the connection lives on.
    let handling = std::pin::pin!(api::handle(state, req));
    let response = match CatchUnwind(handling).await {
        Ok(response) => response,
        Err(panic) => {
            let e = crate::text::panic_message(panic.as_ref());
            tracing::error!(error = %e, %method, %path, "request handler panicked");
            api::error_response(&ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Interner Fehler des Servers.",
                "the request handler failed",
            ))
        }
    };
    crate::metrics::get().request(route, response.status().as_u16(), start.elapsed());
    tracing::info!(
        %method,
        %path,
        status = response.status().as_u16(),
        ms = format!("{:.1}", start.elapsed().as_secs_f64() * 1000.0),
        "request"
    );
    Ok(response)
}

/// A future that turns a panic while it is polled into an error. It is not
/// polled again after that.
struct CatchUnwind<'a, F>(std::pin::Pin<&'a mut F>);

impl<F: Future> Future for CatchUnwind<'_, F> {
    type Output = Result<F::Output, Box<dyn std::any::Any + Send>>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let inner = self.0.as_mut();
        // The handler shares nothing that a panic could leave half-changed:
        // its caches are behind mutexes that recover from poisoning.
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Ok(std::task::Poll::Ready(v)) => std::task::Poll::Ready(Ok(v)),
            Err(panic) => std::task::Poll::Ready(Err(panic)),
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
