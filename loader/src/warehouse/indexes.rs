//! A dataset's indexes, built before the swap so that the swap stays a catalog change.
//!
//! A dataset declares them (`indexes = ["brin (create_at)", "btree (sensor_serial,
//! create_at)"]`). Each is made once on the dataset's table as a partitioned index, `ON
//! ONLY` (no existing day is touched: a day loaded before gets it at its next load). A
//! load builds every index the table has on each staging table after its COPY, side by
//! side; the swap makes sure the day's table has its partitioned indexes (instant: its old
//! leaves are out by then) and attaches the leaves, and PostgreSQL attaches each leaf's
//! index to the day's instead of building one. So no index is built under the day's lock,
//! and a reader never sees a leaf without its indexes. Leaves moved into the history keep
//! theirs, so a rollback attaches them as they are.

use sha2::{Digest, Sha256};
use sqlx::PgConnection;

use crate::error::LoadError;
use crate::warehouse::index_spec::IndexSpec;
use crate::warehouse::table::{self, Table};

/// `spec`'s name on `table`: the table's, and a digest of the index (two declarations
/// of the same index are one index).
fn declared_name(spec: &IndexSpec, table: &Table) -> String {
    let base: String = table.name().chars().take(40).collect();
    format!("{base}_ix_{}", digest_hex(&spec.text()))
}

/// Ten hex digits of `text`'s SHA-256: enough to tell a table's indexes apart in a name.
fn digest_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest[..5].iter().map(|b| format!("{b:02x}")).collect()
}

/// One index of a dataset's table, as the catalog has it.
#[derive(Clone, Debug)]
pub(crate) struct TableIndex {
    /// Qualified, quoted.
    pub name: String,
    /// `USING method (keys) …`: its definition after the table's name.
    pub using: String,
    pub unique: bool,
}

impl TableIndex {
    /// From the catalog's (name, `pg_get_indexdef`, unique).
    fn from_row((name, definition, unique): (String, String, bool)) -> Option<Self> {
        let at = definition.find(" USING ")?;
        Some(Self {
            name,
            using: definition[at + 1..].to_owned(),
            unique,
        })
    }

    /// The statement that builds the same index, called `name` (unqualified), on `target`.
    pub(crate) fn create_on(&self, name: &str, target: &str) -> String {
        let unique = if self.unique { "UNIQUE " } else { "" };
        format!(
            "CREATE {unique}INDEX {} ON {target} {};",
            table::quote_ident(name),
            self.using
        )
    }
}

/// Makes each of `table`'s declared indexes exist on it, `ON ONLY` (nothing is built);
/// an index PostgreSQL refuses (an unknown column, a method it lacks) fails here, before
/// anything is copied, naming it.
pub(crate) async fn ensure_declared(
    conn: &mut PgConnection,
    table: &Table,
) -> Result<(), LoadError> {
    for index in table.indexes() {
        let sql = format!(
            "CREATE INDEX IF NOT EXISTS {} ON ONLY {} USING {} ({})",
            table::quote_ident(&declared_name(index, table)),
            table.qualified(),
            index.method(),
            index.keys()
        );
        let mut made = sqlx::query(&sql).execute(&mut *conn).await;
        // Two first loads of the table (two of its days at once) make it at once: the
        // one that lost finds it made, and `IF NOT EXISTS` now says so.
        if made.as_ref().is_err_and(table::created_meanwhile) {
            made = sqlx::query(&sql).execute(&mut *conn).await;
        }
        if let Err(error) = made {
            return Err(match error.as_database_error() {
                Some(refused) => LoadError::DatasetInvalid {
                    dataset: table.dataset().to_owned(),
                    message: format!("its index {:?}: {}", index.text(), refused.message()),
                },
                None => error.into(),
            });
        }
    }
    Ok(())
}

