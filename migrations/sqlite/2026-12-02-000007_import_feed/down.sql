ALTER TABLE import_source DROP COLUMN feed_revision;
ALTER TABLE import_source DROP COLUMN feed_url;
