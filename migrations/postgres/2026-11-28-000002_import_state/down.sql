DROP TABLE import_id;
DROP TABLE import_source;
