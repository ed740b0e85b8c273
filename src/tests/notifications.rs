//! The notification mode (`oparl serve --freshness notified`, PostgreSQL):
//! kept answers are trusted until a change notification arrives. A change
//! by another server instance or by `oparl import` shows within the
//! notification's delivery; while the listening connection is lost, exact
//! checks answer; once it is back, notifications again. SQLite declines the
//! mode (its exact check costs no query).

use crate::support::*;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use oparl::db::Db;
use oparl::import::ImportOptions;
use oparl::store::{read, write};
use serde_json::{Map, Value};
use std::time::{Duration, Instant};

/// How long a change may take to show in these tests. The bound of the
/// mode is the notification's delivery (milliseconds, measured by the
/// benchmark); this is generous so that a loaded CI host does not fail it.
const BOUND: Duration = Duration::from_secs(3);

/// Set the name of an object as one change of the write path, through a
/// database handle of its own (a second server instance). With `silent`
/// the commit sends no notification (triggers are off for the session:
/// a commit the notification mode cannot know of, which only an exact
/// check sees).
fn rename(other: &Db, pk: i64, name: &str, silent: bool) {
    let mut conn = other.conn().unwrap();
    if silent {
        conn.batch_execute("SET session_replication_role = replica")
            .unwrap();
    }
    let row = read::object(&mut conn, pk).unwrap().unwrap();
    let mut fields: Map<String, Value> = serde_json::from_str(&row.fields).unwrap();
    fields.insert("name".into(), name.into());
    write::change(&mut conn, |c| {
        c.update_fields(pk, &fields, oparl::time::now())
    })
    .unwrap();
    if silent {
        conn.batch_execute("SET session_replication_role = origin")
            .unwrap();
    }
}

