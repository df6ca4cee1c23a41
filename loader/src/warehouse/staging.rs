//! Staging tables: where a load copies its rows before the swap, and the collection of
//! those left behind by loads that were killed.
//!
//! A load copies into `dwh_staging.data_sample_stage_YYYYMMDD_<id>_<k>`, one plain table
//! per part of the day (see `plan`), with the table's columns and a CHECK matching the
//! part's range, so that attaching it as a leaf needs no rescan. Schema `dwh_staging`
//! grants readers nothing (and its tables inherit no grant of `dwh`'s defaults), so rows
//! the audit may still refuse are never readable: the swap moves each table into `dwh`.
//! A part filled by one stream has its
//! table created by that stream, in the transaction that fills it: only then may COPY
//! write the rows frozen (`FREEZE`), so that the day needs no hint-bit writes on its first
//! read and no freezing by VACUUM later. A table shared by several streams is created
//! beforehand and filled without FREEZE. Until the swap nobody reads staging tables; a
//! killed load leaves the committed ones behind, and whoever next holds the day's lock
//! drops them.

use std::sync::Arc;

use chrono::NaiveDate;
// Statements go through `Executor::execute(&str)` (the simple query protocol: several
// statements in one round trip) rather than `sqlx::raw_sql(..).execute(..)`, whose future
// rustc cannot prove `Send` for every lifetime, which would make `load_day` unspawnable.
use sqlx::{Executor, PgConnection, PgPool};
use uuid::Uuid;

use crate::error::LoadError;
use crate::warehouse::day::{Day, TimeRange};
use crate::warehouse::day_lock::DayLock;
use crate::warehouse::indexes::TableIndex;
use crate::warehouse::retired;
use crate::warehouse::table::{self, Table};

/// `<table>_stage_`: the start of a dataset's staging tables' names.
fn stage_prefix(table: &Table) -> String {
    format!("{}_stage_", table.name())
}

/// The staging tables being filled for one day: one per part of the day, each a plain
/// table with a CHECK on its part's range.
#[derive(Debug, Clone)]
pub(crate) struct Staging {
    day: Day,
    /// Random, names this load's tables: staging, leaves, retired ones.
    id: String,
    tables: Vec<StagingTable>,
    /// The dataset's table's indexes, built on each staging table before the swap.
    indexes: Vec<TableIndex>,
}

/// One staging table, the part of the day it holds, and how many streams fill it.
#[derive(Debug, Clone)]
pub(crate) struct StagingTable {
    name: String,
    range: TimeRange,
    streams: usize,
    /// The dataset's table, whose columns it copies.
    parent: String,
    /// Definitions of the columns the load adds to the table, which `LIKE` cannot copy.
    added: String,
    /// The CHECK of its range on the partition column.
    check: String,
}

impl StagingTable {
    /// `dwh_staging.<name>`.
    pub(crate) fn qualified_name(&self) -> String {
        table::staging_qualified(&self.name)
    }

    pub(crate) fn range(&self) -> TimeRange {
        self.range
    }

    /// Filled by several streams: created beforehand, and filled without FREEZE.
    pub(crate) fn is_shared(&self) -> bool {
        self.streams > 1
    }

    /// The statement that creates the table, empty, with the CHECK on its range.
    pub(crate) fn create_statement(&self) -> String {
        format!(
            "CREATE TABLE {qualified} (
                 LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS,{added}
                 CONSTRAINT {constraint} CHECK ({check})
             );",
            qualified = self.qualified_name(),
            constraint = table::quote_ident(&format!("{}_range", self.name)),
            parent = self.parent,
            added = self.added,
            check = self.check,
        )
    }
}

