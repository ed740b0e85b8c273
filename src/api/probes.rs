//! Probes for load balancers and orchestrators, on paths that no OParl URL
//! can take (`/-/…`: no route of the API starts with a `-` segment, and
//! they sit at the root of the host, outside the base path):
//!
//! - `GET /-/health`: the database answers (200), or not (503);
//! - `GET /-/ready`: healthy and every migration of this version applied,
//!   so a load balancer sends no request to an instance whose schema is not
//!   there yet (another instance migrating, or a rolling upgrade with
//!   `--no-migrate` ahead of the migration).
//!
//! - `GET /-/metrics`: Prometheus metrics (see `metrics`).
//!
//! The probes answer a small JSON object; nothing here is cached.

use super::{AppState, Body};
use bytes::Bytes;
use hyper::{header, Response, StatusCode};
use serde_json::json;

/// The probe paths.
pub const HEALTH: &str = "/-/health";
pub const READY: &str = "/-/ready";
/// Prometheus metrics (see `metrics`).
pub const METRICS: &str = "/-/metrics";

/// The metrics in Prometheus' text format.
pub async fn metrics(state: &AppState) -> Response<Body> {
    let revision = state.db.run(crate::store::read::revision).await.ok();
    let mut text = crate::metrics::get().render(state.db.pool_state(), revision);
    // 1 while a connection listens for change notifications
    // (`--freshness notified`); 0 means exact checks answer.
    text.push_str(&format!(
        "# HELP oparl_listening_for_changes Whether change notifications are heard now (--freshness notified).\n\
         # TYPE oparl_listening_for_changes gauge\noparl_listening_for_changes {}\n",
        u8::from(state.db.listening_for_changes())
    ));
    let mut response = Response::new(Body::from(Bytes::from(text)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

/// Answer a probe.
pub async fn answer(state: &AppState, ready: bool) -> Response<Body> {
    let checked = state
        .db
        .run(move |conn| {
            let revision = crate::store::read::revision(conn)?;
            let pending = if ready {
                crate::db::pending_migrations(conn)?
            } else {
                0
            };
            Ok((revision, pending))
        })
        .await;
    let (status, body) = match checked {
        Ok((revision, 0)) => (
            StatusCode::OK,
            json!({ "status": "ok", "database": "ok", "revision": revision }),
        ),
        Ok((revision, pending)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "status": "migrations pending", "database": "ok", "revision": revision,
                    "pendingMigrations": pending }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "probe: the database does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "status": "database unavailable", "database": e.to_string() }),
            )
        }
    };
    let mut response = Response::new(Body::from(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}
