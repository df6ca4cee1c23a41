//! What an audit needs counted while the rows stream: its checks' columns, found in the
//! table (a column the table lacks, or cannot be judged that way, refuses the load before
//! anything is read).

use super::config::{AuditConfig, CheckKind};
use crate::copy::facts::FactsPlan;
use crate::copy::names::NAME_COLUMNS;
use crate::warehouse::column_type::PgType;
use crate::warehouse::table::Table;

/// The plan of `config`'s checks on `table`; an error names a check and a column the table
/// lacks, or cannot judge that way.
pub(crate) fn facts_plan(table: &Table, config: &AuditConfig) -> Result<FactsPlan, String> {
    let position = |check: &str, name: &str| {
        table
            .columns()
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| {
                format!(
                    "check {check:?}: {name:?} is not a column of {}",
                    table.display_name()
                )
            })
    };
    for (check, column) in config.columns() {
        position(check, column)?;
    }
    let (mut distinct, mut order, mut range) = (Vec::new(), Vec::new(), Vec::new());
    for check in &config.checks {
        let name = check.name.as_str();
        match &check.kind {
            CheckKind::Distinct { column, .. }
                // The sample's loads count its name columns anyway; the check reads those.
                if !(table.is_sample() && NAME_COLUMNS.contains(&column.as_str())) =>
            {
                distinct.push(position(name, column)?);
            }
            CheckKind::Order { before, after } => {
                let (b, a) = (position(name, before)?, position(name, after)?);
                let (tb, ta) = (table.columns()[b].pg_type, table.columns()[a].pg_type);
                if tb != ta || matches!(tb, PgType::Jsonb | PgType::Bytea) {
                    return Err(format!(
                        "check {name:?}: {before} ({tb}) and {after} ({ta}) cannot be ordered against each other"
                    ));
                }
                order.push((b, a));
            }
            CheckKind::Range { column, min, max } => {
                let index = position(name, column)?;
                let kind = table.columns()[index].pg_type;
                let numeric = matches!(
                    kind,
                    PgType::SmallInt
                        | PgType::Integer
                        | PgType::BigInt
                        | PgType::Real
                        | PgType::Double
                        | PgType::Numeric { .. }
                );
                if !numeric {
                    return Err(format!(
                        "check {name:?}: {column} is {kind}; a range is of numbers"
                    ));
                }
                range.push((index, *min, *max));
            }
            _ => {}
        }
    }
    Ok(FactsPlan::counting(
        table.columns().len(),
        distinct,
        order,
        range,
    ))
}
