-- Every change to the store is one revision: a number that grows with each
-- committed change and is stamped on every object the change touched (and
-- on every object whose JSON it changed). Caches, ETags and list-page tags
-- key on it; `modified` is the published time and has one-second
-- resolution, so it cannot tell two changes in one second apart.
--
-- The counter is one row, not a sequence: a writer takes the next value
-- with an UPDATE, which holds the row until it commits, so revisions
-- become visible in the order they were handed out. A sequence hands out
-- numbers in the order they are asked for, and a reader of "everything
-- after revision R" could pass over a smaller number committed later.
CREATE TABLE store_revision (
    id SMALLINT PRIMARY KEY NOT NULL CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO store_revision (id, value) VALUES (1, 1);

-- What existed before revisions counted is revision 1.
ALTER TABLE object ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
ALTER TABLE object ALTER COLUMN revision DROP DEFAULT;

-- Primary keys of new objects come from a sequence (blocks of it are taken
-- by the write path while it holds the revision row), never from max(pk).
CREATE SEQUENCE object_pk_seq OWNED BY object.pk;
SELECT setval('object_pk_seq', COALESCE((SELECT max(pk) FROM object), 0) + 1, false);

-- A page's ETag is built from the heads of its objects, now with their
-- revision: keep it in the covering index so the page still comes from the
-- index alone.
DROP INDEX object_list;
CREATE INDEX object_list ON object (kind, body_pk, deleted, pk) INCLUDE (created, modified, revision);
