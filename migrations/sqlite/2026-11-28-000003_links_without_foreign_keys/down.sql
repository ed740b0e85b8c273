CREATE TABLE link_old (
    from_pk BIGINT NOT NULL REFERENCES object (pk),
    field SMALLINT NOT NULL,
    position INTEGER NOT NULL,
    to_pk BIGINT NOT NULL REFERENCES object (pk),
    PRIMARY KEY (from_pk, field, position)
);
INSERT INTO link_old SELECT from_pk, field, position, to_pk FROM link;
DROP TABLE link;
ALTER TABLE link_old RENAME TO link;
CREATE INDEX link_reverse ON link (to_pk, field, from_pk);

CREATE TABLE import_id_old (
    source_id TEXT PRIMARY KEY NOT NULL,
    source INTEGER NOT NULL REFERENCES import_source (id),
    pk BIGINT NOT NULL REFERENCES object (pk),
    hash BIGINT NOT NULL
);
INSERT INTO import_id_old SELECT source_id, source, pk, hash FROM import_id;
DROP TABLE import_id;
ALTER TABLE import_id_old RENAME TO import_id;
CREATE INDEX import_id_source ON import_id (source, pk);
