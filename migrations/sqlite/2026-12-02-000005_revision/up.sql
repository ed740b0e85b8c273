-- Every change to the store is one revision: a number that grows with each
-- committed change and is stamped on every object the change touched (and
-- on every object whose JSON it changed). Caches, ETags and list-page tags
-- key on it; `modified` is the published time and has one-second
-- resolution, so it cannot tell two changes in one second apart.
--
-- The counter is one row; a writer takes the next value as the first
-- statement of its transaction, which also takes SQLite's write lock, so
-- revisions are committed in the order they were handed out. New pks are
-- max(pk) + 1 under that lock (the INTEGER PRIMARY KEY rule of SQLite).
CREATE TABLE store_revision (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO store_revision (id, value) VALUES (1, 1);

-- What existed before revisions counted is revision 1.
ALTER TABLE object ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;

-- A page's ETag is built from the heads of its objects, now with their
-- revision: keep it in the covering index so the page still comes from the
-- index alone.
DROP INDEX object_list;
CREATE INDEX object_list ON object (kind, body_pk, deleted, pk, created, modified, revision);
PRAGMA analysis_limit = 2000;
ANALYZE object;
DELETE FROM sqlite_stat4;
ANALYZE sqlite_schema;
