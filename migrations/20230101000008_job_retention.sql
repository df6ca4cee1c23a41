-- Finished jobs are pruned by age (JOB_RETENTION_DAYS): found by their end time.
CREATE INDEX jobs_finished ON ops.jobs (finished_at) WHERE finished_at IS NOT NULL;
