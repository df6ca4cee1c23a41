#!/usr/bin/env python3
"""Writes days of the example `meters` dataset (deploy/datasets/example.toml): 24 hourly
Parquet files a day under meters/YYYY-MM-DD/HH.parquet, each with ten readings — meter
`hour * 100 + i`, read at HH:0i, `i / 4` kWh. The day 2024-03-09 is in the repository;
write more with pyarrow installed (scripts/install-test-tools.sh puts it in
target/e2e-venv):

    target/e2e-venv/bin/python deploy/datasets/write-meters.py 2024-03-10 2024-03-11
"""
import datetime
import pathlib
import sys

import pyarrow as pa
import pyarrow.parquet as pq

READINGS_PER_HOUR = 10


def write_day(root: pathlib.Path, day: datetime.date) -> None:
    folder = root / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    midnight = datetime.datetime.combine(day, datetime.time())
    for hour in range(24):
        at = [midnight + datetime.timedelta(hours=hour, minutes=i) for i in range(READINGS_PER_HOUR)]
        table = pa.table({
            "meter": pa.array([hour * 100 + i for i in range(READINGS_PER_HOUR)], pa.int64()),
            "read_at": pa.array(at, pa.timestamp("us")),
            "kwh": pa.array([i / 4 for i in range(READINGS_PER_HOUR)], pa.float64()),
        })
        # Written under a temporary name and renamed, as a careful producer does: a
        # watcher never sees half a file.
        temporary = folder / f".{hour:02}.parquet.tmp"
        pq.write_table(table, temporary)
        temporary.rename(folder / f"{hour:02}.parquet")


def main() -> None:
    days = sys.argv[1:] or ["2024-03-09"]
    root = pathlib.Path(__file__).resolve().parent / "meters"
    for text in days:
        write_day(root, datetime.date.fromisoformat(text))
        print(f"wrote {root / text}/00..23.parquet")


if __name__ == "__main__":
    main()
