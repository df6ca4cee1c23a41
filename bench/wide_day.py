"""Writes a day of a 20-column dataset: 24 hourly Parquet files (`%Y/%m/%d/%H.parquet`)
of 87,500 rows each (2,100,000 in all), every column type the loader maps, with nulls.
Deterministic: the same files on every run. DuckDB writes them (snappy, its defaults).

    python bench/wide_day.py OUT_DIR [DATE]
"""

import os
import sys

import duckdb

ROWS_PER_HOUR = 87_500
out = sys.argv[1]
day = sys.argv[2] if len(sys.argv) > 2 else "2024-03-09"
y, m, d = day.split("-")

con = duckdb.connect()
con.execute("SET threads = 2")
for hour in range(24):
    folder = os.path.join(out, y, m, d)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{hour:02d}.parquet")
    first = hour * ROWS_PER_HOUR
    con.execute(
        f"""
        COPY (
            SELECT
                i AS id,
                TIMESTAMP '{day}' + INTERVAL ({hour} * 3600 + (i % 3600)) SECOND AS pickup_at,
                (TIMESTAMP '{day}' + INTERVAL ({hour} * 3600 + (i % 3600) + 600) SECOND)::TIMESTAMPTZ AS dropoff_at,
                (i % 265)::SMALLINT AS pickup_zone,
                ((i * 7) % 265)::SMALLINT AS dropoff_zone,
                (i % 6)::UTINYINT AS passengers,
                (i % 100000)::INTEGER AS driver_id,
                (i * 31)::BIGINT AS trip_seq,
                (i % 5000)::UINTEGER AS vehicle_id,
                ((i % 2000) / 100.0)::REAL AS distance_km,
                ((i % 9000) / 7.0)::DOUBLE AS duration_s,
                ((i % 10000) / 100.0)::DECIMAL(12, 2) AS fare,
                CASE WHEN i % 11 = 0 THEN NULL ELSE ((i % 500) / 100.0)::DECIMAL(12, 2) END AS tip,
                i % 3 = 0 AS shared,
                ['card', 'cash', 'app', 'voucher'][(i % 4) + 1] AS payment,
                'vendor-' || (i % 40)::VARCHAR AS vendor,
                CASE WHEN i % 17 = 0 THEN NULL ELSE 'note ' || (i % 997)::VARCHAR END AS note,
                DATE '{day}' - (i % 3)::INTEGER AS service_day,
                TIME '00:00:00' + INTERVAL (i % 86400) SECOND AS shift_start,
                ('\\x' || lpad(to_hex(i % 65536), 4, '0'))::BLOB AS flags
            FROM range({first}, {first + ROWS_PER_HOUR}) t(i)
        ) TO '{path}' (FORMAT parquet)
        """
    )
print(f"{24 * ROWS_PER_HOUR} rows in 24 files under {out}")
