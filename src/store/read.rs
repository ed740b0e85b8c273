//! Queries of the read path. Every query is an index range scan (see the
//! indexes in migrations/), and batches are loaded with `IN (...)` lists so
//! rendering a page costs a handful of queries, not one per object.
//!
//! A newer version of this program may have written kinds and relations
//! this one does not know. Such objects and links never leave this module:
//! they are left out (with a warning), so the rest of the program only sees
//! codes of `model` and the API answers 404 for such an object.

use crate::db::in_list::in_list;
use crate::db::schema::{file_content, link, object, store_revision};
use crate::db::{AnyConnection, DbError};
use crate::model::{Kind, ListKind, CONSULTATION_ORGANIZATION, MEETING_ORGANIZATION};
use diesel::prelude::*;

/// One stored object.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = object)]
pub struct ObjectRow {
    pub pk: i64,
    pub kind: i16,
    pub body_pk: Option<i64>,
    pub created: i64,
    pub modified: i64,
    pub deleted: bool,
    pub fields: String,
    /// The revision of the last change that touched this object's JSON
    /// (see `write::change`); every cache and ETag keys on it.
    pub revision: i64,
}

impl ObjectRow {
    /// The kind; rows from this module always hold a known one.
    pub fn kind(&self) -> Kind {
        Kind::from_code(self.kind).expect("read leaves out objects of unknown kinds")
    }

    /// The row without its values.
    pub fn head(&self) -> ObjectHead {
        ObjectHead {
            pk: self.pk,
            kind: self.kind,
            body_pk: self.body_pk,
            created: self.created,
            modified: self.modified,
            deleted: self.deleted,
            revision: self.revision,
        }
    }
}

/// The columns of an object every list and every ETag needs, without its
/// values: enough to answer from the cache of rendered JSON.
#[derive(Debug, Clone, Copy, Queryable, Selectable)]
#[diesel(table_name = object)]
pub struct ObjectHead {
    pub pk: i64,
    pub kind: i16,
    pub body_pk: Option<i64>,
    pub created: i64,
    pub modified: i64,
    pub deleted: bool,
    pub revision: i64,
}

impl ObjectHead {
    /// The kind; heads from this module always hold a known one.
    pub fn kind(&self) -> Kind {
        Kind::from_code(self.kind).expect("read leaves out objects of unknown kinds")
    }
}

/// Whether this program knows the kind of a stored object; warns if not.
fn known_kind(pk: i64, code: i16) -> bool {
    let known = Kind::from_code(code).is_some();
    if !known {
        tracing::warn!(
            pk,
            kind = code,
            "object of a kind this version does not know left out"
        );
    }
    known
}

/// Whether this program knows the relation of a stored link; warns if not.
fn known_field(l: &LinkRow) -> bool {
    let known = crate::model::rel_by_code(l.field).is_some();
    if !known {
        tracing::warn!(
            from = l.from_pk,
            to = l.to_pk,
            field = l.field,
            "link of a relation this version does not know left out"
        );
    }
    known
}

/// One relation between two objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = link, treat_none_as_default_value = false)]
pub struct LinkRow {
    pub from_pk: i64,
    pub field: i16,
    pub position: i32,
    pub to_pk: i64,
}

/// The four date filters of a list (spec §2.5, filters), as inclusive
/// bounds in Unix seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub created_since: Option<i64>,
    pub created_until: Option<i64>,
    pub modified_since: Option<i64>,
    pub modified_until: Option<i64>,
}

/// The object with this pk, deleted or not.
pub fn object(conn: &mut AnyConnection, pk: i64) -> Result<Option<ObjectRow>, DbError> {
    Ok(object::table
        .find(pk)
        .select(ObjectRow::as_select())
        .first(conn)
        .optional()?
        .filter(|r| known_kind(r.pk, r.kind)))
}

/// The head of the object with this pk.
///
/// No `LIMIT ?` (a pk matches one row at most): SQLite plans a bound LIMIT
/// with its value, so every new binding re-prepares the statement, which
/// cost more than the lookup itself on the hot path.
pub fn head(conn: &mut AnyConnection, pk: i64) -> Result<Option<ObjectHead>, DbError> {
    Ok(object::table
        .find(pk)
        .select(ObjectHead::as_select())
        .load(conn)?
        .pop()
        .filter(|h| known_kind(h.pk, h.kind)))
}

