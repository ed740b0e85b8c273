//! The batch reads the rendering is built on (`store::read::objects`,
//! `links_from`, `links_to_grouped`) over lists of every size: each list
//! travels as one bound text (`db::in_list`), so an empty list, a list of
//! one and a list longer than any parameter limit must all find exactly
//! the rows asked for, on both backends, and a cached statement must not
//! answer a later list with an earlier one's rows.

use crate::support::*;
use oparl::model::{Kind, RELS};
use oparl::store::read;

#[test]
fn batch_reads_find_exactly_the_rows_asked_for_at_any_length() {
    each_backend(true, |app| async move {
        let label = app.label();
        let mut conn = app.conn();
        let (all, _) = read::objects_after(&mut conn, 0, 100_000).unwrap();
        let pks: Vec<i64> = all.iter().map(|r| r.pk).collect();
        assert!(
            pks.len() > 5_000,
            "{label}: the demo city holds {} objects",
            pks.len()
        );

        assert!(read::objects(&mut conn, &[]).unwrap().is_empty(), "{label}");
        assert!(
            read::links_from(&mut conn, &[]).unwrap().is_empty(),
            "{label}"
        );
        for n in [1, 2, 899, 901, pks.len()] {
            // Every other pk, and one that no object has.
            let mut asked: Vec<i64> = pks.iter().copied().step_by(2).take(n).collect();
            asked.push(i64::MAX - 1);
            let mut got: Vec<i64> = read::objects(&mut conn, &asked)
                .unwrap()
                .iter()
                .map(|r| r.pk)
                .collect();
            got.sort_unstable();
            asked.pop();
            assert_eq!(got, asked, "{label}: objects of {n} pks");
            let heads: Vec<i64> = read::heads(&mut conn, &asked)
                .unwrap()
                .iter()
                .map(|h| h.pk)
                .collect();
            assert_eq!(heads.len(), asked.len(), "{label}: heads of {n} pks");
            let links = read::links_from(&mut conn, &asked).unwrap();
            assert!(
                links
                    .iter()
                    .all(|l| asked.binary_search(&l.from_pk).is_ok()),
                "{label}"
            );
        }
        // The same statement again with a shorter list: no row of the
        // longer one comes back.
        let one = vec![pks[0]];
        assert_eq!(read::objects(&mut conn, &one).unwrap().len(), 1, "{label}");

        // Back-references asked per kind, each with the fields that point
        // at it, find what one query of every field for every object finds.
        let fields = |kind: Kind| -> Vec<i16> {
            RELS.iter()
                .filter(|r| r.back.is_some() && r.target == kind)
                .map(|r| r.code)
                .collect()
        };
        let groups: Vec<(Vec<i64>, Vec<i16>)> = Kind::ALL
            .into_iter()
            .map(|kind| {
                let of_kind = all.iter().filter(|r| r.kind() == kind && !r.deleted);
                (of_kind.map(|r| r.pk).collect(), fields(kind))
            })
            .collect();
        let grouped = read::links_to_grouped(&mut conn, &groups).unwrap();
        let every_field: Vec<i16> = RELS
            .iter()
            .filter(|r| r.back.is_some())
            .map(|r| r.code)
            .collect();
        let live: Vec<i64> = all.iter().filter(|r| !r.deleted).map(|r| r.pk).collect();
        let each = read::links_to(&mut conn, &live, &every_field).unwrap();
        let key = |v: &Vec<(read::LinkRow, bool)>| {
            let mut k: Vec<(i64, i16, i64, i32, bool)> = v
                .iter()
                .map(|(l, d)| (l.to_pk, l.field, l.from_pk, l.position, *d))
                .collect();
            k.sort_unstable();
            k
        };
        assert!(
            !each.is_empty(),
            "{label}: the demo's Papers have consultations"
        );
        assert_eq!(key(&grouped), key(&each), "{label}");
    });
}

/// Every statement of ours reads a bounded number of rows through an
/// index; PostgreSQL's parallel workers and JIT compilation only add time
/// to them (see `db::Opener::open`), and an estimate far above the rows
/// found once made the change feed's back-references spend 4 ms compiling.
/// Both stay off on every connection the server uses.
#[test]
fn postgresql_connections_plan_without_parallel_workers_or_jit() {
    each_backend(false, |app| async move {
        use diesel::RunQueryDsl;
        let mut conn = app.conn();
        let oparl::db::AnyConnection::Postgres(pg) = &mut *conn else {
            return;
        };
        #[derive(diesel::QueryableByName)]
        struct Setting {
            #[diesel(sql_type = diesel::sql_types::Text)]
            value: String,
        }
        for (name, off) in [("jit", "off"), ("max_parallel_workers_per_gather", "0")] {
            let shown: Setting =
                diesel::sql_query(format!("SELECT current_setting('{name}') AS value"))
                    .get_result(pg)
                    .unwrap();
            assert_eq!(shown.value, off, "{name}");
        }
    });
}
