//! Every change to the store goes through here, in one place, so that the
//! rules attached to changes hold whoever writes (the demo generator, an
//! import, the tests, the write API):
//!
//! - a change is one transaction with one *revision*, taken from a counter
//!   row as its first statement ([`change`]); every object the change
//!   writes, and every object whose JSON shows it, is stamped with it.
//!   Caches, ETags and page tags key on the revision, never on `modified`,
//!   which has one-second resolution;
//! - `modified` (the published time) moves forward on every change and is
//!   never set back (OParl 1.1, "modified": the time of the last change);
//! - a change to an object also re-stamps every object whose JSON shows it:
//!   the parents that embed it (transitively), the Organization whose
//!   `membership` lists a Membership, and the Files and Locations whose
//!   back-reference arrays name a deleted parent (OParl 1.1 §3, embedded
//!   objects and back-references; §2.8, deleted objects);
//! - deletion keeps a tombstone, removes every reference to the object from
//!   live objects (so no live object ever points at a tombstone), closes
//!   the gaps in arrays (renumbering `AgendaItem.order`), and deletes the
//!   children that exist only inside it;
//! - stored values are normalised ([`Fields`]) on every path.
//!
//! - the full-text index follows every change in its transaction
//!   (`search::index::refresh` over what the change stamped);
//!
//! Functions take the time to stamp explicitly so callers (and tests)
//! control it; an import stamps the source's times.

use super::read::{self, LinkRow, ObjectRow};
use crate::db::schema::{file_content, link, object, store_revision};
use crate::db::{AnyConnection, DbError};
use crate::model::{self, Kind, Shape, MEETING_AGENDA_ITEM, MEMBERSHIP_ORGANIZATION, RELS};
use diesel::prelude::*;
use serde_json::{Map, Value};

/// Run `f` as one change to the store: one transaction, one new revision.
/// Nothing of it is visible before it returns Ok, and nothing stays when
/// it fails.
///
/// The revision is taken first: on PostgreSQL the counter row stays locked
/// until the commit, on SQLite the statement takes the write lock. Writers
/// therefore commit in revision order, and every read inside the change
/// (the next pk, the ids an import already knows) sees what the writer
/// before it committed.
pub fn change<T>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut Change<'_>) -> Result<T, DbError>,
) -> Result<T, DbError> {
    change_with(conn, f)
}

/// [`change`] for a caller with an error type of its own: any `Err` of `f`
/// rolls the whole change back, so a caller can refuse a change it has
/// already half written (the write API does, when it finds a problem in a
/// request while applying it).
pub fn change_with<T, E>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut Change<'_>) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<DbError> + From<diesel::result::Error>,
{
    conn.transaction(|conn| {
        diesel::update(store_revision::table.find(1i16))
            .set(store_revision::value.eq(store_revision::value + 1))
            .execute(conn)?;
        let revision = read::revision(conn)?;
        let mut change = Change {
            conn,
            revision,
            pending: Pending::default(),
            next_pk: None,
            pk_block: PK_BLOCK,
        };
        let out = f(&mut change)?;
        change.flush()?;
        // Last: the full-text index of everything this change stamped,
        // in the same transaction (see `search::index`).
        crate::search::index::refresh(conn, revision)?;
        Ok(out)
    })
}

/// An open change: the only handle through which objects, links and File
/// bytes are written.
///
/// Small inserts (the write API's, one object at a time) wait in
/// `pending` and go to the database together, as one statement, before
/// anything else touches it: every other method, and every read through
/// [`Change::conn`], writes them first, so nothing inside the change ever
/// reads a store without them. A batch of 10,000 new objects is then a few
/// multi-row statements instead of one round trip per object.
pub struct Change<'c> {
    conn: &'c mut AnyConnection,
    revision: i64,
    pending: Pending,
    /// The next pk this change hands out, and (PostgreSQL) the end of the
    /// block of the sequence it took; see [`Change::reserve_pks`].
    next_pk: Option<(i64, i64)>,
    /// The size of the next block it takes from the sequence.
    pk_block: i64,
}

/// Rows inserted but not yet written (see [`Change`]).
#[derive(Default)]
struct Pending {
    objects: Vec<NewObject>,
    links: Vec<LinkRow>,
}

/// Inserts smaller than this wait in [`Pending`], which is written once it
/// holds this many rows; larger ones (an import's, the demo city's) are
/// written at once, after what waits.
const PENDING_ROWS: usize = 2_000;

