-- Load jobs of the API. The table is the truth about every load: any number of API
-- instances share it, claim work from it (FOR UPDATE SKIP LOCKED) and report through it.
CREATE SCHEMA IF NOT EXISTS ops;

CREATE TABLE ops.jobs (
    id               UUID        PRIMARY KEY,
    date             DATE        NOT NULL,
    status           TEXT        NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    attempt          INTEGER     NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts     INTEGER     NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    files_done       BIGINT      NOT NULL DEFAULT 0,
    files_total      BIGINT,
    rows_done        BIGINT      NOT NULL DEFAULT 0,
    rows_total       BIGINT,
    rows_loaded      BIGINT,
    replaced_rows    BIGINT,
    error_message    TEXT,
    error_file       TEXT,
    error_row        BIGINT,
    error_column     TEXT,
    cancel_requested BOOLEAN     NOT NULL DEFAULT false,
    worker_id        TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    -- A job is not claimed before run_after: retries of transient failures back off.
    run_after        TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    started_at       TIMESTAMPTZ,
    heartbeat_at     TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ,
    CHECK ((status IN ('succeeded', 'failed', 'cancelled')) = (finished_at IS NOT NULL)),
    CHECK (status <> 'running' OR (worker_id IS NOT NULL AND heartbeat_at IS NOT NULL))
);

-- At most one queued-or-running job per day, however many instances insert at once.
CREATE UNIQUE INDEX jobs_one_active_per_date ON ops.jobs (date)
    WHERE status IN ('queued', 'running');
-- The claim query: oldest runnable job first.
CREATE INDEX jobs_queue ON ops.jobs (run_after, created_at) WHERE status = 'queued';
-- The reaper: running jobs by heartbeat.
CREATE INDEX jobs_running ON ops.jobs (heartbeat_at) WHERE status = 'running';
-- Listing, newest first, with a (created_at, id) cursor.
CREATE INDEX jobs_listing ON ops.jobs (created_at DESC, id DESC);
