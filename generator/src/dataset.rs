//! The reference dataset's random draws (see `shared/spec/generator.md`), made in the
//! reference script's exact order so that every value matches.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray, TimestampNanosecondArray};
use arrow_schema::SchemaRef;

use crate::minute::minute_at;
use crate::rng::PyRandom;
use crate::schema::reference_schema;

const DEPARTMENTS: usize = 100;
const MIN_SENSORS_PER_DEPARTMENT: usize = 5;
/// Sensor counts are drawn from 5..=29: 25 values.
const SENSOR_COUNT_CHOICES: usize = 25;
const DEPARTMENT_NAME_LEN: usize = 32;
const SENSOR_SERIAL_LEN: usize = 64;
const PRODUCTS: usize = 1000;
const PRODUCT_NAME_LEN: usize = 16;
/// `product_expire = create_at + (90 - d) days` with `d` drawn from [1, 2, 3].
const EXPIRE_BASE_DAYS: i64 = 90;
const EXPIRE_CHOICES: [u8; 3] = [1, 2, 3];
const NANOS_PER_DAY: i64 = 86_400 * 1_000_000_000;

/// Everything drawn once before the per-minute loop: names and the sensor template.
#[derive(Debug)]
pub struct Dataset {
    schema: SchemaRef,
    department_names: ArrayRef,
    sensor_serials: ArrayRef,
    products: Vec<String>,
    /// The stream as it stands when the per-minute draws of minute 0 begin.
    rng_at_first_minute: PyRandom,
}

/// The draws of one minute: a product index and an expiry choice for each template row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinuteDraws {
    pub index: u32,
    products: Vec<u16>,
    expire_choices: Vec<u8>,
}

impl Dataset {
    /// Makes the one-off draws (sensor counts, names, template) for `seed`.
    pub fn new(seed: u64) -> Self {
        let mut rng = PyRandom::new(seed);
        let sensor_counts: Vec<usize> = (0..DEPARTMENTS)
            .map(|_| MIN_SENSORS_PER_DEPARTMENT + rng.choose_index(SENSOR_COUNT_CHOICES))
            .collect();
        let total_sensors = sensor_counts.iter().sum();
        let departments = unique_names(&mut rng, DEPARTMENTS, DEPARTMENT_NAME_LEN);
        let serials = unique_names(&mut rng, total_sensors, SENSOR_SERIAL_LEN);
        let products = unique_names(&mut rng, PRODUCTS, PRODUCT_NAME_LEN);
        let (template_departments, template_serials) =
            sensor_template(&mut rng, &departments, &sensor_counts, &serials);
        Self {
            schema: reference_schema(total_sensors),
            department_names: Arc::new(StringArray::from(template_departments)),
            sensor_serials: Arc::new(StringArray::from(template_serials)),
            products,
            rng_at_first_minute: rng,
        }
    }

    /// The Arrow schema of every minute's batch, with the reference's `pandas` metadata.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Rows in every minute's file (1,914 for seed 0).
    pub fn rows_per_minute(&self) -> usize {
        self.department_names.len()
    }

    /// The per-minute draws from minute `first` on, in order. Starting later costs one
    /// cheap pass over the skipped part of the stream: each minute uses `2 × rows` draws.
    pub fn draws_from(&self, first: u32) -> DrawStream {
        let mut rng = self.rng_at_first_minute.clone();
        rng.skip_randoms(u64::from(first) * 2 * self.rows_per_minute() as u64);
        DrawStream {
            rng,
            next_index: first,
            rows: self.rows_per_minute(),
        }
    }

    /// The rows of minute `index` as an Arrow batch with the reference schema.
    pub fn minute_batch(&self, index: u32) -> RecordBatch {
        let draws = self
            .draws_from(index)
            .next()
            .expect("the draw stream is endless");
        self.record_batch(&draws)
    }

