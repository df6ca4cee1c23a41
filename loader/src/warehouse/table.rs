//! A dataset's table: its name, its columns in table order, the column that partitions
//! it by day, and the names of everything a load makes of it. The sample dataset's table
//! is `dwh.data_sample` ([`Table::sample`]); a declared dataset's is its own.

use std::sync::Arc;

use crate::warehouse::column_type::PgType;
use crate::warehouse::index_spec::IndexSpec;

/// The sample's table's schema, and the schema a declared table defaults to.
pub(crate) const SCHEMA: &str = "dwh";
/// Where replaced versions' leaves are kept, and retired leaves wait for their drop.
pub(crate) const HISTORY_SCHEMA: &str = "dwh_history";
/// Where loads copy their rows before the swap moves them into the table's schema: readers
/// are granted nothing here, so no reader sees a row of a load before its audit and swap.
pub(crate) const STAGING_SCHEMA: &str = "dwh_staging";
/// The deployment's roles that read the warehouse: a declared dataset's new table is
/// theirs to read, as `dwh` is.
const READING_ROLES: [&str; 2] = ["dwh_reader", "dwh_api"];

/// The built-in dataset's name.
pub const SAMPLE_DATASET: &str = "sample";

/// The sample's default indexes, `;` between them (the setting `SAMPLE_INDEXES` replaces
/// them). A BRIN on the time: a day's rows arrive in time order, so a few block ranges
/// let a window of minutes read only its pages — five minutes 7.8× faster than the day's
/// scan — and one pass over the new rows builds it: 9 % of a replace (`bench/reads.sh`,
/// 2026-12-08). A B-tree or a hash index on the 64-letter serials would serve one
/// sensor's month, but either cost more than the day's whole replace (bench/README.md,
/// "Reading the warehouse").
pub const SAMPLE_INDEXES: &str = "brin (create_at)";

/// First key of the two-key advisory lock that guards one day of the sample ("dwld"):
/// unchanged, so that a running older loader and this one exclude each other.
const SAMPLE_LOCK_CLASS: i32 = 0x6477_6C64;

/// One column of a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub pg_type: PgType,
    pub not_null: bool,
}

impl Column {
    pub fn new(name: &str, pg_type: PgType, not_null: bool) -> Self {
        Self {
            name: name.to_owned(),
            pg_type,
            not_null,
        }
    }

    /// `"name" type [NOT NULL]`, as in `CREATE TABLE`.
    pub fn definition(&self) -> String {
        let not_null = if self.not_null { " NOT NULL" } else { "" };
        format!("{} {}{not_null}", quote_ident(&self.name), self.pg_type)
    }
}

/// A dataset's day-partitioned table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    dataset: String,
    schema: String,
    name: String,
    columns: Vec<Column>,
    partition: usize,
    /// How many of the last columns this load adds to the table (schema drift with
    /// `add_columns`): the staging tables have them, the swap adds them to the table.
    added: usize,
    /// Where a day starts and ends, for a `timestamptz` partition column.
    timezone: chrono_tz::Tz,
    /// The indexes its dataset declares (`indexes`).
    indexes: Vec<IndexSpec>,
}

impl Table {
    /// `dwh.data_sample`, the sample dataset's table, created by the migrations, with its
    /// default index ([`SAMPLE_INDEXES`]).
    pub fn sample() -> Arc<Self> {
        let indexes = SAMPLE_INDEXES
            .split(';')
            .map(|text| IndexSpec::parse(text).expect("the sample's default indexes parse"))
            .collect();
        Arc::new(Self::sample_indexed(indexes))
    }

    /// `dwh.data_sample` with `indexes` instead of its default ones (`SAMPLE_INDEXES`).
    pub fn sample_indexed(indexes: Vec<IndexSpec>) -> Self {
        use PgType::{Timestamp, Varchar};
        let columns = vec![
            Column::new("department_name", Varchar { max_chars: 32 }, false),
            Column::new("sensor_serial", Varchar { max_chars: 64 }, false),
            Column::new("create_at", Timestamp, true),
            Column::new("product_name", Varchar { max_chars: 16 }, false),
            Column::new("product_expire", Timestamp, false),
        ];
        Self {
            dataset: SAMPLE_DATASET.to_owned(),
            schema: SCHEMA.to_owned(),
            name: "data_sample".to_owned(),
            columns,
            partition: 2,
            added: 0,
            timezone: chrono_tz::UTC,
            indexes,
        }
    }

