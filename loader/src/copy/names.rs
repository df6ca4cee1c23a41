//! The distinct names of a day, counted while its rows stream by, so that asking for them
//! later is a lookup in `dwh.day_loads` instead of a scan of the day.

use arrow_array::{Array, RecordBatch, StringArray};

use foldhash::HashSet;

use crate::warehouse::table::Table;

/// The sample's name columns, in the order of [`NameCounts`]' fields: every load of the
/// sample counts their distinct values.
pub(crate) const NAME_COLUMNS: [&str; 3] = ["department_name", "sensor_serial", "product_name"];

/// How many distinct values each name column of a day holds (nulls not counted, as in
/// SQL's `count(DISTINCT …)`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NameCounts {
    pub department_names: i64,
    pub sensor_serials: i64,
    pub product_names: i64,
}

/// The distinct values of the name columns seen so far: one stream's, or the day's once
/// the streams' are merged. (Sets of the values themselves, not sketches: the counts must
/// be exact, and a day has few distinct names. Every row is looked up three times, so
/// the hasher is foldhash: std's SipHash made a day's load 7 % slower.)
#[derive(Debug, Default)]
pub(crate) struct DistinctNames {
    department_names: HashSet<String>,
    sensor_serials: HashSet<String>,
    product_names: HashSet<String>,
}

impl NameCounts {
    /// The distinct values counted of `column`, when it is one of [`NAME_COLUMNS`].
    pub(crate) fn of(&self, column: &str) -> Option<i64> {
        let [departments, sensors, products] = NAME_COLUMNS;
        match column {
            c if c == departments => Some(self.department_names),
            c if c == sensors => Some(self.sensor_serials),
            c if c == products => Some(self.product_names),
            _ => None,
        }
    }
}

impl DistinctNames {
    /// Adds the names of a normalised batch (columns in table order, strings as `Utf8`).
    pub(crate) fn add(&mut self, batch: &RecordBatch) {
        let [departments, sensors, products] = NAME_COLUMNS;
        add_column(&mut self.department_names, batch, departments);
        add_column(&mut self.sensor_serials, batch, sensors);
        add_column(&mut self.product_names, batch, products);
    }

    pub(crate) fn merge(&mut self, other: Self) {
        self.department_names.extend(other.department_names);
        self.sensor_serials.extend(other.sensor_serials);
        self.product_names.extend(other.product_names);
    }

    pub(crate) fn counts(&self) -> NameCounts {
        let count = |set: &HashSet<String>| i64::try_from(set.len()).unwrap_or(i64::MAX);
        NameCounts {
            department_names: count(&self.department_names),
            sensor_serials: count(&self.sensor_serials),
            product_names: count(&self.product_names),
        }
    }
}

fn add_column(set: &mut HashSet<String>, batch: &RecordBatch, name: &str) {
    let index = Table::sample()
        .columns()
        .iter()
        .position(|column| column.name == name)
        .expect("a column of the sample's table");
    let values = batch
        .column(index)
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("normalised name columns are Utf8");
    for value in values.iter().flatten() {
        // Look up before inserting: nearly every value is a repeat, and a repeat then
        // costs no allocation.
        if !set.contains(value) {
            set.insert(value.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, TimestampMicrosecondArray};

    use super::*;
    use crate::copy::convert::copy_schema;

    fn batch(departments: &[Option<&str>], sensors: &[&str], products: &[&str]) -> RecordBatch {
        let rows = departments.len();
        let strings = |values: Vec<Option<&str>>| Arc::new(StringArray::from(values)) as ArrayRef;
        let times = || Arc::new(TimestampMicrosecondArray::from(vec![0; rows])) as ArrayRef;
        RecordBatch::try_new(
            copy_schema(&Table::sample()),
            vec![
                strings(departments.to_vec()),
                strings(sensors.iter().copied().map(Some).collect()),
                times(),
                strings(products.iter().copied().map(Some).collect()),
                times(),
            ],
        )
        .expect("batch")
    }

    #[test]
    fn counts_each_value_once_across_batches_and_streams_and_skips_nulls() {
        let mut first = DistinctNames::default();
        first.add(&batch(
            &[Some("a"), Some("a"), None],
            &["s1", "s2", "s1"],
            &["p", "p", "p"],
        ));
        let mut second = DistinctNames::default();
        second.add(&batch(&[Some("b"), Some("a")], &["s2", "s3"], &["p", "q"]));
        first.merge(second);
        assert_eq!(
            first.counts(),
            NameCounts {
                department_names: 2,
                sensor_serials: 3,
                product_names: 2
            }
        );
    }
}
