DROP INDEX object_list;
CREATE INDEX object_list ON object (kind, body_pk, deleted, pk);