impl Staging {
    /// Names one staging table for each of `parts` (consecutive ranges covering `day`,
    /// each with the number of streams that fill it). Nothing is created yet.
    pub(crate) fn new(day: &Day, parts: impl IntoIterator<Item = (TimeRange, usize)>) -> Self {
        let id = Uuid::new_v4().simple().to_string()[..12].to_owned();
        let prefix = stage_prefix(day.table());
        let column = table::quote_ident(&day.table().partition_column().name);
        let added: String = day
            .table()
            .added_columns()
            .iter()
            .map(|c| format!(" {},", c.definition()))
            .collect();
        let tables: Vec<StagingTable> = parts
            .into_iter()
            .enumerate()
            .map(|(k, (range, streams))| StagingTable {
                name: format!("{prefix}{}_{id}_{}", day.compact(), k + 1),
                range,
                streams,
                parent: day.table().qualified(),
                added: added.clone(),
                check: format!(
                    "{column} >= {} AND {column} < {}",
                    day.bound_literal(range.start_us),
                    day.bound_literal(range.end_us)
                ),
            })
            .collect();
        Self {
            day: day.clone(),
            id,
            tables,
            indexes: Vec::new(),
        }
    }

    /// The staging tables, to be given `indexes` (the dataset's table's) before the swap.
    pub(crate) fn with_indexes(mut self, indexes: Vec<TableIndex>) -> Self {
        self.indexes = indexes;
        self
    }

    /// Builds the table's indexes on every staging table, the tables side by side (each
    /// on a connection of its own; a table's indexes one after the other). An index that
    /// cannot be built fails the load, naming it; the day is untouched.
    pub(crate) async fn build_indexes(&self, pool: &PgPool) -> Result<(), LoadError> {
        if self.indexes.is_empty() {
            return Ok(());
        }
        let builds = self.tables.iter().enumerate().map(|(k, stage)| async move {
            let mut conn = pool.acquire().await?;
            for (n, index) in self.indexes.iter().enumerate() {
                // Short and unique in any schema the table moves to (leaf, history).
                let name = format!("dwh_ix_{}_{}_{}", self.id, k + 1, n + 1);
                let sql = index.create_on(&name, &stage.qualified_name());
                if let Err(error) = conn.execute(sql.as_str()).await {
                    return Err(match error.as_database_error() {
                        Some(refused) => LoadError::DatasetInvalid {
                            dataset: self.day.table().dataset().to_owned(),
                            message: format!(
                                "its index {} could not be built on the day's rows: {}; the day \
                                 is unchanged",
                                index.using,
                                refused.message()
                            ),
                        },
                        None => error.into(),
                    });
                }
            }
            Ok::<(), LoadError>(())
        });
        futures::future::try_join_all(builds).await.map(|_| ())
    }

    /// Creates (and commits) the shared tables, which no single stream can create.
    pub(crate) async fn create_shared(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        let sql: String = self
            .tables
            .iter()
            .filter(|t| t.is_shared())
            .map(StagingTable::create_statement)
            .collect();
        if !sql.is_empty() {
            conn.execute(sql.as_str()).await?;
        }
        Ok(())
    }

    pub(crate) fn day(&self) -> &Day {
        &self.day
    }

    pub(crate) fn tables(&self) -> &[StagingTable] {
        &self.tables
    }

    /// `data_sample_pYYYYMMDD_<id>_<k>`: what the staging table of part `k` (from 0) is
    /// called once it is a leaf of the day's table.
    pub(crate) fn leaf_name(&self, k: usize) -> String {
        format!("{}_{}_{}", self.day.partition_name(), self.id, k + 1)
    }

    /// `data_sample_retired_YYYYMMDD_<id>[_<n>]`: what the day's `n`th old leaf (from 0) is
    /// renamed to when this load's swap takes it out, until it is dropped.
    pub(crate) fn retired_name(&self, n: usize) -> String {
        let base = format!(
            "{}{}_{}",
            retired::prefix(self.day.table()),
            self.day.compact(),
            self.id
        );
        match n {
            0 => base,
            n => format!("{base}_{n}"),
        }
    }

    /// The tables' qualified names, for messages.
    pub(crate) fn names(&self) -> String {
        let names: Vec<String> = self
            .tables
            .iter()
            .map(StagingTable::qualified_name)
            .collect();
        names.join(", ")
    }