/// Pks a change takes from PostgreSQL's sequence at a time when it is asked
/// for one (the write API asks for one per new object): first this many,
/// each further block twice the last, up to [`PK_BLOCK_MOST`], so a batch
/// of 10,000 new objects takes seven blocks, not a hundred. Unused ones
/// are left out (a gap in the pks, as a rolled-back change leaves); a
/// change leaves at most its last block's rest.
const PK_BLOCK: i64 = 100;
const PK_BLOCK_MOST: i64 = 12_800;

/// The stored values of an object: normalised JSON text. Only
/// [`Fields::new`] makes one, so nothing reaches the store unnormalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields(String);

impl Fields {
    /// The normalised values of an object of this kind (see
    /// [`normalize_fields`]).
    pub fn new(kind: Kind, fields: &Map<String, Value>) -> Fields {
        Fields(Value::Object(normalize_fields(kind, fields)).to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new row of `object`, before the write path stamps its revision.
#[derive(Debug, Clone)]
pub struct NewObject {
    pub pk: i64,
    pub kind: i16,
    pub body_pk: Option<i64>,
    pub created: i64,
    pub modified: i64,
    pub deleted: bool,
    pub fields: Fields,
}

/// A row of `object` as written: a [`NewObject`] with its revision.
#[derive(Insertable)]
#[diesel(table_name = object, treat_none_as_default_value = false)]
struct Stamped<'a> {
    pk: i64,
    kind: i16,
    body_pk: Option<i64>,
    created: i64,
    modified: i64,
    deleted: bool,
    fields: &'a str,
    revision: i64,
}

#[derive(Insertable)]
#[diesel(table_name = file_content, treat_none_as_default_value = false)]
struct NewContent<'a> {
    file_pk: i64,
    bytes: &'a [u8],
}

/// Refresh the planner statistics after a bulk load.
///
/// On SQLite the samples of `sqlite_stat4` are dropped again (the bundled
/// build has STAT4): with them, every statement that compares an indexed
/// column with a bound value is prepared twice per execution, once more
/// when its values are bound, and the hot list page spent a fifth of its
/// time in the parser. `sqlite_stat1` is enough for our few index choices.
pub fn analyze(conn: &mut AnyConnection) -> Result<(), DbError> {
    use diesel::connection::SimpleConnection;
    if matches!(conn, AnyConnection::Sqlite(_)) {
        // A sample of each index is enough for stat1 (and a full scan of a
        // million rows took a second).
        conn.batch_execute(
            "PRAGMA analysis_limit = 2000; ANALYZE; \
             DELETE FROM sqlite_stat4; ANALYZE sqlite_schema",
        )?;
    } else {
        conn.batch_execute("ANALYZE")?;
    }
    Ok(())
}

/// The values an object stores: without nulls, empty strings and empty
/// arrays (OParl 1.1 §2.4: such values are left out), and without the
/// attributes the server derives from the store itself (ids, times,
/// relations, lists, back-references), which a source may have sent. The
/// renderer copies what is left as it is.
pub fn normalize_fields(kind: Kind, fields: &Map<String, Value>) -> Map<String, Value> {
    fields
        .iter()
        .filter(|(key, value)| is_present(value) && !is_derived(kind, key))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => true,
    }
}

/// Attributes the renderer writes itself. Not among them: a required
/// reference that an importer keeps pointing at its source
/// (`model::REQUIRED_REFS`), and the `order` of an AgendaItem kept outside
/// any Meeting. Those are stored values, which the renderer writes only
/// where the store cannot derive them.
fn is_derived(kind: Kind, key: &str) -> bool {
    if model::required_refs(kind).any(|r| r.name == key)
        || (kind == Kind::AgendaItem && key == "order")
    {
        return false;
    }
    matches!(
        key,
        "id" | "type" | "created" | "modified" | "deleted" | "body"
    ) || key.starts_with(model::VENDOR_PREFIX)
        || (kind == Kind::System && key == "oparlVersion")
        || RELS.iter().any(|r| r.owner == kind && r.name == key)
        || (kind == Kind::Person && key == "location")
        || (kind == Kind::Body
            && (key == "system" || model::BODY_LISTS.iter().any(|(n, _)| *n == key)))
        || (kind == Kind::Organization && matches!(key, "meeting" | "consultation"))
        || RELS
            .iter()
            .any(|r| r.target == kind && r.back.is_some_and(|(name, _)| name == key))
}

