-- A source that is a server of this kind (it publishes the change feed,
-- `server:changes`) is followed through its feed: the next run asks for
-- every change after the revision the last run reached. See src/import.rs.
ALTER TABLE import_source ADD COLUMN feed_url TEXT;
ALTER TABLE import_source ADD COLUMN feed_revision BIGINT;
