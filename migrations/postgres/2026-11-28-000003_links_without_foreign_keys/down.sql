ALTER TABLE link ADD CONSTRAINT link_from_pk_fkey FOREIGN KEY (from_pk) REFERENCES object (pk);
ALTER TABLE link ADD CONSTRAINT link_to_pk_fkey FOREIGN KEY (to_pk) REFERENCES object (pk);
ALTER TABLE import_id ADD CONSTRAINT import_id_pk_fkey FOREIGN KEY (pk) REFERENCES object (pk);
ALTER TABLE import_id ADD CONSTRAINT import_id_source_fkey FOREIGN KEY (source) REFERENCES import_source (id);
