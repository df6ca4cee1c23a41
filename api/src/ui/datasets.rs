//! `GET /` of a service with several datasets: each dataset with its table, its file
//! pattern, its days at a glance (loaded, failed, complete and waiting) and its latest
//! month's calendar, linking to its own month page (`/?dataset=…`).

use actix_web::HttpResponse;
use chrono::NaiveDate;
use maud::{Markup, html};
use sqlx::PgPool;

use super::month::{calendar, known_days, month_statuses, months_of};
use super::{Page, dataset_query, legend, page_response};
use crate::catalog::{Catalog, ServedDataset};
use crate::domain::DayState;
use crate::problem::ApiError;
use crate::queries::datasets::{DaysSummary, days_summary_of};
use crate::queries::files::FilesView;
use crate::queue;

/// The page listing every dataset.
pub async fn overview(
    catalog: &Catalog,
    pool: &PgPool,
    files: &FilesView,
    page: Page,
) -> HttpResponse {
    let mut sections = Vec::new();
    for dataset in catalog.all() {
        match section(dataset, pool, files).await {
            Ok(section) => sections.push(section),
            Err(error) => return super::error_page(page, &error),
        }
    }
    let body = html! {
        (legend())
        ul.datasets-list data-overview {
            @for section in sections { li { (section) } }
        }
    };
    page_response(page.render("The warehouse by dataset", body))
}

/// One dataset: what it is, how its days stand, and its latest month.
async fn section(
    dataset: &ServedDataset,
    pool: &PgPool,
    files: &FilesView,
) -> Result<Markup, ApiError> {
    let available = files.all_days(dataset, pool).await?;
    let known = known_days(dataset, pool, &available).await?;
    let latest_month: Vec<NaiveDate> = months_of(&known).into_iter().last().into_iter().collect();
    let statuses = month_statuses(dataset, pool, &available, &latest_month).await?;
    let active = queue::active_by_day(pool, dataset.name()).await?;
    let count = |state: DayState| statuses.values().filter(|s| s.state == state).count();
    let last_load = statuses.values().filter_map(|s| s.loaded_at).max();
    let freshness = match dataset.dataset.due {
        Some(due) => Some((
            due.text(),
            days_summary_of(dataset, pool, &available).await?,
        )),
        None => None,
    };
    let name = dataset.name();
    let link = format!("/{}", dataset_query_always(name));
    Ok(html! {
        section aria-labelledby={ "dataset-" (name) } {
            h2 id={ "dataset-" (name) } { a href=(link) { (name) } }
            p.muted {
                "Table " code { (dataset.dataset.table_display()) } ", files "
                code { (dataset.dataset.layout.describe()) }
            }
            p {
                (count(DayState::Loaded)) " loaded, " (count(DayState::Failed)) " failed, "
                (count(DayState::Complete)) " complete and waiting"
                @if let Some(at) = last_load { "; last load " (at.format("%Y-%m-%d %H:%M UTC")) }
                @if !latest_month.is_empty() { " (its latest month)" }
            }
            @if let Some((due, summary)) = &freshness {
                (lateness(due, summary))
            }
            @for month in &latest_month {
                (calendar(name, *month, &statuses, &active))
            }
            @if latest_month.is_empty() { p { "No files, loads or jobs yet." } }
        }
    })
}

/// When the dataset's days are due, and how late it is.
fn lateness(due: &str, summary: &DaysSummary) -> Markup {
    html! {
        p {
            "Each day is due by " (due) " the next day. "
            @match (summary.late, summary.oldest_late_day, summary.late_seconds) {
                (0, _, _) | (_, None, _) => { "No day is late." }
                (late, Some(oldest), seconds) => {
                    span.late-flag { (late) @if late == 1 { " day late" } @else { " days late" } }
                    " — the oldest, " (oldest) ", by " (overdue(seconds.unwrap_or(0))) "."
                }
            }
        }
    }
}

/// `90061` → `1 d 1 h`: how long past due, to the hour.
fn overdue(seconds: i64) -> String {
    let hours = seconds.max(0) / 3600;
    match (hours / 24, hours % 24) {
        (0, 0) => format!("{} min", seconds.max(0) / 60),
        (0, h) => format!("{h} h"),
        (d, h) => format!("{d} d {h} h"),
    }
}

/// `?dataset=<name>`, the sample's included: on the list, every dataset's link names it.
fn dataset_query_always(name: &str) -> String {
    match dataset_query(name) {
        query if query.is_empty() => format!("?dataset={name}"),
        query => query,
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn a_dataset_says_how_late_it_is() {
        assert_eq!(overdue(59), "0 min");
        assert_eq!(overdue(5_400), "1 h");
        assert_eq!(overdue(90_061), "1 d 1 h");
        let mut summary = DaysSummary::default();
        let html = lateness("06:00", &summary).into_string();
        assert_eq!(
            html,
            "<p>Each day is due by 06:00 the next day. No day is late.</p>"
        );
        summary.late = 3;
        summary.oldest_late_day = NaiveDate::from_ymd_opt(2024, 3, 8);
        summary.late_seconds = Some(2 * 86_400 + 5 * 3_600);
        let html = lateness("06:00", &summary).into_string();
        assert_eq!(
            html,
            "<p>Each day is due by 06:00 the next day. <span class=\"late-flag\">3 days late\
             </span> — the oldest, 2024-03-08, by 2 d 5 h.</p>"
        );
    }
}
