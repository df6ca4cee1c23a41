-- The warehouse table, partitioned by day. Partitions are created by the loader when it
-- swaps a day in (dwh.data_sample_pYYYYMMDD); there is deliberately no DEFAULT partition,
-- so a row outside every loaded day is an error instead of being silently swallowed.
CREATE SCHEMA IF NOT EXISTS dwh;

CREATE TABLE dwh.data_sample (
    department_name VARCHAR(32),
    sensor_serial   VARCHAR(64),
    create_at       TIMESTAMP NOT NULL,
    product_name    VARCHAR(16),
    product_expire  TIMESTAMP
) PARTITION BY RANGE (create_at);

-- One row per loaded day, written in the same transaction as the partition swap, so it
-- always describes the partition readers see.
CREATE TABLE dwh.day_loads (
    day        DATE PRIMARY KEY,
    partition  TEXT        NOT NULL,
    rows       BIGINT      NOT NULL,
    files      INTEGER     NOT NULL,
    bytes      BIGINT      NOT NULL,
    job_id     UUID,
    loaded_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