/// The objects with these pks, deleted or not, in no particular order.
pub fn objects(conn: &mut AnyConnection, pks: &[i64]) -> Result<Vec<ObjectRow>, DbError> {
    if pks.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = object::table
        .filter(in_list(object::pk, pks))
        .select(ObjectRow::as_select())
        .load(conn)?;
    rows.retain(|r| known_kind(r.pk, r.kind));
    Ok(rows)
}

/// The heads of the objects with these pks, deleted or not.
pub fn heads(conn: &mut AnyConnection, pks: &[i64]) -> Result<Vec<ObjectHead>, DbError> {
    if pks.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = object::table
        .filter(in_list(object::pk, pks))
        .select(ObjectHead::as_select())
        .load(conn)?;
    rows.retain(|h| known_kind(h.pk, h.kind));
    Ok(rows)
}

/// Up to `limit` objects after the pk `after`, in pk order (a walk over the
/// whole store, for exports), and the pk to go on after: None at the end.
/// Objects of unknown kinds are left out but move the cursor on.
pub fn objects_after(
    conn: &mut AnyConnection,
    after: i64,
    limit: i64,
) -> Result<(Vec<ObjectRow>, Option<i64>), DbError> {
    let mut rows = object::table
        .filter(object::pk.gt(after))
        .order(object::pk.asc())
        .limit(limit)
        .select(ObjectRow::as_select())
        .load::<ObjectRow>(conn)?;
    let next = rows.last().map(|r| r.pk);
    rows.retain(|r| known_kind(r.pk, r.kind));
    Ok((rows, next))
}

/// The pks of every live Body.
pub fn body_pks(conn: &mut AnyConnection) -> Result<Vec<i64>, DbError> {
    Ok(object::table
        .filter(object::kind.eq(Kind::Body.code()))
        .filter(object::deleted.eq(false))
        .select(object::pk)
        .load(conn)?)
}

/// The revision of the last committed change (see `write::change`).
pub fn revision(conn: &mut AnyConnection) -> Result<i64, DbError> {
    Ok(store_revision::table
        .find(1i16)
        .select(store_revision::value)
        .first(conn)?)
}

/// The System object (there is exactly one; see `write::ensure_system`).
pub fn system(conn: &mut AnyConnection) -> Result<Option<ObjectRow>, DbError> {
    Ok(object::table
        .filter(object::kind.eq(Kind::System.code()))
        .order(object::pk.asc())
        .select(ObjectRow::as_select())
        .first(conn)
        .optional()?)
}

/// The objects with these pks that are not deleted, in no particular order.
pub fn live_objects(conn: &mut AnyConnection, pks: &[i64]) -> Result<Vec<ObjectRow>, DbError> {
    let mut rows = objects(conn, pks)?;
    rows.retain(|r| !r.deleted);
    Ok(rows)
}

/// The objects with these pks that are not deleted, in the order of `pks`
/// (for pks read in an order of their own, such as by date).
pub fn live_objects_in_order(
    conn: &mut AnyConnection,
    pks: &[i64],
) -> Result<Vec<ObjectRow>, DbError> {
    let mut by_pk: std::collections::HashMap<i64, ObjectRow> = live_objects(conn, pks)?
        .into_iter()
        .map(|r| (r.pk, r))
        .collect();
    Ok(pks.iter().filter_map(|pk| by_pk.remove(pk)).collect())
}

/// Every link out of these objects, ordered by owner, field and position.
pub fn links_from(conn: &mut AnyConnection, pks: &[i64]) -> Result<Vec<LinkRow>, DbError> {
    if pks.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = link::table
        .filter(in_list(link::from_pk, pks))
        .order((link::from_pk, link::field, link::position))
        .select(LinkRow::as_select())
        .load(conn)?;
    rows.retain(known_field);
    Ok(rows)
}