/// Ask until the object's name is `name`; how long that took.
async fn shows(app: &TestApp, id: &str, name: &str) -> Duration {
    let start = Instant::now();
    loop {
        if app.json(id).await["name"] == name {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < BOUND,
            "[{}] {name:?} not shown within {BOUND:?}",
            app.label()
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Wait until the store's handle listens (or stops listening).
async fn until_listening(app: &TestApp, wanted: bool) {
    let start = Instant::now();
    while app.store.db().listening_for_changes() != wanted {
        // Asking for the version starts the listener.
        let _ = app.store.db().version().await;
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "[{}] listening did not become {wanted}",
            app.label()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn first_paper(app: &TestApp) -> (String, i64) {
    let bodies = app.json(&format!("{BASE}/body")).await;
    let papers = app.json(bodies["data"][0]["paper"].as_str().unwrap()).await;
    let id = papers["data"][0]["id"].as_str().unwrap().to_string();
    let pk = pk_of(&id);
    (id, pk)
}

/// The PostgreSQL server of this run (OPARL_TEST_POSTGRES) and its admin
/// URL; None when the run has none (the mode exists only there).
fn postgres() -> Option<(BackendKind, String)> {
    let found = backends().into_iter().find_map(|k| match &k {
        BackendKind::Postgres(admin) => Some((k.clone(), admin.clone())),
        BackendKind::Sqlite => None,
    });
    if found.is_none() {
        eprintln!("notification mode: PostgreSQL not configured (OPARL_TEST_POSTGRES)");
    }
    found
}

#[test]
fn sqlite_declines_the_notification_mode_and_stays_exact() {
    let app = TestApp::new(TestStore::new(BackendKind::Sqlite), true);
    assert!(!app.store.db().use_change_notifications());
    multi_thread_runtime().block_on(async {
        let (id, pk) = first_paper(&app).await;
        app.json(&id).await;
        let other = Db::open(&app.store.url, false).unwrap();
        rename(&other, pk, "Gleich sichtbar", false);
        assert_eq!(app.json(&id).await["name"], "Gleich sichtbar");
        assert!(!app.store.db().listening_for_changes());
        let metrics = String::from_utf8(app.get("/-/metrics").await.body.to_vec()).unwrap();
        assert!(
            metrics.contains("\noparl_listening_for_changes 0\n"),
            "{metrics}"
        );
    });
}

#[test]
fn changes_by_another_instance_or_an_import_show_within_the_notification_bound() {
    let Some((kind, _)) = postgres() else {
        return;
    };
    let app = TestApp::new(TestStore::new(kind), true);
    assert!(app.store.db().use_change_notifications());
    multi_thread_runtime().block_on(async {
        until_listening(&app, true).await;
        let metrics = String::from_utf8(app.get("/-/metrics").await.body.to_vec()).unwrap();
        assert!(metrics.contains("\noparl_listening_for_changes 1\n"), "{metrics}");
        let (id, pk) = first_paper(&app).await;
        let before = app.json(&id).await["name"].clone();
        app.json(&id).await;
        let other = Db::open(&app.store.url, false).unwrap();

        // A commit that sends no notification is not seen: the kept answer
        // is trusted without asking (this is what the mode saves).
        rename(&other, pk, "Ohne Nachricht", true);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(app.json(&id).await["name"], before);

        // A change of another instance shows once its notification is in.
        rename(&other, pk, "Von nebenan", false);
        let took = shows(&app, &id, "Von nebenan").await;
        eprintln!("[postgres] a second instance's change showed after {took:?}");

        // So does an import's (its own process and connections).
        let dir = temp_dir("notify-import", "postgres");
        std::fs::create_dir_all(&dir).unwrap();
        let dump = dir.join("dump.jsonl");
        let t = "https://schema.oparl.org/1.1/";
        std::fs::write(
            &dump,
            format!(
                "{{\"id\":\"https://src.test/body/1\",\"type\":\"{t}Body\",\"name\":\"Importstadt\",\"created\":\"2024-01-01T00:00:00+00:00\",\"modified\":\"2024-01-01T00:00:00+00:00\"}}\n"
            ),
        )
        .unwrap();
        let bodies = format!("{BASE}/body");
        let count = app.json(&bodies).await["data"].as_array().unwrap().len();
        let mut opts = ImportOptions::new(dump.to_str().unwrap());
        opts.quiet = true;
        let url = app.store.url.clone();
        // The importer runs a runtime of its own, as `oparl import` does.
        std::thread::spawn(move || {
            let importer = Db::open(&url, false).unwrap();
            oparl::import::run(&importer, &opts).unwrap();
        })
        .join()
        .unwrap();
        let start = Instant::now();
        while app.json(&bodies).await["data"].as_array().unwrap().len() != count + 1 {
            assert!(start.elapsed() < BOUND, "the imported Body does not show");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
fn a_lost_listening_connection_falls_back_to_exact_checks_until_it_is_back() {
    let Some((kind, admin_url)) = postgres() else {
        return;
    };
    // Another database's connection: PostgreSQL refuses to close the one
    // it is connected to.
    let mut admin = diesel::PgConnection::establish(&admin_url).unwrap();
    let app = TestApp::new(TestStore::new(kind.clone()), true);
    assert!(app.store.db().use_change_notifications());
    multi_thread_runtime().block_on(async {
        until_listening(&app, true).await;
        let (id, pk) = first_paper(&app).await;
        app.json(&id).await;
        // A second instance with its connection open before the database
        // stops taking new ones.
        let other = Db::open(&app.store.url, false).unwrap();
        drop(other.conn().unwrap());

        // The database takes no new connections, and the listening one is
        // ended by the server: the listener cannot come back until allowed.
        let database = app.store.url.rsplit('/').next().unwrap().to_string();
        admin
            .batch_execute(&format!(
                "ALTER DATABASE {database} WITH ALLOW_CONNECTIONS false; \
                 SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE application_name = 'oparl change listener' AND datname = '{database}'"
            ))
            .unwrap();
        until_listening(&app, false).await;

        // Meanwhile every answer is exact: even a commit without a
        // notification shows at once.
        rename(&other, pk, "Während der Pause", true);
        assert_eq!(app.json(&id).await["name"], "Während der Pause");

        // The listener connects again by itself once it can, and the mode
        // is back.
        admin
            .batch_execute(&format!(
                "ALTER DATABASE {database} WITH ALLOW_CONNECTIONS true"
            ))
            .unwrap();
        until_listening(&app, true).await;
        app.json(&id).await;
        rename(&other, pk, "Wieder ohne Nachricht", true);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(app.json(&id).await["name"], "Während der Pause");
        rename(&other, pk, "Wieder mit Nachricht", false);
        shows(&app, &id, "Wieder mit Nachricht").await;
    });
}
