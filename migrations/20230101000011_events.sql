-- Live events for the dashboard (GET /events): every instance LISTENs on `dwh_events`, so a
-- job run by one instance moves the progress bars served by any other. Sent by triggers,
-- in the transaction that makes the change, so an event is delivered if and only if its
-- change commits, in commit order. (Each instance numbers the events in the order it
-- receives them; a number taken here would follow statement order, not commit order.)

CREATE FUNCTION ops.notify_job_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind TEXT;
BEGIN
    IF TG_OP = 'INSERT' THEN
        kind := 'created';
    ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
        kind := CASE WHEN NEW.status IN ('succeeded', 'failed', 'cancelled')
                     THEN 'finished' ELSE 'status' END;
    ELSIF (NEW.files_done, NEW.rows_done, NEW.files_total)
          IS DISTINCT FROM (OLD.files_done, OLD.rows_done, OLD.files_total) THEN
        kind := 'progress';
    ELSE
        RETURN NULL; -- a heartbeat without progress: nothing to show
    END IF;
    PERFORM pg_notify('dwh_events', json_build_object(
        'event', 'job', 'kind', kind,
        'job_id', NEW.id, 'date', NEW.date, 'status', NEW.status, 'trigger', NEW.trigger,
        'files_done', NEW.files_done, 'files_total', NEW.files_total,
        'rows_done', NEW.rows_done)::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_events AFTER INSERT OR UPDATE ON ops.jobs
    FOR EACH ROW EXECUTE FUNCTION ops.notify_job_event();

-- A day's state changes when it is loaded (dwh.day_loads) and when its files are seen or
-- appended live (the file ledger). One event per day a statement touched: recording a
-- month of files, or marking a day's 1,440 files as loaded, is one statement.
CREATE FUNCTION ops.notify_day_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('dwh_events', json_build_object(
        'event', 'day', 'date', d.day)::text)
    FROM (SELECT DISTINCT day FROM changed ORDER BY day) d;
    RETURN NULL;
END
$$;

CREATE TRIGGER day_loads_inserted AFTER INSERT ON dwh.day_loads
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ops.notify_day_events();
CREATE TRIGGER day_loads_updated AFTER UPDATE ON dwh.day_loads
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ops.notify_day_events();
CREATE TRIGGER minute_files_inserted AFTER INSERT ON ops.minute_files
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ops.notify_day_events();
CREATE TRIGGER minute_files_updated AFTER UPDATE ON ops.minute_files
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ops.notify_day_events();