/// Links of the given fields that point at these objects, with whether the
/// pointing object is deleted; ordered by target, field and source.
///
/// Two queries rather than a join: PostgreSQL's estimate of the links to a
/// list of targets is far too high when some of them (a council, a Body)
/// are the target of thousands, and it then hashed the whole object table
/// to join 84 links (650 ms). Looking the sources up by pk is always a
/// lookup per source.
pub fn links_to(
    conn: &mut AnyConnection,
    pks: &[i64],
    fields: &[i16],
) -> Result<Vec<(LinkRow, bool)>, DbError> {
    if fields.is_empty() || pks.is_empty() {
        return Ok(Vec::new());
    }
    // Whether each source is deleted, as a subquery per link: one round
    // trip instead of two, and a lookup by pk per link whatever the
    // planner estimates (a join to `object` was once planned as a hash
    // over the whole table). Its estimate can still be far above the rows
    // found, which is one reason JIT is off (`db::Opener::open`).
    use diesel::sql_types::{Bool, Nullable};
    let deleted = diesel::dsl::sql::<Nullable<Bool>>(
        "(SELECT source.deleted FROM object source WHERE source.pk = link.from_pk)",
    );
    let links: Vec<(LinkRow, Option<bool>)> = link::table
        .filter(in_list(link::to_pk, pks))
        .filter(in_list(link::field, fields))
        .order((link::to_pk, link::field, link::from_pk))
        .select((LinkRow::as_select(), deleted))
        .load(conn)?;
    Ok(links
        .into_iter()
        .filter_map(|(l, deleted)| deleted.map(|d| (l, d)))
        .collect())
}

/// [`links_to`] for several groups of targets, each with its own fields
/// (the back-references of each kind), ordered by target, field and source
/// within each group.
///
/// A link's field names the kind it points at, so asking every field of
/// every group for every target finds the same links. SQLite, though,
/// seeks `link_reverse` once per (target, field) pair, and a page of mixed
/// kinds (the change feed) made ten times the seeks that find something:
/// it asks per group. On PostgreSQL each query is a round trip, which
/// costs more than the seeks: one query for all groups.
pub fn links_to_grouped(
    conn: &mut AnyConnection,
    groups: &[(Vec<i64>, Vec<i16>)],
) -> Result<Vec<(LinkRow, bool)>, DbError> {
    if matches!(conn, AnyConnection::Postgres(_)) {
        let mut pks: Vec<i64> = Vec::new();
        let mut fields: Vec<i16> = Vec::new();
        for (p, f) in groups
            .iter()
            .filter(|(p, f)| !p.is_empty() && !f.is_empty())
        {
            pks.extend(p);
            fields.extend(f);
        }
        pks.sort_unstable();
        pks.dedup();
        fields.sort_unstable();
        fields.dedup();
        return links_to(conn, &pks, &fields);
    }
    let mut rows = Vec::new();
    for (pks, fields) in groups {
        rows.extend(links_to(conn, pks, fields)?);
    }
    Ok(rows)
}

/// Load the first `limit` rows of an ordered query. PostgreSQL gets a
/// `LIMIT`; SQLite steps through the rows and stops, since it re-prepares a
/// statement with a bound `LIMIT` on every execution (see [`head`]) and
/// steps lazily anyway.
macro_rules! load_page {
    ($conn:expr, $query:expr, $limit:expr) => {
        load_page!($conn, $query, $limit, ObjectHead)
    };
    ($conn:expr, $query:expr, $limit:expr, $row:ty) => {{
        let limit: i64 = $limit;
        if matches!($conn, AnyConnection::Postgres(_)) {
            $query.limit(limit).load::<$row>($conn)?
        } else {
            $query
                .load_iter::<$row, diesel::connection::DefaultLoadingMode>($conn)?
                .take(usize::try_from(limit).unwrap_or(0))
                .collect::<Result<Vec<$row>, _>>()?
        }
    }};
}

