//! A declared dataset's day on its page: its files in the dataset's cadence (24 hours, the
//! one file of a daily dataset, or a globbed day's parts), its load record and its
//! columns. The sample's 1,440 minutes have their own strip (`day`).

use std::collections::BTreeSet;

use loader::{Cadence, Column, PartitionInfo};
use maud::{Markup, html};
use sqlx::PgPool;

use super::day::load_record;
use crate::catalog::ServedDataset;
use crate::problem::ApiError;
use crate::queries::days::DayStatus;

/// The files, load record and columns of a declared dataset's day.
pub async fn panel(
    dataset: &ServedDataset,
    pool: &PgPool,
    present: &BTreeSet<u16>,
    status: &DayStatus,
    load: Option<&PartitionInfo>,
) -> Result<Markup, ApiError> {
    let cadence = dataset.dataset.layout.rule().cadence;
    let files = match cadence {
        Some(cadence) => format!("{} of {}", present.len(), cadence.slots()),
        None => format!("{} parts", present.len()),
    };
    let columns = columns_of(dataset, pool).await?;
    Ok(html! {
        section aria-labelledby="files-title" {
            h2 #files-title { "Files" }
            p { "Pattern " code { (dataset.dataset.layout.describe()) } }
            (strip(cadence, present, load.is_some()))
        }
        section aria-labelledby="load-title" {
            h2 #load-title { "Load record" }
            (load_record(("Files", files), status, load, None))
        }
        section aria-labelledby="columns-title" {
            h2 #columns-title { "Columns of " code { (dataset.dataset.table_display()) } }
            (columns_table(&columns))
        }
    })
}

/// The table's columns as the database has them; before its first load, the declared ones
/// (none: they will be the first file's).
async fn columns_of(dataset: &ServedDataset, pool: &PgPool) -> Result<Vec<Column>, ApiError> {
    Ok(match dataset.table(pool).await? {
        Some(table) => table.columns().to_vec(),
        None => dataset.dataset.columns.clone().unwrap_or_default(),
    })
}

/// One cell per slot of the cadence (an hour, the day), or per part of a globbed day.
fn strip(cadence: Option<Cadence>, present: &BTreeSet<u16>, loaded: bool) -> Markup {
    let slots: Vec<u16> = match cadence {
        Some(cadence) => (0..cadence.slots() as u16).collect(),
        None => present.iter().copied().collect(),
    };
    let label = |slot: u16| match cadence {
        Some(Cadence::Hour) => format!("{slot:02}:00"),
        Some(Cadence::Minute) => format!("{:02}:{:02}", slot / 60, slot % 60),
        Some(Cadence::Day) => "the day".to_owned(),
        None => format!("part {}", slot + 1),
    };
    let kind = |slot: &u16| match (present.contains(slot), loaded) {
        (false, _) => ("missing", "missing"),
        (true, true) => ("loaded", "loaded"),
        (true, false) => ("present", "file present, not loaded"),
    };
    html! {
        ul.slots aria-label="The day's files" {
            @for slot in slots {
                @let (class, word) = kind(&slot);
                li class={ "slot " (class) } { span { (label(slot)) } " " span.slot-word { (word) } }
            }
        }
    }
}

fn columns_table(columns: &[Column]) -> Markup {
    if columns.is_empty() {
        return html! { p { "None declared: the first load takes them from the day's first file." } };
    }
    html! {
        div.scroll { table.list {
            thead { tr { th scope="col" { "Column" } th scope="col" { "Type" } th scope="col" { "Null" } } }
            tbody {
                @for column in columns {
                    tr {
                        td { code { (column.name) } }
                        td { code { (column.pg_type.to_string()) } }
                        td { @if column.not_null { "not null" } @else { "nullable" } }
                    }
                }
            }
        } }
    }
}