impl Change<'_> {
    /// The revision this change stamps.
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// The connection, for reads inside the change and for the importer's
    /// own bookkeeping tables, which the API does not publish. Objects,
    /// links and File bytes are written only through the methods below.
    ///
    /// Writes the inserts that wait first, so a read sees them; that is
    /// why this can fail. Every method below goes through it too.
    pub fn conn(&mut self) -> Result<&mut AnyConnection, DbError> {
        self.flush()?;
        Ok(self.conn)
    }

    /// Write the inserts that wait (see [`Change`]).
    fn flush(&mut self) -> Result<(), DbError> {
        let objects = std::mem::take(&mut self.pending.objects);
        let links = std::mem::take(&mut self.pending.links);
        self.write_objects(&objects)?;
        bulk_insert!(&mut *self.conn, link::table, &links, 1000);
        Ok(())
    }

    /// Index every stored object anew and clear the mark the migration
    /// that made the index left (see `search::index::catch_up`).
    pub fn rebuild_search_index(&mut self) -> Result<(), DbError> {
        crate::search::index::rebuild(self.conn()?)?;
        crate::search::sql::execute(self.conn()?, "DELETE FROM search_pending", vec![])?;
        Ok(())
    }

    /// Reserve `n` consecutive pks for new objects; returns the first.
    ///
    /// Only a change takes pks, and it holds the revision row (PostgreSQL)
    /// or the write lock (SQLite) while it does, so a block is never shared
    /// with another writer: two imports into one database cannot collide.
    /// On SQLite the store is asked once per change (no other writer can
    /// add objects while it runs) and counted on from there; on PostgreSQL
    /// the sequence is asked for blocks (see [`PK_BLOCK`]), each in one
    /// statement.
    pub fn reserve_pks(&mut self, n: i64) -> Result<i64, DbError> {
        use diesel::sql_types::BigInt;
        #[derive(QueryableByName)]
        struct Number {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let n = n.max(1);
        if let Some((next, end)) = self.next_pk {
            if next + n <= end {
                self.next_pk = Some((next + n, end));
                return Ok(next);
            }
        }
        if matches!(self.conn, AnyConnection::Sqlite(_)) {
            // Once per change: the largest pk stored must count them all.
            self.flush()?;
        }
        let (first, end) = match &mut *self.conn {
            AnyConnection::Postgres(c) => {
                let size = n.max(self.pk_block);
                self.pk_block = (self.pk_block * 2).min(PK_BLOCK_MOST);
                // The block's last pk; the next `nextval` answers above it.
                let last = diesel::sql_query(
                    "SELECT setval('object_pk_seq', nextval('object_pk_seq') + $1 - 1) AS n",
                )
                .bind::<BigInt, _>(size)
                .get_result::<Number>(c)?
                .n;
                let first = last - size + 1;
                (first, first + size)
            }
            AnyConnection::Sqlite(c) => {
                let first = diesel::sql_query("SELECT COALESCE(MAX(pk), 0) + 1 AS n FROM object")
                    .get_result::<Number>(c)?
                    .n;
                (first, i64::MAX)
            }
        };
        self.next_pk = Some((first + n, end));
        Ok(first)
    }

    /// Insert new objects, stamped with this change's revision; their pks
    /// come from [`Change::reserve_pks`]. Links and parents are the
    /// caller's: a parent that already existed and now
    /// shows one of them must be touched ([`Change::touch_with_ancestors`]).
    pub fn insert_objects(&mut self, rows: &[NewObject]) -> Result<(), DbError> {
        if rows.len() >= PENDING_ROWS {
            self.flush()?;
            return self.write_objects(rows);
        }
        self.pending.objects.extend_from_slice(rows);
        if self.pending.objects.len() >= PENDING_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn write_objects(&mut self, rows: &[NewObject]) -> Result<(), DbError> {
        let stamped: Vec<Stamped> = rows
            .iter()
            .map(|r| Stamped {
                pk: r.pk,
                kind: r.kind,
                body_pk: r.body_pk,
                created: r.created,
                modified: r.modified,
                deleted: r.deleted,
                fields: r.fields.as_str(),
                revision: self.revision,
            })
            .collect();
        bulk_insert!(&mut *self.conn, object::table, &stamped, 500);
        Ok(())
    }

    /// Insert links out of objects this change created or overwrote.
    pub fn insert_links(&mut self, rows: &[LinkRow]) -> Result<(), DbError> {
        if rows.len() >= PENDING_ROWS {
            self.flush()?;
            bulk_insert!(&mut *self.conn, link::table, rows, 1000);
            return Ok(());
        }
        self.pending.links.extend_from_slice(rows);
        if self.pending.links.len() >= PENDING_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    /// Store the bytes of many new Files at once.
    pub fn insert_file_contents(&mut self, files: &[(i64, Vec<u8>)]) -> Result<(), DbError> {
        let rows: Vec<NewContent> = files
            .iter()
            .map(|(pk, bytes)| NewContent {
                file_pk: *pk,
                bytes,
            })
            .collect();
        bulk_insert!(self.conn()?, file_content::table, &rows, 200);
        Ok(())
    }

    /// Store (or replace) the bytes of a File. Its JSON now points at this
    /// server, so it and what embeds it get this revision; whether its
    /// `modified` moves is the caller's decision (an import keeps the
    /// source's time for a File that arrives with its bytes).
    pub fn store_file_bytes(&mut self, file_pk: i64, bytes: &[u8]) -> Result<(), DbError> {
        diesel::delete(file_content::table.find(file_pk)).execute(self.conn()?)?;
        diesel::insert_into(file_content::table)
            .values(NewContent { file_pk, bytes })
            .execute(self.conn()?)?;
        let family = self.with_ancestors(file_pk)?;
        self.stamp(&family)
    }

    /// Make sure the System object exists; returns its pk.
    pub fn ensure_system(&mut self, fields: &Map<String, Value>, at: i64) -> Result<i64, DbError> {
        if let Some(row) = read::system(self.conn()?)? {
            return Ok(row.pk);
        }
        self.create(Kind::System, None, fields, at)
    }

    /// Create one object; returns its pk. A Body belongs to itself.
    pub fn create(
        &mut self,
        kind: Kind,
        body_pk: Option<i64>,
        fields: &Map<String, Value>,
        at: i64,
    ) -> Result<i64, DbError> {
        let pk = self.reserve_pks(1)?;
        let body_pk = if kind == Kind::Body {
            Some(pk)
        } else {
            body_pk
        };
        self.insert_objects(&[NewObject {
            pk,
            kind: kind.code(),
            body_pk,
            created: at,
            modified: at,
            deleted: false,
            fields: Fields::new(kind, fields),
        }])?;
        Ok(pk)
    }

    /// Append `to` to the relation `field` of `from` (an embedded child or a
    /// reference) and re-stamp everything whose JSON changed.
    pub fn add_link(&mut self, from: i64, field: i16, to: i64, at: i64) -> Result<(), DbError> {
        let rel = model::rel_by_code(field).expect("a relation code of model::RELS");
        let next: Option<i32> = link::table
            .filter(link::from_pk.eq(from))
            .filter(link::field.eq(field))
            .select(diesel::dsl::max(link::position))
            .first(self.conn()?)?;
        let position = match rel.shape {
            Shape::Ref | Shape::Embed => {
                // A single-valued relation: replace what was there.
                diesel::delete(
                    link::table
                        .filter(link::from_pk.eq(from))
                        .filter(link::field.eq(field)),
                )
                .execute(self.conn()?)?;
                0
            }
            Shape::Refs | Shape::Embeds => next.map_or(0, |p| p + 1),
        };
        diesel::insert_into(link::table)
            .values(LinkRow {
                from_pk: from,
                field,
                position,
                to_pk: to,
            })
            .execute(self.conn()?)?;
        self.touch_with_ancestors(from, at)?;
        if shows_on_target(field) {
            // The target now shows a back-reference (or Organization.membership
            // grew): its JSON changed too.
            self.touch_with_ancestors(to, at)?;
        }
        Ok(())
    }

    /// Replace the plain values of an object and re-stamp it and its parents.
    pub fn update_fields(
        &mut self,
        pk: i64,
        fields: &Map<String, Value>,
        at: i64,
    ) -> Result<(), DbError> {
        let head = read::head(self.conn()?, pk)?.ok_or(diesel::result::Error::NotFound)?;
        let kind = Kind::from_code(head.kind).ok_or(diesel::result::Error::NotFound)?;
        self.set_fields(pk, &Fields::new(kind, fields), at)
    }

    /// [`Change::update_fields`] with values normalised for the object's
    /// kind already.
    pub fn set_fields(&mut self, pk: i64, fields: &Fields, at: i64) -> Result<(), DbError> {
        diesel::update(object::table.find(pk))
            .set(object::fields.eq(fields.as_str()))
            .execute(self.conn()?)?;
        self.touch_with_ancestors(pk, at)
    }

    /// Overwrite an object's row with what an import found (the caller
    /// decides the times and touches what shows it); a deleted object comes
    /// back to life.
    pub fn overwrite(
        &mut self,
        pk: i64,
        body_pk: Option<i64>,
        created: i64,
        modified: i64,
        fields: &Fields,
    ) -> Result<(), DbError> {
        diesel::update(object::table.find(pk))
            .set((
                object::body_pk.eq(body_pk),
                object::created.eq(created),
                object::modified.eq(modified),
                object::deleted.eq(false),
                object::fields.eq(fields.as_str()),
                object::revision.eq(self.revision),
            ))
            .execute(self.conn()?)?;
        Ok(())
    }

    /// Remove every link out of an object that this change overwrites (the
    /// caller then inserts the new ones).
    pub fn remove_links_from(&mut self, pk: i64) -> Result<(), DbError> {
        diesel::delete(link::table.filter(link::from_pk.eq(pk))).execute(self.conn()?)?;
        Ok(())
    }

    /// Forget the stored bytes of a File that this change overwrites.
    pub fn remove_file_bytes(&mut self, pk: i64) -> Result<(), DbError> {
        diesel::delete(file_content::table.find(pk)).execute(self.conn()?)?;
        Ok(())
    }

    /// Delete an object: it stays as a tombstone with `modified` = `at`
    /// (never earlier than it was). Every live object that referred to it
    /// loses the reference and is re-stamped (OParl 1.1 §2.8: a deleted
    /// object is embedded nowhere; and we publish no reference to one, so a
    /// harvester never fetches a tombstone where it expects an object).
    /// Returns false when it was deleted already.
    pub fn delete(&mut self, pk: i64, at: i64) -> Result<bool, DbError> {
        let Some(row) = read::object(self.conn()?, pk)? else {
            return Err(DbError::Query(diesel::result::Error::NotFound));
        };
        if row.deleted {
            return Ok(false);
        }
        // Everything whose JSON shows this object changes with its deletion.
        self.touch_with_ancestors(pk, at)?;
        self.touch_dependents(&row, at)?;
        diesel::update(object::table.find(pk))
            .set((
                object::deleted.eq(true),
                object::modified.eq(at.max(row.modified)),
                object::revision.eq(self.revision),
            ))
            .execute(self.conn()?)?;
        self.remove_references_to(pk, at)?;
        // Children that exist only inside this object go with it.
        let owned: Vec<i64> = self
            .embedded_children(pk)?
            .into_iter()
            .filter(|(_, kind)| model::owned_by_parent(*kind))
            .map(|(child, _)| child)
            .collect();
        for child in owned {
            self.delete(child, at)?;
        }
        Ok(true)
    }

    /// Stamp the object and every live object that embeds it, transitively:
    /// this revision, and `modified` = `at` where it was earlier.
    pub fn touch_with_ancestors(&mut self, pk: i64, at: i64) -> Result<(), DbError> {
        let family = self.with_ancestors(pk)?;
        self.stamp(&family)?;
        diesel::update(
            object::table
                .filter(object::pk.eq_any(&family))
                .filter(object::deleted.eq(false))
                .filter(object::modified.lt(at)),
        )
        .set(object::modified.eq(at))
        .execute(self.conn()?)?;
        Ok(())
    }

    /// The object and every live object that embeds it, transitively.
    fn with_ancestors(&mut self, pk: i64) -> Result<Vec<i64>, DbError> {
        let mut todo = vec![pk];
        let mut seen = Vec::new();
        while let Some(pk) = todo.pop() {
            if seen.contains(&pk) {
                continue;
            }
            seen.push(pk);
            todo.extend(self.embedding_parents(pk)?);
        }
        Ok(seen)
    }

    /// Give these live objects this change's revision.
    fn stamp(&mut self, pks: &[i64]) -> Result<(), DbError> {
        diesel::update(
            object::table
                .filter(object::pk.eq_any(pks))
                .filter(object::deleted.eq(false)),
        )
        .set(object::revision.eq(self.revision))
        .execute(self.conn()?)?;
        Ok(())
    }

    /// Re-stamp the objects whose derived JSON names this one: the
    /// Organizations of a Membership, and the Files and Locations it embeds
    /// (their back-reference arrays list it).
    fn touch_dependents(&mut self, row: &ObjectRow, at: i64) -> Result<(), DbError> {
        let mut targets: Vec<i64> = Vec::new();
        if row.kind == Kind::Membership.code() {
            targets.extend(
                link::table
                    .filter(link::from_pk.eq(row.pk))
                    .filter(link::field.eq(MEMBERSHIP_ORGANIZATION))
                    .select(link::to_pk)
                    .load::<i64>(self.conn()?)?,
            );
        }
        targets.extend(
            self.embedded_children(row.pk)?
                .into_iter()
                .filter(|(_, kind)| matches!(kind, Kind::File | Kind::Location))
                .map(|(child, _)| child),
        );
        for pk in targets {
            self.touch_with_ancestors(pk, at)?;
        }
        Ok(())
    }

    /// The live objects that embed this one.
    fn embedding_parents(&mut self, pk: i64) -> Result<Vec<i64>, DbError> {
        Ok(link::table
            .inner_join(object::table.on(object::pk.eq(link::from_pk)))
            .filter(link::to_pk.eq(pk))
            .filter(link::field.eq_any(embedding_codes()))
            .filter(object::deleted.eq(false))
            .select(link::from_pk)
            .load(self.conn()?)?)
    }

    /// The objects embedded in this one, with their kinds.
    fn embedded_children(&mut self, pk: i64) -> Result<Vec<(i64, Kind)>, DbError> {
        let rows: Vec<(i16, i64)> = link::table
            .filter(link::from_pk.eq(pk))
            .filter(link::field.eq_any(embedding_codes()))
            .select((link::field, link::to_pk))
            .load(self.conn()?)?;
        Ok(rows
            .into_iter()
            .filter_map(|(field, to)| Some((to, model::rel_by_code(field)?.target)))
            .collect())
    }

    /// Take a deleted object out of every field and array that embedded or
    /// referred to it and close the gap, so positions stay 0..n-1. Live
    /// objects that referred to it, and agenda items whose position (their
    /// `order`) moved, are re-stamped; embedding parents were already.
    fn remove_references_to(&mut self, pk: i64, at: i64) -> Result<(), DbError> {
        let slots: Vec<(i64, i16)> = link::table
            .filter(link::to_pk.eq(pk))
            .select((link::from_pk, link::field))
            .distinct()
            .load(self.conn()?)?;
        for (from, field) in slots {
            diesel::delete(
                link::table
                    .filter(link::from_pk.eq(from))
                    .filter(link::field.eq(field))
                    .filter(link::to_pk.eq(pk)),
            )
            .execute(self.conn()?)?;
            let rest: Vec<LinkRow> = link::table
                .filter(link::from_pk.eq(from))
                .filter(link::field.eq(field))
                .order(link::position.asc())
                .select(LinkRow::as_select())
                .load(self.conn()?)?;
            for (index, l) in rest.iter().enumerate() {
                let index = index as i32;
                if l.position == index {
                    continue;
                }
                diesel::update(link::table.find((from, field, l.position)))
                    .set(link::position.eq(index))
                    .execute(self.conn()?)?;
                if field == MEETING_AGENDA_ITEM {
                    self.touch_with_ancestors(l.to_pk, at)?;
                }
            }
            let embedding = model::rel_by_code(field).is_some_and(|r| r.shape.is_embedding());
            if !embedding {
                self.touch_with_ancestors(from, at)?;
            }
        }
        Ok(())
    }
}

/// Relations whose target shows them (back-references, and
/// Organization.membership): adding or removing one changes the target's
/// JSON too.
pub fn shows_on_target(field: i16) -> bool {
    model::rel_by_code(field).is_some_and(|r| r.back.is_some()) || field == MEMBERSHIP_ORGANIZATION
}

fn embedding_codes() -> Vec<i16> {
    RELS.iter()
        .filter(|r| r.shape.is_embedding())
        .map(|r| r.code)
        .collect()
}
