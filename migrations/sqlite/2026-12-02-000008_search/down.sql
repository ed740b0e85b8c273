DROP TABLE search_pending;
DROP TABLE search_text;
DROP TABLE search_doc;
