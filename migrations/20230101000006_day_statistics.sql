-- The day's distinct names, counted by its load while the rows streamed past, so that
-- GET /partitions/{date} reads them instead of scanning the day. Null for a day loaded
-- before they were kept (it is then scanned, once per request, as before).
ALTER TABLE dwh.day_loads
    ADD COLUMN distinct_department_names BIGINT,
    ADD COLUMN distinct_sensor_serials   BIGINT,
    ADD COLUMN distinct_product_names    BIGINT;
