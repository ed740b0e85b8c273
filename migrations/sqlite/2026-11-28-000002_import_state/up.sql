-- What `oparl import` remembers between runs. See src/import.rs.

-- One row per imported source: a System URL or a dump's path.
CREATE TABLE import_source (
    id INTEGER PRIMARY KEY NOT NULL,
    source TEXT NOT NULL UNIQUE,
    -- Start of the last run that finished (Unix seconds): the next
    -- incremental run asks for modified_since this minus the safety margin.
    last_started BIGINT,
    last_finished BIGINT,
    runs INTEGER NOT NULL DEFAULT 0
);

-- The object each source id became. The source id is the id the source
-- gave, without its scheme (http and https spellings of one id are one
-- object); `hash` summarises what the object looked like at the source, so
-- a re-run skips what did not change.
CREATE TABLE import_id (
    source_id TEXT PRIMARY KEY NOT NULL,
    source INTEGER NOT NULL REFERENCES import_source (id),
    pk BIGINT NOT NULL REFERENCES object (pk),
    hash BIGINT NOT NULL
);
CREATE INDEX import_id_source ON import_id (source, pk);
