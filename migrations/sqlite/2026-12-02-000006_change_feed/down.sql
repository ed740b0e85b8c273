DROP INDEX object_revision;