    /// A declared dataset's table. The partition column must be one of `columns`, of type
    /// date, timestamp or timestamptz, and not null.
    pub fn new(
        dataset: &str,
        schema: &str,
        name: &str,
        mut columns: Vec<Column>,
        partition_column: &str,
    ) -> Result<Self, String> {
        let partition = columns
            .iter()
            .position(|c| c.name == partition_column)
            .ok_or_else(|| format!("the partition column {partition_column:?} is not a column"))?;
        let kind = columns[partition].pg_type;
        if !kind.can_partition() {
            return Err(format!(
                "the partition column {partition_column:?} is {kind}; a day is cut by a date, \
                 timestamp or timestamptz column"
            ));
        }
        columns[partition].not_null = true;
        Ok(Self {
            dataset: dataset.to_owned(),
            schema: schema.to_owned(),
            name: name.to_owned(),
            columns,
            partition,
            added: 0,
            timezone: chrono_tz::UTC,
            indexes: Vec::new(),
        })
    }

    /// The table with the indexes its dataset declares.
    pub fn with_indexes(mut self, indexes: Vec<IndexSpec>) -> Self {
        self.indexes = indexes;
        self
    }

    pub fn indexes(&self) -> &[IndexSpec] {
        &self.indexes
    }

    /// The table, its days cut at midnight in `timezone` (a `timestamptz` partition
    /// column's; a `timestamp` or `date` column is the day's own local time already).
    pub fn in_timezone(mut self, timezone: chrono_tz::Tz) -> Self {
        self.timezone = timezone;
        self
    }

    pub fn timezone(&self) -> chrono_tz::Tz {
        self.timezone
    }

    /// The table with `new` columns appended, nullable, for the load that adds them.
    pub fn with_added(&self, new: Vec<Column>) -> Self {
        let mut table = self.clone();
        table.added += new.len();
        table.columns.extend(new.into_iter().map(|column| Column {
            not_null: false,
            ..column
        }));
        table
    }

    /// The columns this load adds to the table.
    pub fn added_columns(&self) -> &[Column] {
        &self.columns[self.columns.len() - self.added..]
    }

    /// The statement that adds the load's new columns to the table (and so to every day's
    /// table and leaf, where earlier days read NULL); empty without any.
    pub(crate) fn add_columns_statement(&self) -> String {
        let added: Vec<String> = self
            .added_columns()
            .iter()
            .map(|c| format!("ADD COLUMN IF NOT EXISTS {}", c.definition()))
            .collect();
        if added.is_empty() {
            return String::new();
        }
        format!("ALTER TABLE {} {};", self.qualified(), added.join(", "))
    }

    /// The dataset this table belongs to.
    pub fn dataset(&self) -> &str {
        &self.dataset
    }

    pub fn is_sample(&self) -> bool {
        self.dataset == SAMPLE_DATASET
    }

    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The table's own name (unqualified): the stem of its day tables' names.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `"schema"."name"`.
    pub fn qualified(&self) -> String {
        qualified_in(&self.schema, &self.name)
    }

