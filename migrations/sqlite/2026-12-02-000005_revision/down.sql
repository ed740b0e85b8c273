DROP INDEX object_list;
CREATE INDEX object_list ON object (kind, body_pk, deleted, pk, created, modified);
ALTER TABLE object DROP COLUMN revision;
DROP TABLE store_revision;
