-- The full-text index (src/search): one row per live object of a searched
-- kind. `search_doc` holds what the search filters and ranks by besides
-- the text (the object's own date, a Paper's reference key); the FTS5
-- table `search_text` holds its terms under the same rowid, already folded
-- and stemmed in Rust (src/search/text.rs), so the tokenizer only splits
-- at spaces. Contentless: the terms are not kept twice, and snippets are
-- made from the objects themselves.
CREATE TABLE search_doc (
    pk INTEGER PRIMARY KEY NOT NULL,
    date BIGINT,
    ref TEXT
);
CREATE VIRTUAL TABLE search_text USING fts5(
    head, body,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0'
);
-- Stemming happens in Rust, so the objects already stored are indexed by
-- the program right after this migration (db::run_migrations), which then
-- deletes this row.
CREATE TABLE search_pending (id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1));
INSERT INTO search_pending (id) VALUES (1);
