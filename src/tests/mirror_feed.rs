//! `oparl import` of a server of this kind: the first run loads its dump
//! and reads its change feed after the dump's revision, later runs read
//! only the feed after the revision the last run reached; a mirror of that
//! mirror is as exact, through several rounds of changes with deletions
//! and a restored object whose `modified` lies in the past. `oparl export`
//! writes the dump format, and a mirror made from such a file follows the
//! feed its header names.

use crate::changes::{live_papers, rename};
use crate::fixtures::serve_api;
use crate::import::{assert_mirrors, counts, import, options};
use crate::support::*;
use diesel::prelude::*;
use oparl::db::schema::{import_source, object};
use oparl::dumps::Dumps;
use oparl::import::Outcome;
use oparl::model::Kind;
use oparl::store::{read, write};
use oparl::urls::Urls;
use serde_json::{Map, Value};
use std::sync::Arc;

/// A store served on a loopback port with dumps, as `oparl serve` does.
struct Served {
    base: String,
    urls: Urls,
    dumps: Arc<Dumps>,
}

impl Served {
    async fn start(app: &TestApp, name: &str) -> Served {
        let (state, dumps) = state_with_dumps(app, name);
        let base = serve_api(&state, None).await;
        let urls = Urls::new(&base).unwrap().with_dumps();
        Served { base, urls, dumps }
    }

    /// Build the dumps now, as the server's background task does.
    fn build(&self, app: &TestApp) -> i64 {
        self.dumps.build(app.store.db(), &self.urls).unwrap()
    }
}

/// What a store remembers of its sources' feeds: (feed URL, revision).
fn feed_state(app: &TestApp) -> Vec<(Option<String>, Option<i64>)> {
    import_source::table
        .order(import_source::id)
        .select((import_source::feed_url, import_source::feed_revision))
        .load(&mut *app.conn())
        .unwrap()
}

/// The n-th live object of a kind, by pk.
fn live(app: &TestApp, kind: Kind, n: i64) -> i64 {
    object::table
        .filter(object::kind.eq(kind.code()))
        .filter(object::deleted.eq(false))
        .order(object::pk)
        .offset(n)
        .select(object::pk)
        .first(&mut *app.conn())
        .unwrap()
}

/// One round of changes to a source: a renamed paper, a new paper with a
/// main file, a deleted agenda item and person, and (when `restore` names
/// one) a deleted paper that comes back with a `modified` long past.
fn change_source(app: &TestApp, round: i64, at: i64, restore: Option<i64>) {
    let papers = live_papers(app);
    let body = papers[0].1.unwrap();
    rename(app, papers[round as usize].0, &format!("Runde {round}"), at);
    let mut paper = Map::new();
    paper.insert("name".into(), format!("Neue Vorlage {round}").into());
    let mut file = Map::new();
    file.insert("name".into(), format!("Anlage {round}").into());
    file.insert("accessUrl".into(), "https://files.example/a.pdf".into());
    let main_file = oparl::model::rel(Kind::Paper, "mainFile").code;
    write::change(&mut app.conn(), |c| {
        let new = c.create(Kind::Paper, Some(body), &paper, at)?;
        let file = c.create(Kind::File, Some(body), &file, at)?;
        c.add_link(new, main_file, file, at)
    })
    .unwrap();
    assert!(app.delete(live(app, Kind::AgendaItem, 3 + round), at));
    assert!(app.delete(live(app, Kind::Person, 1 + round), at));
    if let Some(pk) = restore {
        let fields: Map<String, Value> =
            serde_json::from_str(&read::object(&mut app.conn(), pk).unwrap().unwrap().fields)
                .unwrap();
        let fields = write::Fields::new(Kind::Paper, &fields);
        write::change(&mut app.conn(), |c| {
            c.overwrite(pk, Some(body), 1_000_000_000, 1_000_000_100, &fields)
        })
        .unwrap();
    }
}

