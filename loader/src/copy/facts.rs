//! What the audit judges, counted batch by batch as the rows stream into the staging
//! tables: each normalised batch is looked at on its way to the COPY, so the audit needs
//! no second pass. (Reading the staging tables back with one aggregate pass each cost
//! 19.5 % of a day's load, 760 ms of 3.9 s, in `bench/versions.sh`: twice the audit's
//! budget.) Only what the configured checks need is counted.

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use foldhash::HashSet;

/// What a load's audit needs counted, by column position; worked out once per load.
#[derive(Debug, Clone, Default)]
pub(crate) struct FactsPlan {
    columns: usize,
    distinct: Vec<usize>,
    order: Vec<(usize, usize)>,
    range: Vec<(usize, Option<f64>, Option<f64>)>,
}

impl FactsPlan {
    /// Counting nulls of `columns` columns, the distinct values of `distinct`, rows out of
    /// order of each `(before, after)` pair, and rows outside each `(column, min, max)`.
    pub(crate) fn counting(
        columns: usize,
        distinct: Vec<usize>,
        order: Vec<(usize, usize)>,
        range: Vec<(usize, Option<f64>, Option<f64>)>,
    ) -> Self {
        Self {
            columns,
            distinct,
            order,
            range,
        }
    }
}

/// What the audit measures, counted as the rows stream into the staging tables.
#[derive(Debug, Default)]
pub(crate) struct Facts {
    pub(crate) rows: i64,
    /// Rows of each file, in no particular order.
    pub(crate) per_file: Vec<i64>,
    /// Nulls per column, in table order.
    pub(crate) nulls: Vec<i64>,
    /// Distinct values of the planned columns.
    pub(crate) distinct: Vec<(usize, HashSet<String>)>,
    /// Rows whose `after` column is not later than their `before` one: (before, after, rows).
    pub(crate) out_of_order: Vec<(usize, usize, i64)>,
    /// Rows outside the planned ranges: (column, min, max, rows).
    pub(crate) out_of_range: Vec<(usize, Option<f64>, Option<f64>, i64)>,
}

impl Facts {
    pub(crate) fn new(plan: &FactsPlan) -> Self {
        Self {
            nulls: vec![0; plan.columns],
            distinct: plan
                .distinct
                .iter()
                .map(|&c| (c, HashSet::default()))
                .collect(),
            out_of_order: plan.order.iter().map(|&(b, a)| (b, a, 0)).collect(),
            out_of_range: plan
                .range
                .iter()
                .map(|&(c, min, max)| (c, min, max, 0))
                .collect(),
            ..Self::default()
        }
    }

    /// Counts a normalised batch (columns in table order).
    pub(crate) fn add(&mut self, batch: &RecordBatch) {
        self.rows += batch.num_rows() as i64;
        for (sum, column) in self.nulls.iter_mut().zip(batch.columns()) {
            *sum += column.null_count() as i64;
        }
        for (column, seen) in &mut self.distinct {
            add_distinct(seen, batch.column(*column));
        }
        for (before, after, bad) in &mut self.out_of_order {
            // `after <= before`, null where either is null: those rows are not counted.
            if let Ok(not_later) =
                arrow_ord::cmp::lt_eq(batch.column(*after), batch.column(*before))
            {
                *bad += not_later.true_count() as i64;
            }
        }
        for (column, min, max, outside) in &mut self.out_of_range {
            *outside += count_outside(batch.column(*column), *min, *max);
        }
    }

    /// Adds another stream's counts.
    pub(crate) fn merge(&mut self, other: Self) {
        self.rows += other.rows;
        self.per_file.extend(other.per_file);
        for (sum, n) in self.nulls.iter_mut().zip(other.nulls) {
            *sum += n;
        }
        for ((_, seen), (_, more)) in self.distinct.iter_mut().zip(other.distinct) {
            seen.extend(more);
        }
        for (mine, theirs) in self.out_of_order.iter_mut().zip(other.out_of_order) {
            mine.2 += theirs.2;
        }
        for (mine, theirs) in self.out_of_range.iter_mut().zip(other.out_of_range) {
            mine.3 += theirs.3;
        }
    }
}

fn add_distinct(seen: &mut HashSet<String>, column: &dyn Array) {
    let Ok(text) = arrow_cast::cast(column, &DataType::Utf8) else {
        return;
    };
    for value in text.as_string::<i32>().iter().flatten() {
        // Look up before inserting: nearly every value is a repeat, and a repeat then
        // costs no allocation.
        if !seen.contains(value) {
            seen.insert(value.to_owned());
        }
    }
}

fn count_outside(column: &dyn Array, min: Option<f64>, max: Option<f64>) -> i64 {
    let Ok(numbers) = arrow_cast::cast(column, &DataType::Float64) else {
        return 0;
    };
    let outside = |x: f64| min.is_some_and(|m| x < m) || max.is_some_and(|m| x > m);
    numbers
        .as_primitive::<Float64Type>()
        .iter()
        .flatten()
        .filter(|&x| outside(x))
        .count() as i64
}
