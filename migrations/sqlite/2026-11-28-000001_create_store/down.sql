DROP TABLE file_content;
DROP TABLE link;
DROP TABLE object;
