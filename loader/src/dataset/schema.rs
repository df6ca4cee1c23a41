//! A declared dataset's table as the database has it: created with its schema, its
//! partitioned table and the readers' grant when it is missing; when it exists, it must
//! be the dataset's (the same columns, types and NOT NULLs, partitioned by range of the
//! partition column), or the load fails saying how it differs. Columns a dataset does not
//! declare are the table's, or, before its first load, those of the day's first file.

use std::path::Path;
use std::sync::Arc;

use arrow_schema::Schema;
use sqlx::{Executor, PgConnection};

use super::{Dataset, SchemaDrift};
use crate::error::{InputError, LoadError};
use crate::files::footers::schema_of_file;
use crate::warehouse::column_type::PgType;
use crate::warehouse::table::{Column, Table, created_meanwhile, qualified_in};

/// The columns of the dataset's table in the database (in table order), or `None` when
/// the table does not exist.
async fn catalog_columns(
    conn: &mut PgConnection,
    dataset: &Dataset,
) -> Result<Option<Vec<Column>>, sqlx::Error> {
    let qualified = qualified_in(&dataset.table_name.0, &dataset.table_name.1);
    let rows: Vec<(String, String, bool)> = sqlx::query_as(
        "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull
         FROM pg_attribute a
         WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
         ORDER BY a.attnum",
    )
    .bind(&qualified)
    .fetch_all(conn)
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        rows.into_iter()
            .map(|(name, formatted, not_null)| {
                // A type the loader cannot write reads as text here; the comparison with
                // the declaration, or the files' check, then says which column it is.
                let pg_type = PgType::from_catalog(&formatted).unwrap_or(PgType::Text);
                Column::new(&name, pg_type, not_null)
            })
            .collect(),
    ))
}

/// The columns of the Parquet file at `path`, each mapped to its PostgreSQL type; a
/// column with no faithful type is refused naming the file and the column.
pub fn find_columns(path: &Path) -> Result<Vec<Column>, InputError> {
    let schema = schema_of_file(path)?;
    columns_of(&schema, path)
}

/// The columns of a file of Arrow schema `schema` (`path` names it in errors).
pub(crate) fn columns_of(schema: &Schema, path: &Path) -> Result<Vec<Column>, InputError> {
    schema
        .fields()
        .iter()
        .map(|field| {
            let pg_type = PgType::from_arrow(field.data_type())
                .map_err(|why| InputError::file(path, why).column(field.name()))?;
            Ok(Column::new(field.name(), pg_type, !field.is_nullable()))
        })
        .collect()
}

/// The dataset's table as the database has it (checked against the declared columns),
/// or `None` when it does not exist yet: what reading a dataset's days needs, without
/// creating anything.
pub async fn find_table(
    conn: &mut PgConnection,
    dataset: &Dataset,
) -> Result<Option<Arc<Table>>, LoadError> {
    if dataset.is_sample() {
        return Ok(Some(Arc::new(Table::sample_indexed(
            dataset.indexes.clone(),
        ))));
    }
    let Some(existing) = catalog_columns(conn, dataset).await? else {
        return Ok(None);
    };
    if let Some(declared) = &dataset.columns {
        // Columns an earlier load added by drift are the table's, not the declaration's.
        let added_by_drift = dataset.schema_drift == SchemaDrift::AddColumns;
        let differences = differences(declared, &existing, added_by_drift);
        if !differences.is_empty() {
            return Err(LoadError::TableDiffers {
                table: dataset.table_display(),
                differences,
            });
        }
    }
    let table = dataset
        .table_with(existing)
        .map_err(|message| LoadError::DatasetInvalid {
            dataset: dataset.name.clone(),
            message,
        })?;
    check_partitioned(conn, &table).await?;
    Ok(Some(table))
}

