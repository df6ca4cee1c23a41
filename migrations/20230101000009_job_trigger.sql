-- What queued a job: a request for the day (api), a request for a range (backfill); the
-- pipeline mode's own triggers (auto: a day became complete; changed: a loaded day's
-- files changed) are admitted already, so that the column needs no second migration.
ALTER TABLE ops.jobs ADD COLUMN trigger TEXT NOT NULL DEFAULT 'api'
    CHECK (trigger IN ('api', 'backfill', 'auto', 'changed'));
