//! The probes of `api::probes`: `/-/health` says whether the database
//! answers, `/-/ready` also whether every migration of this version is
//! applied; neither is cached, and neither path can be an OParl URL.

use crate::support::*;
use hyper::StatusCode;

#[test]
fn health_and_readiness_follow_the_database_and_its_migrations() {
    each_backend(true, |app| async move {
        let label = app.label();
        let revision = oparl::store::read::revision(&mut app.conn()).unwrap();
        for path in ["/-/health", "/-/ready"] {
            let answer = app.get(path).await;
            assert_eq!(answer.status, StatusCode::OK, "{label} {path}");
            assert_eq!(answer.header("cache-control"), Some("no-store"), "{label}");
            let body = answer.json();
            assert_eq!(body["status"], "ok", "{label} {path}");
            assert_eq!(body["revision"], revision, "{label} {path}");
        }

        // A schema one migration behind this version: healthy, not ready.
        oparl::db::revert_last_migration(&mut app.conn()).unwrap();
        assert_eq!(app.get("/-/health").await.status, StatusCode::OK, "{label}");
        let answer = app.get("/-/ready").await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{label}");
        assert_eq!(answer.json()["pendingMigrations"], 1, "{label}");

        oparl::db::run_migrations(&mut app.conn()).unwrap();
        assert_eq!(app.get("/-/ready").await.status, StatusCode::OK, "{label}");
    });
}
