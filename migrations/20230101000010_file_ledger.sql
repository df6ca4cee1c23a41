-- The file ledger: every minute file the watchers have seen in the data directory, what
-- it was when last seen, and what loaded it. One row per (day, minute): a file rewritten
-- in place or replaced by a rename updates its row.
CREATE TABLE ops.minute_files (
    day          DATE        NOT NULL,
    minute       SMALLINT    NOT NULL CHECK (minute BETWEEN 0 AND 1439),
    name         TEXT        NOT NULL,
    size         BIGINT      NOT NULL,
    mtime        TIMESTAMPTZ NOT NULL,
    -- SHA-256 of the Parquet footer, in hex.
    fingerprint  TEXT        NOT NULL,
    first_seen   TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- When the file last differed from what was recorded (new, rewritten, touched, gone,
    -- back): a day is settled when none of its files changed for SETTLE_SECS.
    changed_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Set while the file is missing from the directory.
    gone_at      TIMESTAMPTZ,
    -- What put the file's rows in dwh.data_sample: 'live' (appended alone, in the
    -- transaction that wrote this), or 'job' (the load of job_id).
    loaded_by    TEXT        CHECK (loaded_by IN ('live', 'job')),
    job_id       UUID,
    -- The fingerprint of the file as it was loaded, and when it became visible.
    loaded_fingerprint TEXT,
    loaded_at    TIMESTAMPTZ,
    loaded_rows  BIGINT,
    PRIMARY KEY (day, minute),
    CHECK ((loaded_by IS NULL) = (loaded_at IS NULL)),
    CHECK ((loaded_by = 'job') = (job_id IS NOT NULL))
);

-- The live appender's work list: files seen but not loaded.
CREATE INDEX minute_files_unloaded ON ops.minute_files (day, minute) WHERE loaded_by IS NULL;
