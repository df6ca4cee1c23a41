-- Every run of a job, kept: which worker ran it, when, how it ended and why. (A job's own
-- row holds only its latest error; a retried job would otherwise lose the reason its
-- earlier runs failed.) Written by a trigger on ops.jobs, in the transaction that changes
-- the job's state, so that no code path can forget it.
CREATE TABLE ops.job_attempts (
    run           BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id        UUID        NOT NULL REFERENCES ops.jobs (id) ON DELETE CASCADE,
    attempt       INTEGER     NOT NULL,
    worker_id     TEXT        NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    -- released: handed back at shutdown, not counted as an attempt.
    outcome       TEXT CHECK (outcome IN ('succeeded', 'failed', 'cancelled', 'requeued', 'released')),
    error_message TEXT,
    error_file    TEXT,
    error_row     BIGINT,
    error_column  TEXT
);
CREATE INDEX job_attempts_by_job ON ops.job_attempts (job_id, run);

CREATE FUNCTION ops.record_job_attempt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'running' AND OLD.status <> 'running' THEN
        INSERT INTO ops.job_attempts (job_id, attempt, worker_id, started_at)
        VALUES (NEW.id, NEW.attempt, NEW.worker_id, NEW.started_at);
    ELSIF OLD.status = 'running' AND NEW.status <> 'running' THEN
        UPDATE ops.job_attempts SET
            finished_at = clock_timestamp(),
            outcome = CASE
                WHEN NEW.status <> 'queued' THEN NEW.status
                WHEN NEW.attempt < OLD.attempt THEN 'released'
                ELSE 'requeued'
            END,
            error_message = NEW.error_message, error_file = NEW.error_file,
            error_row = NEW.error_row, error_column = NEW.error_column
        WHERE job_id = OLD.id AND finished_at IS NULL;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_record_attempts AFTER UPDATE OF status ON ops.jobs
    FOR EACH ROW EXECUTE FUNCTION ops.record_job_attempt();