    pub(crate) async fn drop_tables(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        let sql = format!("DROP TABLE IF EXISTS {}", self.names());
        conn.execute(sql.as_str()).await.map(|_| ())
    }

    /// Refreshes the planner statistics of the shared tables (a stream that owns its table
    /// analyzes it itself, in parallel with the others).
    pub(crate) async fn analyze_shared(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        for table in self.tables.iter().filter(|t| t.is_shared()) {
            let sql = format!("ANALYZE {}", table.qualified_name());
            conn.execute(sql.as_str()).await?;
        }
        Ok(())
    }
}

/// A staging table or retired leaf left behind, and the day it is for.
#[derive(Debug)]
struct Leftover {
    schema: String,
    name: String,
    day: NaiveDate,
}

/// `table`'s staging tables in `dwh_staging`, and those of older versions and retired
/// leaves of killed swaps that may still be in the table's schema.
async fn leftover_tables(
    conn: &mut PgConnection,
    table: &Table,
) -> Result<Vec<Leftover>, sqlx::Error> {
    let (stage, retired) = (stage_prefix(table), retired::prefix(table));
    let found: Vec<(String, String)> = sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname IN ($1, $2) AND c.relkind = 'r'
           AND (starts_with(c.relname::text, $3) OR starts_with(c.relname::text, $4))",
    )
    .bind(table::STAGING_SCHEMA)
    .bind(table.schema())
    .bind(&stage)
    .bind(&retired)
    .fetch_all(conn)
    .await?;
    Ok(found
        .into_iter()
        .filter_map(|(schema, name)| {
            let rest = name
                .strip_prefix(&stage)
                .or_else(|| name.strip_prefix(&retired))?;
            let day = NaiveDate::parse_from_str(rest.get(..8)?, "%Y%m%d").ok()?;
            Some(Leftover { schema, name, day })
        })
        .collect())
}

/// Drops the staging tables (and retired leaves) of `lock`'s day: with the day's lock
/// held, none of them can belong to a running load, so they are leftovers of a killed one.
pub(crate) async fn drop_leftovers_for_day(lock: &mut DayLock) -> Result<Vec<String>, sqlx::Error> {
    let date = lock.day().date();
    let table = Arc::clone(lock.day().table());
    let mut dropped = Vec::new();
    for leftover in leftover_tables(lock.connection(), &table).await? {
        if leftover.day == date {
            let qualified = table::qualified_in(&leftover.schema, &leftover.name);
            let sql = format!("DROP TABLE IF EXISTS {qualified}");
            lock.connection().execute(sql.as_str()).await?;
            dropped.push(leftover.name);
        }
    }
    Ok(dropped)
}

/// [`collect_garbage_of`] the sample's table.
pub async fn collect_garbage(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    collect_garbage_of(pool, &Table::sample()).await
}

/// Drops every staging table of `table` whose day has no load running (in any process
/// sharing the database), leftovers of loads that were killed, and the retired leaves
/// waiting in the history. Returns the dropped tables' names.
pub async fn collect_garbage_of(
    pool: &PgPool,
    table: &Arc<Table>,
) -> Result<Vec<String>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let mut dates: Vec<NaiveDate> = leftover_tables(&mut conn, table)
        .await?
        .into_iter()
        .map(|leftover| leftover.day)
        .chain(
            retired::waiting(&mut conn, table)
                .await?
                .into_iter()
                .map(|(_, d)| d),
        )
        .collect();
    drop(conn);
    dates.sort();
    dates.dedup();
    let mut dropped = Vec::new();
    for date in dates {
        let day = Day::of(table, date);
        if let Some(mut lock) = DayLock::try_acquire(pool, &day).await? {
            dropped.extend(drop_leftovers_for_day(&mut lock).await?);
            dropped.extend(retired::drop_day(lock.connection(), &day).await?);
            lock.release().await?;
        }
    }
    if !dropped.is_empty() {
        tracing::info!(tables = ?dropped, "dropped staging tables left by interrupted loads, and retired leaves");
    }
    Ok(dropped)
}
