DROP INDEX search_doc_date;