    /// Builds the rows of one minute from its draws.
    pub fn record_batch(&self, draws: &MinuteDraws) -> RecordBatch {
        let create_at = minute_nanos(draws.index);
        let product_names = StringArray::from_iter_values(
            draws
                .products
                .iter()
                .map(|&p| self.products[usize::from(p)].as_str()),
        );
        let expires = draws
            .expire_choices
            .iter()
            .map(|&choice| create_at + (EXPIRE_BASE_DAYS - i64::from(choice)) * NANOS_PER_DAY);
        let columns: Vec<ArrayRef> = vec![
            Arc::clone(&self.department_names),
            Arc::clone(&self.sensor_serials),
            Arc::new(TimestampNanosecondArray::from_value(
                create_at,
                self.rows_per_minute(),
            )),
            Arc::new(product_names),
            Arc::new(TimestampNanosecondArray::from_iter_values(expires)),
        ];
        RecordBatch::try_new(Arc::clone(&self.schema), columns)
            .expect("columns are built to match the reference schema")
    }
}

/// Endless iterator over the per-minute draws, one minute after another.
#[derive(Debug)]
pub struct DrawStream {
    rng: PyRandom,
    next_index: u32,
    rows: usize,
}

impl Iterator for DrawStream {
    type Item = MinuteDraws;

    fn next(&mut self) -> Option<MinuteDraws> {
        let products = (0..self.rows)
            .map(|_| self.rng.choose_index(PRODUCTS) as u16)
            .collect();
        let expire_choices = (0..self.rows)
            .map(|_| EXPIRE_CHOICES[self.rng.choose_index(EXPIRE_CHOICES.len())])
            .collect();
        let index = self.next_index;
        self.next_index += 1;
        Some(MinuteDraws {
            index,
            products,
            expire_choices,
        })
    }
}

fn minute_nanos(index: u32) -> i64 {
    minute_at(index)
        .and_utc()
        .timestamp_nanos_opt()
        .expect("dataset minutes are far inside the i64 nanosecond range")
}

/// `count` distinct lowercase names of `len` letters; a name already drawn is thrown away
/// (its draws still consumed) and drawn again, as the reference does.
fn unique_names(rng: &mut PyRandom, count: usize, len: usize) -> Vec<String> {
    let mut names = Vec::with_capacity(count);
    let mut seen = HashSet::with_capacity(count);
    while names.len() < count {
        let name: String = (0..len)
            .map(|_| char::from(b'a' + rng.choose_index(26) as u8))
            .collect();
        if seen.insert(name.clone()) {
            names.push(name);
        }
    }
    names
}

/// The (department, serial) rows every minute repeats. Each department draws its count of
/// serials, with replacement, from those no earlier department was given.
fn sensor_template(
    rng: &mut PyRandom,
    departments: &[String],
    sensor_counts: &[usize],
    serials: &[String],
) -> (Vec<String>, Vec<String>) {
    let mut assigned: HashSet<&str> = HashSet::new();
    let mut rows_department = Vec::new();
    let mut rows_serial = Vec::new();
    for (department, &count) in departments.iter().zip(sensor_counts) {
        let available: Vec<&str> = serials
            .iter()
            .map(String::as_str)
            .filter(|s| !assigned.contains(s))
            .collect();
        for _ in 0..count {
            let serial = available[rng.choose_index(available.len())];
            assigned.insert(serial);
            rows_department.push(department.clone());
            rows_serial.push(serial.to_owned());
        }
    }
    (rows_department, rows_serial)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_zero_has_1914_rows_per_minute() {
        assert_eq!(Dataset::new(0).rows_per_minute(), 1914);
    }

    #[test]
    fn draws_from_a_later_minute_continue_the_same_stream() {
        let dataset = Dataset::new(0);
        let sequential: Vec<MinuteDraws> = dataset.draws_from(0).take(4).collect();
        let jumped = dataset.draws_from(3).next().expect("endless");
        assert_eq!(sequential[3], jumped);
        assert_eq!(jumped.index, 3);
    }
}
