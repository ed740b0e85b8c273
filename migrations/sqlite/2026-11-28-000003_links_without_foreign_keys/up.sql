-- Foreign keys on the two largest tables cost a check per row on every
-- bulk load; every write goes through src/store/write.rs and
-- src/import/apply.rs, which resolve each target before writing, and the
-- tests crawl every URL the server emits; see migrations/README.md.
-- SQLite cannot drop a constraint: the tables are rebuilt without it.
CREATE TABLE link_new (
    from_pk BIGINT NOT NULL,
    field SMALLINT NOT NULL,
    position INTEGER NOT NULL,
    to_pk BIGINT NOT NULL,
    PRIMARY KEY (from_pk, field, position)
);
INSERT INTO link_new SELECT from_pk, field, position, to_pk FROM link;
DROP TABLE link;
ALTER TABLE link_new RENAME TO link;
CREATE INDEX link_reverse ON link (to_pk, field, from_pk);

CREATE TABLE import_id_new (
    source_id TEXT PRIMARY KEY NOT NULL,
    source INTEGER NOT NULL,
    pk BIGINT NOT NULL,
    hash BIGINT NOT NULL
);
INSERT INTO import_id_new SELECT source_id, source, pk, hash FROM import_id;
DROP TABLE import_id;
ALTER TABLE import_id_new RENAME TO import_id;
CREATE INDEX import_id_source ON import_id (source, pk);
