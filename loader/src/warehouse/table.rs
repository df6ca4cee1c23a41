//! The warehouse table `dwh.data_sample`: its name, its columns in table order, and what
//! each column accepts.

/// Fully qualified name of the partitioned table.
pub(crate) const NAME: &str = "dwh.data_sample";
/// The schema of the table, its day tables and leaves.
pub(crate) const SCHEMA: &str = "dwh";
/// Where replaced versions' leaves are kept, and retired leaves wait for their drop.
pub(crate) const HISTORY_SCHEMA: &str = "dwh_history";
/// Where loads copy their rows before the swap moves them into [`SCHEMA`]: readers are
/// granted nothing here, so no reader sees a row of a load before its audit and swap.
pub(crate) const STAGING_SCHEMA: &str = "dwh_staging";

/// The SQL type of a column of `dwh.data_sample`, with the limits the loader enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ColumnType {
    /// `VARCHAR(n)`: any Arrow string type; at most `n` characters.
    Varchar { max_chars: usize },
    /// `TIMESTAMP` (without time zone); `required` columns may not be null.
    Timestamp { required: bool },
}

/// The table's columns, in table order.
pub(crate) const COLUMNS: [(&str, ColumnType); 5] = [
    ("department_name", ColumnType::Varchar { max_chars: 32 }),
    ("sensor_serial", ColumnType::Varchar { max_chars: 64 }),
    ("create_at", ColumnType::Timestamp { required: true }),
    ("product_name", ColumnType::Varchar { max_chars: 16 }),
    ("product_expire", ColumnType::Timestamp { required: false }),
];

/// The column that partitions the table by day.
pub(crate) const PARTITION_COLUMN: &str = "create_at";

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

/// `"dwh"."<name>"`.
pub(crate) fn qualified(name: &str) -> String {
    qualified_in(SCHEMA, name)
}

/// `dwh_staging."<name>"`: a staging table.
pub(crate) fn staging_qualified(name: &str) -> String {
    format!("{STAGING_SCHEMA}.{}", quote_ident(name))
}

/// `dwh_history."<name>"`: a kept or retired leaf.
pub(crate) fn history_qualified(name: &str) -> String {
    format!("{HISTORY_SCHEMA}.{}", quote_ident(name))
}

/// The column list for statements: `department_name, sensor_serial, …`.
pub(crate) fn column_list() -> String {
    COLUMNS.map(|(name, _)| name).join(", ")
}
