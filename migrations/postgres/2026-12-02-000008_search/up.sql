-- The full-text index (src/search): one row per live object of a searched
-- kind, with what the search filters and ranks by besides the text (the
-- object's own date, a Paper's reference key) and its terms as a tsvector
-- under a GIN index. The terms are folded and stemmed in Rust with the
-- Snowball German stemmer (the one of the `german` configuration;
-- src/search/text.rs) and handed to the `simple` configuration, so that
-- both backends find the same; the object's own names weigh A, longer
-- texts C.
CREATE TABLE search_doc (
    pk BIGINT PRIMARY KEY NOT NULL,
    date BIGINT,
    ref TEXT,
    vec tsvector NOT NULL
);
CREATE INDEX search_doc_vec ON search_doc USING GIN (vec);
-- Stemming happens in Rust, so the objects already stored are indexed by
-- the program right after this migration (db::run_migrations), which then
-- deletes this row.
CREATE TABLE search_pending (id SMALLINT PRIMARY KEY NOT NULL CHECK (id = 1));
INSERT INTO search_pending (id) VALUES (1);