#[test]
fn a_mirror_of_a_mirror_follows_dump_and_feed_exactly() {
    for kind in backends() {
        let rt = multi_thread_runtime();
        let a = TestApp::new(TestStore::new(kind), true);
        let b = a.empty_sibling();
        let c = a.empty_sibling();
        let label = a.label();
        rt.block_on(async {
            let served_a = Served::start(&a, "a").await;
            let fetcher = oparl_conformance::fetch::Fetcher::new(&Default::default()).unwrap();
            let system = oparl::import::harvest::fetch_json(&fetcher, &served_a.base)
                .await
                .unwrap();
            assert_eq!(
                system["server:dump"],
                format!("{}/dump", served_a.base),
                "[{label}]"
            );
            let dumped_at = served_a.build(&a);
            // Changes after A's dump was built reach B through the feed.
            let t = oparl::time::now() + 10;
            let papers = live_papers(&a);
            let gone = papers[9].0;
            rename(&a, papers[8].0, "Nach dem Abzug", t);
            assert!(a.delete(gone, t));

            let (outcome, report) = import(&b, options(&served_a.base)).await.unwrap();
            assert_eq!(outcome, Outcome::Complete, "[{label}] {}", report.summary());
            assert_eq!(report.deleted, 0, "[{label}] {}", report.summary());
            assert_mirrors(&a, &served_a.base, &b);
            let a_revision = read::revision(&mut a.conn()).unwrap();
            assert!(a_revision > dumped_at, "[{label}]");
            assert_eq!(
                feed_state(&b),
                vec![(Some(format!("{}/changes", served_a.base)), Some(a_revision))],
                "[{label}] B continues after A's revision"
            );

            // C mirrors B, from B's own dump and feed.
            let served_b = Served::start(&b, "b").await;
            served_b.build(&b);
            let (outcome, report) = import(&c, options(&served_b.base)).await.unwrap();
            assert_eq!(outcome, Outcome::Complete, "[{label}] {}", report.summary());
            assert_mirrors(&b, &served_b.base, &c);

            for round in 0..3 {
                let at = t + 10 * (round + 1);
                change_source(&a, round, at, (round == 1).then_some(gone));
                let (outcome, report) = import(&b, options(&served_a.base)).await.unwrap();
                assert_eq!(outcome, Outcome::Complete, "[{label}] {}", report.summary());
                assert_eq!(
                    report.created,
                    2,
                    "[{label}] round {round}: {}",
                    report.summary()
                );
                assert!(
                    report.deleted >= 2,
                    "[{label}] round {round}: {}",
                    report.summary()
                );
                assert!(
                    report.created + report.changed + report.deleted + report.unchanged < 200,
                    "[{label}] round {round} read only what changed: {}",
                    report.summary()
                );
                assert_mirrors(&a, &served_a.base, &b);
                if round == 1 {
                    // A newer dump of B changes nothing for C, which follows
                    // B's feed.
                    served_b.build(&b);
                }
                let (outcome, report) = import(&c, options(&served_b.base)).await.unwrap();
                assert_eq!(outcome, Outcome::Complete, "[{label}] {}", report.summary());
                assert_mirrors(&b, &served_b.base, &c);
            }
            let restored = a.json(&format!("{BASE}/paper/{gone}")).await;
            assert!(restored.get("deleted").is_none(), "[{label}] restored in A");
            let (a_counts, c_counts) = (counts(&a), counts(&c));
            for kind in ["Paper", "File", "Person", "AgendaItem", "Meeting"] {
                assert_eq!(a_counts[kind].0, c_counts[kind].0, "[{label}] live {kind}");
            }
            // Nothing new: a run reads an empty feed page and writes nothing.
            let (outcome, report) = import(&c, options(&served_b.base)).await.unwrap();
            assert_eq!(outcome, Outcome::Complete, "[{label}]");
            assert_eq!(
                report.created + report.changed + report.deleted + report.unchanged,
                0,
                "[{label}] {}",
                report.summary()
            );
        });
    }
}

#[test]
fn an_exported_file_is_a_dump_and_its_mirror_follows_the_feed_it_names() {
    for kind in backends() {
        let rt = multi_thread_runtime();
        let a = TestApp::new(TestStore::new(kind), true);
        let b = a.empty_sibling();
        let label = a.label();
        rt.block_on(async {
            let served_a = Served::start(&a, "export").await;
            let dir = temp_dir("export-file", label);
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("a.jsonl.gz");
            {
                let file = std::fs::File::create(&path).unwrap();
                let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
                oparl::export::export(&mut a.conn(), &served_a.urls, None, &mut gz, &path).unwrap();
                gz.finish().unwrap();
            }
            let exported_at = read::revision(&mut a.conn()).unwrap();
            let mut text = String::new();
            use std::io::Read;
            flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
                .read_to_string(&mut text)
                .unwrap();
            let header: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
            assert_eq!(header["type"], "server:Dump", "[{label}]");
            assert_eq!(header["server:revision"], exported_at, "[{label}]");
            assert_eq!(
                header["server:changes"],
                format!("{}/changes", served_a.base),
                "[{label}]"
            );
            // Every object once, in its standalone form with its revision.
            let objects = read::count_by_kind(&mut a.conn())
                .unwrap()
                .iter()
                .map(|(_, live, deleted)| live + deleted)
                .sum::<i64>();
            assert_eq!(text.lines().count() as i64, objects + 1, "[{label}]");

            let source = path.display().to_string();
            let (outcome, report) = import(&b, options(&source)).await.unwrap();
            assert_eq!(outcome, Outcome::Complete, "[{label}] {}", report.summary());
            assert_mirrors(&a, &served_a.base, &b);
            assert_eq!(
                feed_state(&b)[0].1,
                Some(exported_at),
                "[{label}] the header's revision is kept"
            );
            // Later runs of the same source follow A's feed, not the file.
            let at = oparl::time::now() + 10;
            change_source(&a, 0, at, None);
            let (outcome, report) = import(&b, options(&source)).await.unwrap();
            assert_eq!(outcome, Outcome::Complete, "[{label}] {}", report.summary());
            assert_eq!(report.created, 2, "[{label}] {}", report.summary());
            assert_mirrors(&a, &served_a.base, &b);

            // A file that says it is a dump but whose header is broken is
            // refused, naming the file, and nothing is written.
            let broken = dir.join("broken.jsonl");
            std::fs::write(
                &broken,
                "{\"type\":\"server:Dump\",\"server:revision\":\"x\"}\n",
            )
            .unwrap();
            let c = a.empty_sibling();
            let before = counts(&c);
            let err = import(&c, options(&broken.display().to_string()))
                .await
                .unwrap_err();
            assert!(err.contains("broken.jsonl"), "[{label}] {err}");
            assert!(err.contains("dump header"), "[{label}] {err}");
            assert_eq!(counts(&c), before, "[{label}]");
            let _ = std::fs::remove_dir_all(&dir);
        });
    }
}