/// Applies the date filters, and the rule that deleted objects are listed
/// only with `modified_since` (spec §2.8), to a boxed query over `object`
/// (alone or joined).
macro_rules! filter_objects {
    ($query:expr, $filter:expr) => {{
        let mut q = $query;
        let f: &ListFilter = $filter;
        // Deleted objects are listed only when modified_since is given.
        if f.modified_since.is_none() {
            q = q.filter(object::deleted.eq(false));
        }
        if let Some(t) = f.created_since {
            q = q.filter(object::created.ge(t));
        }
        if let Some(t) = f.created_until {
            q = q.filter(object::created.le(t));
        }
        if let Some(t) = f.modified_since {
            q = q.filter(object::modified.ge(t));
        }
        if let Some(t) = f.modified_until {
            q = q.filter(object::modified.le(t));
        }
        q
    }};
}

/// One page of a list: at most `limit` objects with a pk above `after`, in
/// pk order. The pk never changes, so a walk that follows these pages sees
/// every object that exists throughout the walk exactly once.
pub fn list_page(
    conn: &mut AnyConnection,
    list: ListKind,
    owner: Option<i64>,
    filter: &ListFilter,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<ObjectHead>, DbError> {
    let after = after.unwrap_or(0);
    if let (ListKind::Body(kind), Some(body), true) =
        (list, owner, *filter == ListFilter::default())
    {
        // The plain page of a Body list, by far the most asked: a query of
        // fixed shape, so its prepared statement is kept and reused.
        let q = object::table
            .filter(object::kind.eq(kind.code()))
            .filter(object::body_pk.eq(body))
            .filter(object::deleted.eq(false))
            .filter(object::pk.gt(after))
            .order((object::kind, object::body_pk, object::deleted, object::pk))
            .select(ObjectHead::as_select());
        return Ok(load_page!(conn, q, limit));
    }
    let rows = match list {
        ListKind::Bodies | ListKind::Body(_) => {
            let kind = list.item_kind().code();
            let mut q = object::table.filter(object::kind.eq(kind)).into_boxed();
            let body = match (list, owner) {
                (ListKind::Body(_), Some(body)) => Some(body),
                _ => None,
            };
            if let Some(body) = body {
                q = q.filter(object::body_pk.eq(body));
            }
            match (filter.modified_since, body) {
                // Changed objects are few: find them through object_modified,
                // then page through them in pk order. Without the subquery a
                // planner may prefer walking the whole list in pk order.
                (Some(since), Some(body)) => {
                    let changed = diesel::alias!(object as changed);
                    let recent = changed
                        .filter(changed.field(object::kind).eq(kind))
                        .filter(changed.field(object::body_pk).eq(body))
                        .filter(changed.field(object::modified).ge(since))
                        .select(changed.field(object::pk));
                    q = q.filter(object::pk.eq_any(recent)).order(object::pk.asc());
                }
                // The equality prefix makes this the order of object_list,
                // which both planners then read as it is (PostgreSQL would
                // otherwise walk the primary key and filter).
                (None, _) => {
                    q = q.order((object::kind, object::body_pk, object::deleted, object::pk))
                }
                (Some(_), None) => q = q.order(object::pk.asc()),
            }
            let q = filter_objects!(q, filter)
                .filter(object::pk.gt(after))
                .select(ObjectHead::as_select());
            load_page!(conn, q, limit)
        }
        ListKind::OrganizationMeetings | ListKind::OrganizationConsultations => {
            let field = if list == ListKind::OrganizationMeetings {
                MEETING_ORGANIZATION
            } else {
                CONSULTATION_ORGANIZATION
            };
            // Only the list's own kind: a page left short by skipped rows
            // would end the walk early.
            let q = link::table
                .inner_join(object::table.on(object::pk.eq(link::from_pk)))
                .filter(link::to_pk.eq(owner.unwrap_or(0)))
                .filter(link::field.eq(field))
                .filter(object::kind.eq(list.item_kind().code()))
                .into_boxed();
            let q = filter_objects!(q, filter)
                .filter(link::from_pk.gt(after))
                .order(link::from_pk.asc())
                .select(ObjectHead::as_select());
            load_page!(conn, q, limit)
        }
    };
    Ok(rows)
}

/// What the change feed asks for: objects whose revision lies after a
/// cursor and at most at `upto`, optionally of one Body and some kinds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeFilter {
    /// Objects after this revision, or after (revision, pk) when the
    /// previous page ended inside a revision.
    pub after: (i64, Option<i64>),
    /// The store's revision the page is read at: later changes wait for
    /// the next page, so a page never shows half of a revision.
    pub upto: i64,
    pub body: Option<i64>,
    pub kinds: Vec<i16>,
}

