-- The notification mode of `oparl serve` (src/db/pg_watch.rs): every
-- commit that stamps a revision (src/store/write.rs, the one write path)
-- tells the listening server instances on channel `oparl_change`, with the
-- new revision as payload. PostgreSQL delivers a notification only once
-- its transaction has committed, and never one of a rolled-back change.
CREATE FUNCTION oparl_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('oparl_change', NEW.value::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER store_revision_notify AFTER UPDATE ON store_revision
    FOR EACH ROW EXECUTE FUNCTION oparl_notify_change();
