-- The change feed reads objects in revision order from a revision on
-- (src/api/changes.rs): a range scan of this index, with the heads a page's
-- ETag and cache lookups need, so a page is read from the index alone.
CREATE INDEX object_revision ON object (revision, pk, kind, body_pk, created, modified, deleted);
PRAGMA analysis_limit = 2000;
ANALYZE object;
DELETE FROM sqlite_stat4;
ANALYZE sqlite_schema;