/// Up to `limit` heads of objects changed after the cursor, in (revision,
/// pk) order: range scans of `object_revision`.
///
/// A cursor inside a revision is read as two scans, the rest of that
/// revision (`revision = r AND pk > p`) and then the later revisions
/// (`revision > r`), each a seek in the index. SQLite does not seek on a
/// row value such as `(revision, pk) > (r, p)`: it stepped from the start
/// of revision r to p, and an import writes a million objects in one
/// revision, so each page of a replay read half of them (80 ms a page).
pub fn changes(
    conn: &mut AnyConnection,
    f: &ChangeFilter,
    limit: i64,
) -> Result<Vec<ObjectRow>, DbError> {
    let (revision, pk) = f.after;
    let mut rows = match pk {
        Some(pk) => changes_range(conn, f, (revision, revision), Some(pk), limit)?,
        None => Vec::new(),
    };
    let left = limit - rows.len() as i64;
    if left > 0 && revision < f.upto {
        rows.extend(changes_range(conn, f, (revision + 1, f.upto), None, left)?);
    }
    Ok(rows)
}

/// Heads with a revision in `revisions` (inclusive) and a pk after
/// `after_pk`, in (revision, pk) order.
fn changes_range(
    conn: &mut AnyConnection,
    f: &ChangeFilter,
    revisions: (i64, i64),
    after_pk: Option<i64>,
    limit: i64,
) -> Result<Vec<ObjectRow>, DbError> {
    let mut q = object::table.into_boxed();
    q = if revisions.0 == revisions.1 {
        q.filter(object::revision.eq(revisions.0))
    } else {
        q.filter(object::revision.ge(revisions.0))
            .filter(object::revision.le(revisions.1))
    };
    if let Some(pk) = after_pk {
        q = q.filter(object::pk.gt(pk));
    }
    if let Some(body) = f.body {
        q = q.filter(object::body_pk.eq(body));
    }
    // Only kinds this version knows (see the module text), as a condition
    // of the query: rows left out afterwards would leave a page short.
    let kinds = if f.kinds.is_empty() {
        Kind::ALL.iter().map(|k| k.code()).collect()
    } else {
        f.kinds.clone()
    };
    q = q.filter(in_list(object::kind, &kinds));
    // Whole rows: the feed renders most of them (each change is a new
    // revision, so none is cached yet), and reading heads first and rows
    // after was one more round trip a page.
    let q = q
        .order((object::revision, object::pk))
        .select(ObjectRow::as_select());
    Ok(load_page!(conn, q, limit, ObjectRow))
}

/// The stored bytes of a File, if we serve them ourselves.
pub fn file_bytes(conn: &mut AnyConnection, file_pk: i64) -> Result<Option<Vec<u8>>, DbError> {
    Ok(file_content::table
        .find(file_pk)
        .select(file_content::bytes)
        .first(conn)
        .optional()?)
}

/// Which of these Files have stored bytes.
pub fn files_with_bytes(conn: &mut AnyConnection, pks: &[i64]) -> Result<Vec<i64>, DbError> {
    if pks.is_empty() {
        return Ok(Vec::new());
    }
    Ok(file_content::table
        .filter(in_list(file_content::file_pk, pks))
        .select(file_content::file_pk)
        .load::<i64>(conn)?)
}

/// Number of objects per kind (deleted ones counted apart), for reports.
pub fn count_by_kind(conn: &mut AnyConnection) -> Result<Vec<(Kind, i64, i64)>, DbError> {
    let mut out = Vec::new();
    for kind in Kind::ALL {
        let live: i64 = object::table
            .filter(object::kind.eq(kind.code()))
            .filter(object::deleted.eq(false))
            .count()
            .get_result(conn)?;
        let deleted: i64 = object::table
            .filter(object::kind.eq(kind.code()))
            .filter(object::deleted.eq(true))
            .count()
            .get_result(conn)?;
        out.push((kind, live, deleted));
    }
    Ok(out)
}