/// Every index `table` has (declared or not: a leaf without one would have it built by
/// its attach, under the day's lock).
pub(crate) async fn of_table(
    conn: &mut PgConnection,
    table: &Table,
) -> Result<Vec<TableIndex>, sqlx::Error> {
    indexes_of(conn, &table.qualified()).await
}

async fn indexes_of(
    conn: &mut PgConnection,
    qualified: &str,
) -> Result<Vec<TableIndex>, sqlx::Error> {
    let rows: Vec<(String, String, bool)> = sqlx::query_as(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), i.indisunique
         FROM pg_index i WHERE i.indrelid = to_regclass($1) ORDER BY i.indexrelid",
    )
    .bind(qualified)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().filter_map(TableIndex::from_row).collect())
}

/// Builds on each of `leaves` (a kept version's, in the history: nobody reads them there)
/// the table's indexes it lacks — a version kept from before an index was declared — so
/// that the rollback's attach finds them ready.
pub(crate) async fn complete_kept_leaves(
    conn: &mut PgConnection,
    table: &Table,
    leaves: &[String],
) -> Result<(), sqlx::Error> {
    let wanted = of_table(conn, table).await?;
    for leaf in leaves {
        let qualified = format!(
            "{}.{}",
            table::quote_ident(table::HISTORY_SCHEMA),
            table::quote_ident(leaf)
        );
        let has = indexes_of(conn, &qualified).await?;
        for (n, index) in wanted.iter().enumerate() {
            let there = has
                .iter()
                .any(|h| h.using == index.using && h.unique == index.unique);
            if !there {
                let name = format!("dwh_ix_{}_{}", digest_hex(leaf), n + 1);
                sqlx::query(&index.create_on(&name, &qualified))
                    .execute(&mut *conn)
                    .await?;
            }
        }
    }
    Ok(())
}

/// Inside the swap, once the day's table has no leaves: the statements that give it each
/// partitioned index of the dataset's table it lacks (a day loaded before the index was
/// declared; instant, there is nothing to build), attached to the table's.
pub(crate) async fn day_table_statements(
    conn: &mut PgConnection,
    table: &Table,
    day_table: &str,
    day_compact: &str,
) -> Result<String, sqlx::Error> {
    let missing: Vec<(String, String, bool)> = sqlx::query_as(
        "SELECT p.indexrelid::regclass::text, pg_get_indexdef(p.indexrelid), p.indisunique
         FROM pg_index p
         WHERE p.indrelid = to_regclass($1)
           AND NOT EXISTS (SELECT 1 FROM pg_inherits h JOIN pg_index c ON c.indexrelid = h.inhrelid
                           WHERE h.inhparent = p.indexrelid AND c.indrelid = to_regclass($2))
         ORDER BY p.indexrelid",
    )
    .bind(table.qualified())
    .bind(day_table)
    .fetch_all(conn)
    .await?;
    let mut sql = String::new();
    for index in missing.into_iter().filter_map(TableIndex::from_row) {
        // Named after the day and the table's index: unique in the schema, whichever
        // indexes the day had before.
        let child = format!(
            "{}_p{day_compact}_{}",
            table.name().chars().take(40).collect::<String>(),
            digest_hex(&index.name)
        );
        sql.push_str(&index.create_on(&child, day_table));
        sql.push_str(&format!(
            "ALTER INDEX {} ATTACH PARTITION {};",
            index.name,
            table.qualified_leaf(&child)
        ));
    }
    Ok(sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_index_has_the_same_name() {
        let table = Table::sample();
        let a = IndexSpec::parse("brin (create_at)").expect("brin");
        let b = IndexSpec::parse("BRIN  (create_at)").expect("brin");
        assert_eq!(declared_name(&a, &table), declared_name(&b, &table));
        assert!(declared_name(&a, &table).starts_with("data_sample_ix_"));
        let c = IndexSpec::parse("btree (create_at)").expect("btree");
        assert_ne!(declared_name(&a, &table), declared_name(&c, &table));
    }
}
