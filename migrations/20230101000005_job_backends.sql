-- The server sessions (backends) a run of a job writes through. A worker that stops
-- heartbeating may only be paused (SIGSTOP, a long GC pause, a frozen VM): when it wakes
-- up it must not go on writing. The reaper terminates these sessions before it requeues
-- the job, which also frees the day's advisory lock the paused run held. backend_start
-- guards against a pid the server has since given to another session.
CREATE TABLE ops.job_backends (
    job_id        UUID        NOT NULL REFERENCES ops.jobs (id) ON DELETE CASCADE,
    attempt       INTEGER     NOT NULL,
    pid           INTEGER     NOT NULL,
    backend_start TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (job_id, attempt, pid)
);

-- A run that ends forgets its sessions (they go back to their pools or close).
CREATE OR REPLACE FUNCTION ops.record_job_attempt() RETURNS trigger LANGUAGE plpgsql AS $$
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
        DELETE FROM ops.job_backends WHERE job_id = OLD.id AND attempt = OLD.attempt;
    END IF;
    RETURN NULL;
END
$$;
