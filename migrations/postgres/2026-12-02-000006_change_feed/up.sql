-- The change feed reads objects in revision order from a revision on
-- (src/api/changes.rs): a range scan of this index, with the heads a page's
-- ETag and cache lookups need, so a page is read from the index alone.
CREATE INDEX object_revision ON object (revision, pk) INCLUDE (kind, body_pk, created, modified, deleted);