/// The dataset's table, made to exist: when the database has it, its columns (checked
/// against the declared ones); when not, created from the declared columns or from
/// `found`, the columns of the day's first file (`None`: no file to learn them from).
pub async fn ensure_table(
    conn: &mut PgConnection,
    dataset: &Dataset,
    found: Option<Vec<Column>>,
) -> Result<Arc<Table>, LoadError> {
    if let Some(table) = find_table(conn, dataset).await? {
        return Ok(table);
    }
    let invalid = |message: String| LoadError::DatasetInvalid {
        dataset: dataset.name.clone(),
        message,
    };
    let columns = match (&dataset.columns, found) {
        (Some(declared), _) => declared.clone(),
        (None, Some(found)) => found,
        (None, None) => {
            return Err(invalid(format!(
                "its table {} does not exist yet, no columns are declared, and there is no \
                 file to learn them from",
                dataset.table_display()
            )));
        }
    };
    let table = dataset.table_with(columns).map_err(invalid)?;
    match conn.execute(table.create_statements().as_str()).await {
        Ok(_) => {}
        // Two first loads of a dataset (two of its days at once) race: `IF NOT EXISTS`
        // is no guard against a creation not committed yet, and the second fails on the
        // catalog's unique index once the first commits. The table is there then.
        Err(error) if created_meanwhile(&error) => {
            if let Some(table) = find_table(conn, dataset).await? {
                return Ok(table);
            }
            conn.execute(table.create_statements().as_str()).await?;
        }
        Err(error) => return Err(error.into()),
    }
    tracing::info!(dataset = %dataset.name, table = %table.display_name(), "created the dataset's table");
    Ok(table)
}

/// The table must be partitioned by range of the partition column alone.
async fn check_partitioned(conn: &mut PgConnection, table: &Table) -> Result<(), LoadError> {
    let key: Option<String> = sqlx::query_scalar("SELECT pg_get_partkeydef(to_regclass($1))")
        .bind(table.qualified())
        .fetch_one(conn)
        .await?;
    let wanted = format!("RANGE ({})", table.partition_column().name);
    let quoted = format!(
        "RANGE ({})",
        crate::warehouse::table::quote_ident(&table.partition_column().name)
    );
    match key {
        Some(key) if key == wanted || key == quoted => Ok(()),
        other => Err(LoadError::TableDiffers {
            table: table.display_name(),
            differences: vec![format!(
                "it is {}, where the dataset needs PARTITION BY {wanted}",
                other.map_or_else(
                    || "not partitioned".to_owned(),
                    |k| format!("partitioned by {k}")
                )
            )],
        }),
    }
}

/// How `existing` differs from `declared`, column by column, in words.
fn differences(declared: &[Column], existing: &[Column], added_by_drift: bool) -> Vec<String> {
    let mut lines = Vec::new();
    for column in declared {
        match existing.iter().find(|c| c.name == column.name) {
            None => lines.push(format!(
                "column {:?} is declared but the table lacks it",
                column.name
            )),
            Some(found) if found.pg_type != column.pg_type => lines.push(format!(
                "column {:?} is {} in the table but declared {}",
                column.name, found.pg_type, column.pg_type
            )),
            Some(found) if found.not_null != column.not_null => lines.push(format!(
                "column {:?} is {} in the table but declared {}",
                column.name,
                null_word(found.not_null),
                null_word(column.not_null)
            )),
            Some(_) => {}
        }
    }
    let undeclared = existing
        .iter()
        .filter(|c| !declared.iter().any(|d| d.name == c.name))
        .filter(|c| !added_by_drift || c.not_null);
    for column in undeclared {
        lines.push(format!(
            "the table has column {:?}, which is not declared",
            column.name
        ));
    }
    lines
}

fn null_word(not_null: bool) -> &'static str {
    if not_null { "NOT NULL" } else { "nullable" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_each_column_and_how() {
        let declared = vec![
            Column::new("at", PgType::Timestamptz, true),
            Column::new(
                "fare",
                PgType::Numeric {
                    precision: 10,
                    scale: 2,
                },
                false,
            ),
            Column::new("vendor", PgType::Text, false),
        ];
        let existing = vec![
            Column::new("at", PgType::Timestamptz, true),
            Column::new("fare", PgType::Double, false),
            Column::new("zone", PgType::Integer, false),
        ];
        assert_eq!(
            differences(&declared, &existing, false),
            vec![
                "column \"fare\" is double precision in the table but declared numeric(10,2)",
                "column \"vendor\" is declared but the table lacks it",
                "the table has column \"zone\", which is not declared",
            ]
        );
        assert!(differences(&declared, &declared, false).is_empty());
        let added = [
            declared.clone(),
            vec![Column::new("zone", PgType::Integer, false)],
        ]
        .concat();
        assert!(
            differences(&declared, &added, true).is_empty(),
            "added by drift"
        );
    }
}
