DROP TRIGGER store_revision_notify ON store_revision;
DROP FUNCTION oparl_notify_change();
