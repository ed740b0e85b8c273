-- The store of OParl objects. See src/model.rs for what the codes mean and
-- migrations/README.md for why the layout is generic.

-- One row per OParl object of any kind. Times are Unix seconds (UTC).
CREATE TABLE object (
    pk INTEGER PRIMARY KEY NOT NULL,   -- immutable; the number in the object's URL and the list cursor
    kind SMALLINT NOT NULL,            -- model::Kind
    body_pk BIGINT,                    -- the Body the object belongs to (its own pk for a Body; NULL for the System)
    created BIGINT NOT NULL,
    modified BIGINT NOT NULL,
    deleted BOOLEAN NOT NULL DEFAULT 0,
    fields TEXT NOT NULL               -- JSON object: the object's own values and vendor properties, in source order
);
-- Unfiltered list pages: kind, body, not deleted, pk > cursor.
CREATE INDEX object_list ON object (kind, body_pk, deleted, pk);
-- Lists filtered by modified_* / created_*.
CREATE INDEX object_modified ON object (kind, body_pk, modified);
CREATE INDEX object_created ON object (kind, body_pk, created);

-- Every relation from one object to another: references, arrays of references
-- and embedded children, with their position in an array.
CREATE TABLE link (
    from_pk BIGINT NOT NULL REFERENCES object (pk),
    field SMALLINT NOT NULL,           -- model::RELS code
    position INTEGER NOT NULL,         -- 0-based index in the array (0 for a single value)
    to_pk BIGINT NOT NULL REFERENCES object (pk),
    PRIMARY KEY (from_pk, field, position)
);
-- Back-references and the Organization lists: who points at this object.
CREATE INDEX link_reverse ON link (to_pk, field, from_pk);

-- The bytes of the files we serve ourselves.
CREATE TABLE file_content (
    file_pk BIGINT PRIMARY KEY NOT NULL REFERENCES object (pk),
    bytes BLOB NOT NULL
);
