-- Staging tables live in a schema of their own until the swap moves them into dwh. Readers
-- are granted nothing here (no USAGE, and no default privileges), so a load's rows cannot be
-- read before its audit and swap, and the leaves it makes carry no grant of their own:
-- readers read the day through dwh.data_sample and the day's table.
CREATE SCHEMA IF NOT EXISTS dwh_staging;
