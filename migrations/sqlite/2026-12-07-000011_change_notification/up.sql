-- PostgreSQL's migration of this number adds the change notification of
-- the notification mode. SQLite needs none: its version is read from the
-- wal-index without a query (src/db/version.rs). This keeps the two
-- migration lists in step.
SELECT 1;
