//! What the audit judges, counted batch by batch as the rows stream into the staging
//! tables.

use std::collections::BTreeMap;

use arrow_array::{Array, RecordBatch, TimestampMicrosecondArray};

use crate::warehouse::table::Table;

/// The sample's columns: facts are counted of the sample's days only.
const COLUMNS: usize = 5;

/// What the audit measures, counted as the rows stream into the staging tables: each
/// normalised batch is looked at on its way to the COPY, so the audit needs no second
/// pass. (Reading the staging tables back with one aggregate pass each cost 19.5 % of a
/// day's load, 760 ms of 3.9 s, in `bench/versions.sh`: twice the audit's budget.)
#[derive(Debug, Default)]
pub(crate) struct Facts {
    pub(crate) rows: i64,
    /// Rows per minute of `create_at` (minutes since the epoch), for the minutes present.
    pub(crate) per_minute: BTreeMap<i64, i64>,
    pub(crate) nulls: [i64; COLUMNS],
    pub(crate) expire_not_after_create: i64,
}

const MICROS_PER_MINUTE: i64 = 60_000_000;

impl Facts {
    /// Counts a normalised batch (columns in table order, timestamps in microseconds).
    pub(crate) fn add(&mut self, batch: &RecordBatch) {
        self.rows += batch.num_rows() as i64;
        for (sum, column) in self.nulls.iter_mut().zip(batch.columns()) {
            *sum += column.null_count() as i64;
        }
        let created = timestamps(batch, "create_at");
        let expires = timestamps(batch, "product_expire");
        // A file's rows share their minute: count runs, not rows, into the map.
        let mut run: Option<(i64, i64)> = None;
        for (created, expires) in created.iter().zip(expires.iter()) {
            let Some(at) = created else { continue };
            if expires.is_some_and(|expires| expires <= at) {
                self.expire_not_after_create += 1;
            }
            let minute = at.div_euclid(MICROS_PER_MINUTE);
            match &mut run {
                Some((current, n)) if *current == minute => *n += 1,
                _ => {
                    if let Some((done, n)) = run.replace((minute, 1)) {
                        *self.per_minute.entry(done).or_default() += n;
                    }
                }
            }
        }
        if let Some((minute, n)) = run {
            *self.per_minute.entry(minute).or_default() += n;
        }
    }

    /// Adds another stream's counts.
    pub(crate) fn merge(&mut self, other: Self) {
        self.rows += other.rows;
        for (minute, n) in other.per_minute {
            *self.per_minute.entry(minute).or_default() += n;
        }
        for (sum, n) in self.nulls.iter_mut().zip(other.nulls) {
            *sum += n;
        }
        self.expire_not_after_create += other.expire_not_after_create;
    }
}

fn timestamps<'b>(batch: &'b RecordBatch, name: &str) -> &'b TimestampMicrosecondArray {
    let index = Table::sample()
        .columns()
        .iter()
        .position(|column| column.name == name)
        .expect("a column of the sample's table");
    batch
        .column(index)
        .as_any()
        .downcast_ref::<TimestampMicrosecondArray>()
        .expect("normalised timestamps are in microseconds")
}
