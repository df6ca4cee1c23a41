-- Live appends for declared datasets (`live = true`): a dataset's file ledger says, per
-- file, whether its rows came from a live append or from a job's load, and how many a
-- live append stored, as the sample's ledger does (ops.minute_files).
ALTER TABLE ops.dataset_files
    ADD COLUMN loaded_by text CHECK (loaded_by IN ('live', 'job')),
    ADD COLUMN loaded_rows bigint;

UPDATE ops.dataset_files SET loaded_by = 'job' WHERE job_id IS NOT NULL;
