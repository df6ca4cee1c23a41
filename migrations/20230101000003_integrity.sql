-- A day replaced from fewer than its 1,440 minute files (only when a caller allowed a
-- partial day) records the minutes it lacks; empty for a whole day.
ALTER TABLE dwh.day_loads ADD COLUMN missing_minutes TIME[] NOT NULL DEFAULT '{}';

-- What a job's caller allowed: loading an incomplete day, and a replace that shrinks the
-- day below the shrink guard.
ALTER TABLE ops.jobs
    ADD COLUMN allow_partial BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN force         BOOLEAN NOT NULL DEFAULT false;
