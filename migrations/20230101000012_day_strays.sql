-- Names in the data directory that start with a day but are not one of its minute files
-- (`2023-01-01 00:00:00 (1).parquet`, a `.bak`): while a day has any, its load would be
-- refused as ambiguous, so the watcher does not queue it; their coming and going is a
-- change of the day, which settles like any other. A day whose strays are gone keeps its
-- row with no names: when that happened is what its settling counts from.
CREATE TABLE ops.day_strays (
    day        DATE PRIMARY KEY,
    names      TEXT[]      NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);

-- Announced to the dashboard like the ledger's own changes.
CREATE TRIGGER day_strays_inserted AFTER INSERT ON ops.day_strays
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ops.notify_day_events();
CREATE TRIGGER day_strays_updated AFTER UPDATE ON ops.day_strays
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ops.notify_day_events();
