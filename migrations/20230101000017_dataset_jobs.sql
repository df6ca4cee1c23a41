-- Datasets in the service: every job is a dataset's, one active job per (dataset, date);
-- the file ledger of a declared dataset is kept per file; events name their dataset.
-- The sample's jobs, queued before datasets existed, are 'sample's; its ledger
-- (ops.minute_files, ops.day_strays) stays as it is.

ALTER TABLE ops.jobs ADD COLUMN dataset TEXT NOT NULL DEFAULT 'sample';
DROP INDEX ops.jobs_one_active_per_date;
CREATE UNIQUE INDEX jobs_one_active_per_day ON ops.jobs (dataset, date)
    WHERE status IN ('queued', 'running');
-- A dataset's jobs of a day (its page, the settle check), newest first.
CREATE INDEX jobs_by_day ON ops.jobs (dataset, date, created_at DESC);

-- The file ledger of declared datasets: every file of a dataset's pattern a watcher has
-- seen (under its path from the dataset's source), and the day's marker file when the
-- completeness rule is one. A file rewritten in place updates its row.
CREATE TABLE ops.dataset_files (
    dataset      TEXT        NOT NULL,
    day          DATE        NOT NULL,
    path         TEXT        NOT NULL,
    -- 'file': one of the day's files; 'marker': the rule's marker (`_SUCCESS`).
    kind         TEXT        NOT NULL DEFAULT 'file' CHECK (kind IN ('file', 'marker')),
    size         BIGINT      NOT NULL,
    mtime        TIMESTAMPTZ NOT NULL,
    -- SHA-256 of the Parquet footer in hex; empty for a marker.
    fingerprint  TEXT        NOT NULL,
    first_seen   TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    changed_at   TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    gone_at      TIMESTAMPTZ,
    -- The job whose load holds the file's rows, and the fingerprint it loaded.
    job_id       UUID,
    loaded_fingerprint TEXT,
    loaded_at    TIMESTAMPTZ,
    PRIMARY KEY (dataset, day, path)
);

-- Day events name their dataset: the dashboard of one dataset ignores another's.
CREATE OR REPLACE FUNCTION ops.notify_day_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('dwh_events', json_build_object(
        'event', 'day', 'dataset', 'sample', 'date', d.day)::text)
    FROM (SELECT DISTINCT day FROM changed ORDER BY day) d;
    RETURN NULL;
END
$$;

CREATE FUNCTION ops.notify_dataset_day_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('dwh_events', json_build_object(
        'event', 'day', 'dataset', d.dataset, 'date', d.day)::text)
    FROM (SELECT DISTINCT dataset, day FROM changed ORDER BY dataset, day) d;
    RETURN NULL;
END
$$;

DROP TRIGGER day_loads_inserted ON dwh.day_loads;
DROP TRIGGER day_loads_updated ON dwh.day_loads;
CREATE TRIGGER day_loads_inserted AFTER INSERT ON dwh.day_loads
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ops.notify_dataset_day_events();
CREATE TRIGGER day_loads_updated AFTER UPDATE ON dwh.day_loads
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ops.notify_dataset_day_events();
CREATE TRIGGER dataset_files_inserted AFTER INSERT ON ops.dataset_files
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ops.notify_dataset_day_events();
CREATE TRIGGER dataset_files_updated AFTER UPDATE ON ops.dataset_files
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ops.notify_dataset_day_events();

CREATE OR REPLACE FUNCTION ops.notify_job_event() RETURNS trigger LANGUAGE plpgsql AS $$
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
        'event', 'job', 'kind', kind, 'dataset', NEW.dataset,
        'job_id', NEW.id, 'date', NEW.date, 'status', NEW.status, 'trigger', NEW.trigger,
        'files_done', NEW.files_done, 'files_total', NEW.files_total,
        'rows_done', NEW.rows_done)::text);
    RETURN NULL;
END
$$;

-- The service's HTTP role reads the new ledger as it reads the sample's.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'dwh_api') THEN
        GRANT SELECT ON ops.dataset_files TO dwh_api;
    END IF;
END
$$;
