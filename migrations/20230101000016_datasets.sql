-- Datasets: the day records and versions of every dataset share these two tables, keyed by
-- the dataset's name. The sample's rows, loaded before datasets existed, are 'sample's; its
-- loads keep writing exactly what they wrote, with the dataset named.
ALTER TABLE dwh.day_loads ADD COLUMN dataset TEXT NOT NULL DEFAULT 'sample';
ALTER TABLE dwh.day_loads DROP CONSTRAINT day_loads_pkey;
ALTER TABLE dwh.day_loads ADD PRIMARY KEY (dataset, day);

ALTER TABLE dwh_history.versions ADD COLUMN dataset TEXT NOT NULL DEFAULT 'sample';
ALTER TABLE dwh_history.versions DROP CONSTRAINT versions_pkey;
ALTER TABLE dwh_history.versions ADD PRIMARY KEY (dataset, day, version);
DROP INDEX dwh_history.versions_one_current;
CREATE UNIQUE INDEX versions_one_current ON dwh_history.versions (dataset, day)
    WHERE replaced_at IS NULL;
