-- Versioned days. A replace keeps the day's old leaves as the day's previous version, in
-- schema dwh_history (readers of dwh are granted nothing there), so that a later rollback
-- can swap them back as cheaply as the load swapped them out.
CREATE SCHEMA IF NOT EXISTS dwh_history;

-- Every version of every day: the current one (replaced_at IS NULL, its leaves in dwh)
-- and the kept ones (their leaves in dwh_history, named in `leaves`, with the range each
-- covered so that it can be attached again). Written in the swap's transaction, like
-- dwh.day_loads, so it always describes what is where.
CREATE TABLE dwh_history.versions (
    day                       DATE        NOT NULL,
    version                   INTEGER     NOT NULL CHECK (version >= 1),
    job_id                    UUID,
    loaded_at                 TIMESTAMPTZ NOT NULL,
    rows                      BIGINT      NOT NULL,
    files                     INTEGER     NOT NULL,
    bytes                     BIGINT      NOT NULL,
    missing_minutes           TIME[]      NOT NULL DEFAULT '{}',
    distinct_department_names BIGINT,
    distinct_sensor_serials   BIGINT,
    distinct_product_names    BIGINT,
    -- The audit results of the load that made the version (an empty list: not audited).
    audits                    JSONB       NOT NULL DEFAULT '[]',
    -- When it stopped being the day's current version; null while it is.
    replaced_at               TIMESTAMPTZ,
    -- When retention dropped its rows. The record stays: version numbers are never
    -- reused, and the day's history of loads and audits stays readable.
    pruned_at                 TIMESTAMPTZ,
    leaves                    TEXT[]      NOT NULL DEFAULT '{}',
    leaf_starts               TIMESTAMP[] NOT NULL DEFAULT '{}',
    leaf_ends                 TIMESTAMP[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (day, version),
    CHECK (cardinality(leaves) = cardinality(leaf_starts)
           AND cardinality(leaves) = cardinality(leaf_ends)),
    CHECK (replaced_at IS NOT NULL OR cardinality(leaves) = 0),
    CHECK (pruned_at IS NULL OR (replaced_at IS NOT NULL AND cardinality(leaves) = 0))
);
-- At most one current version per day.
CREATE UNIQUE INDEX versions_one_current ON dwh_history.versions (day) WHERE replaced_at IS NULL;

ALTER TABLE dwh.day_loads ADD COLUMN version INTEGER;

-- The days loaded before versions were kept: their current rows are version 1.
INSERT INTO dwh_history.versions
    (day, version, job_id, loaded_at, rows, files, bytes, missing_minutes,
     distinct_department_names, distinct_sensor_serials, distinct_product_names)
SELECT day, 1, job_id, loaded_at, rows, files, bytes, missing_minutes,
       distinct_department_names, distinct_sensor_serials, distinct_product_names
FROM dwh.day_loads;
UPDATE dwh.day_loads SET version = 1;

-- Jobs: a rollback is a job too (trigger `rollback`, with the version it swaps back in),
-- and every load's audit results are kept with its job, whether they let it publish or not.
ALTER TABLE ops.jobs DROP CONSTRAINT jobs_trigger_check;
ALTER TABLE ops.jobs ADD CONSTRAINT jobs_trigger_check
    CHECK (trigger IN ('api', 'backfill', 'auto', 'changed', 'rollback'));
ALTER TABLE ops.jobs
    ADD COLUMN rollback_to INTEGER,
    ADD COLUMN audits JSONB,
    ADD CONSTRAINT jobs_rollback_has_version CHECK ((trigger = 'rollback') = (rollback_to IS NOT NULL));