    /// `schema.name`, for people.
    pub fn display_name(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    pub fn partition_column(&self) -> &Column {
        &self.columns[self.partition]
    }

    /// The partition column's position among the columns.
    pub(crate) fn partition_index(&self) -> usize {
        self.partition
    }

    /// `"schema"."<name>"`: a leaf or day table in the table's schema.
    pub(crate) fn qualified_leaf(&self, name: &str) -> String {
        qualified_in(&self.schema, name)
    }

    /// The column list for statements: `"department_name", "sensor_serial", …`.
    pub(crate) fn column_list(&self) -> String {
        let names: Vec<String> = self.columns.iter().map(|c| quote_ident(&c.name)).collect();
        names.join(", ")
    }

    /// The first key of the advisory lock of each of the dataset's days: the sample's
    /// constant, or a hash of the dataset's name (FNV-1a, by hand: stable across builds
    /// and processes, which std's hasher is not promised to be).
    pub(crate) fn lock_class(&self) -> i32 {
        if self.is_sample() {
            return SAMPLE_LOCK_CLASS;
        }
        let hash = self.dataset.bytes().fold(0x811c_9dc5_u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
        // Positive (pg_locks shows the key as an unsigned oid) and odd: never the sample's
        // class, whatever the name.
        i32::try_from(hash & 0x7fff_ffff).expect("31 bits fit an i32") | 1
    }

    /// The statements that create the table when it is missing: its schema, the
    /// partitioned table, and read access for the deployment's reading roles
    /// (`dwh_reader`, `dwh_api`; see `deploy/postgres/init`) where they exist.
    pub fn create_statements(&self) -> String {
        let columns: Vec<String> = self
            .columns
            .iter()
            .map(|c| format!("    {}", c.definition()))
            .collect();
        let schema = quote_ident(&self.schema);
        let table = self.qualified();
        let grants: String = READING_ROLES
            .iter()
            .map(|role| {
                format!(
                    "DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN\n\
                     \x20   GRANT USAGE ON SCHEMA {schema} TO {role};\n\
                     \x20   GRANT SELECT ON {table} TO {role};\n\
                     \x20   ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {role};\n\
                     END IF; END $$;"
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        format!(
            "CREATE SCHEMA IF NOT EXISTS {schema};\n\
             CREATE TABLE IF NOT EXISTS {table} (\n{columns}\n) PARTITION BY RANGE ({key});\n\
             {grants}",
            columns = columns.join(",\n"),
            key = quote_ident(&self.partition_column().name),
        )
    }
}

/// `name` as a quoted SQL identifier, so that no name — least of all one read back from
/// the catalog — can be anything but a name. (By hand: sqlx has no identifier quoting,
/// and the rule is PostgreSQL's `quote_ident`: double quotes, inner ones doubled.)
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `"<schema>"."<name>"`, both quoted (a leftover's schema is read back from the catalog).
pub(crate) fn qualified_in(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

/// `dwh_staging."<name>"`: a staging table.
pub(crate) fn staging_qualified(name: &str) -> String {
    format!("{STAGING_SCHEMA}.{}", quote_ident(name))
}

/// `dwh_history."<name>"`: a kept or retired leaf.
pub(crate) fn history_qualified(name: &str) -> String {
    format!("{HISTORY_SCHEMA}.{}", quote_ident(name))
}

/// Whether a creation failed because another session created the same schema, table or
/// index at the same moment: `IF NOT EXISTS` is no guard against a creation not committed
/// yet, and the second fails on the catalog's unique index (or as a duplicate) once the
/// first commits; two GRANTs on one schema at once fail the second with "tuple
/// concurrently updated" (an internal error, XX000, told apart by its message). What the
/// other made is there then.
pub(crate) fn created_meanwhile(error: &sqlx::Error) -> bool {
    let Some(error) = error.as_database_error() else {
        return false;
    };
    match error.code().as_deref() {
        Some("23505" | "42P06" | "42P07") => true,
        Some("XX000") => error.message() == "tuple concurrently updated",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_is_todays_table() {
        let sample = Table::sample();
        assert_eq!(sample.qualified(), "\"dwh\".\"data_sample\"");
        assert_eq!(sample.partition_column().name, "create_at");
        assert_eq!(sample.lock_class(), 0x6477_6C64);
        assert!(
            sample
                .create_statements()
                .contains("\"create_at\" timestamp without time zone NOT NULL,")
        );
    }

    #[test]
    fn a_dataset_lock_class_is_its_own() {
        let columns = vec![Column::new("at", PgType::Timestamptz, false)];
        let a = Table::new("trips", "taxi", "trips", columns.clone(), "at").expect("table");
        let b = Table::new("meters", "taxi", "meters", columns, "at").expect("table");
        assert_ne!(a.lock_class(), b.lock_class());
        assert_ne!(a.lock_class(), Table::sample().lock_class());
        assert!(a.partition_column().not_null);
    }
}
