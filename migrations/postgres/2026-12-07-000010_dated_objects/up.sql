-- The start page and each Body's page show the next meetings and the newest
-- papers: objects in the order of their own date (search_doc.date, see
-- 000008), read from this index from a day on, forwards or backwards.
CREATE INDEX search_doc_date ON search_doc (date);
