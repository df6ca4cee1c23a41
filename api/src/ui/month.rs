//! `GET /`: the months as calendars, one cell per day with its state, its rows and, while
//! a load of it runs, a progress bar; the charts of recent loads; a backfill form.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use actix_web::{HttpResponse, web};
use chrono::{Datelike, Months, NaiveDate};
use maud::{Markup, html};
use sqlx::PgPool;

use loader::FilesSummary;

use super::{Page, charts, datasets, day_link, legend, page_response, state_label, thousands};
use crate::auth::ApiToken;
use crate::catalog::{Catalog, DatasetParam, DatasetQuery, ServedDataset};
use crate::domain::{DateRange, DayState, Job, JobStatus, LoadDate};
use crate::problem::ApiError;
use crate::queries::days::{self, DayStatus};
use crate::queries::files::FilesView;
use crate::queue;

/// At most this many months are drawn, the latest ones.
const MAX_MONTHS: usize = 12;

/// `GET /`: the month page of the dataset `?dataset=` names; without one, the sample's
/// when it is the only dataset, else the list of datasets (`datasets`).
pub async fn month_page(
    query: web::Query<DatasetQuery>,
    catalog: web::Data<Catalog>,
    pool: web::Data<PgPool>,
    files: web::Data<FilesView>,
    token: web::Data<ApiToken>,
) -> HttpResponse {
    let page = Page::of(&token);
    let dataset = match (&query.dataset, catalog.all().len()) {
        (None, 1) => Arc::clone(catalog.sample()),
        (None, _) => return datasets::overview(&catalog, &pool, &files, page).await,
        (Some(name), _) => match catalog.get(name) {
            Ok(dataset) => Arc::clone(dataset),
            Err(error) => return super::error_page(page, &error),
        },
    };
    let page = page.of_dataset(dataset.name());
    let title = if dataset.is_sample() {
        "The warehouse by day".to_owned()
    } else {
        format!("{} by day", dataset.name())
    };
    match month_body(&dataset, &pool, &files, &page).await {
        Ok(body) => page_response(page.render(&title, body)),
        Err(error) => super::error_page(page, &error),
    }
}

/// The days a dataset knows of: with files, loaded, or with jobs.
pub async fn known_days(
    dataset: &ServedDataset,
    pool: &PgPool,
    available: &BTreeMap<NaiveDate, FilesSummary>,
) -> Result<BTreeSet<NaiveDate>, ApiError> {
    let mut known: BTreeSet<NaiveDate> = available.keys().copied().collect();
    known.extend(dataset.partitions(pool).await?.iter().map(|p| p.day));
    known.extend(queue::job_dates(pool, dataset.name()).await?);
    Ok(known)
}

/// The statuses of every day of `months`, month by month (they need not be consecutive).
pub async fn month_statuses(
    dataset: &ServedDataset,
    pool: &PgPool,
    available: &BTreeMap<NaiveDate, FilesSummary>,
    months: &[NaiveDate],
) -> Result<HashMap<NaiveDate, DayStatus>, ApiError> {
    let mut statuses: HashMap<NaiveDate, DayStatus> = HashMap::new();
    for &month in months {
        let range = DateRange::new(LoadDate::from(month), LoadDate::from(last_day(month)))
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("a month is a range: {e}")))?;
        let shown = days::statuses(dataset, pool, available, range).await?;
        statuses.extend(shown.into_iter().map(|s| (s.date, s)));
    }
    Ok(statuses)
}

async fn month_body(
    dataset: &ServedDataset,
    pool: &PgPool,
    files: &FilesView,
    page: &Page,
) -> Result<Markup, ApiError> {
    let available = files.all_days(dataset, pool).await?;
    let known = known_days(dataset, pool, &available).await?;
    let months = months_of(&known);
    let (Some(&first), Some(&last)) = (months.first(), months.last()) else {
        return Ok(empty_body(dataset));
    };
    let end = last_day(last);
    let statuses = month_statuses(dataset, pool, &available, &months).await?;
    let active = queue::active_by_day(pool, dataset.name()).await?;
    let recent = queue::recent_finished(pool, dataset.name(), 200).await?;
    let name = dataset.name();
    Ok(html! {
        (legend())
        div.months {
            @for month in &months {
                (calendar(name, *month, &statuses, &active))
            }
        }
        section aria-labelledby="backfill-title" {
            h2 #backfill-title { "Backfill" }
            p.muted { "Queue one load per day of a range (days without files are listed, not queued)." }
            form.inline #backfill data-action="backfill" hidden {
                label { "From" input type="date" name="from" required value=(first); }
                label { "To" input type="date" name="to" required value=(end); }
                label { "Days"
                    select name="reprocess" {
                        option value="missing" { "not loaded yet" }
                        option value="failed" { "whose last job failed" }
                        option value="changed" { "whose files changed" }
                        option value="all" { "all (reload)" }
                    }
                }
                button type="submit" { "Backfill" }
            }
            p.muted.actions-off { "Actions need JavaScript" @if page.token_required { " and the API token" } "." }
        }
        section aria-labelledby="charts-title" {
            h2 #charts-title { "Recent loads" }
            (charts::load_charts(&recent))
            (charts::backfill_timeline(&recent))
        }
    })
}

/// The page of a warehouse with nothing in it. It says how to begin, but not where the
/// files are looked for: a page anyone can read must not show the server's paths or
/// bucket (the operator set `DATA_DIR` and knows it).
fn empty_body(dataset: &ServedDataset) -> Markup {
    if !dataset.is_sample() {
        return html! {
            p { "No files yet: no files of " code { (dataset.dataset.layout.describe()) }
                " in the dataset's source, no loads, no jobs." }
        };
    }
    html! {
        p { "No files yet: no minute files in the data source, no loads, no jobs." }
        p.muted {
            "Put files named " code { "YYYY-MM-DD HH:MM:00.parquet" } " in the service's "
            code { "DATA_DIR" } ", e.g. " code { "generator --date 2023-01-01 --out <DATA_DIR>" } "."
        }
    }
}

/// The last day of the month that starts on `first`.
pub fn last_day(first: NaiveDate) -> NaiveDate {
    first + Months::new(1) - chrono::Days::new(1)
}

/// The first day of each month with a known day, the latest [`MAX_MONTHS`].
pub fn months_of(days: &BTreeSet<NaiveDate>) -> Vec<NaiveDate> {
    let mut months: Vec<NaiveDate> = days
        .iter()
        .filter_map(|d| d.with_day(1))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let skip = months.len().saturating_sub(MAX_MONTHS);
    months.drain(..skip);
    months
}

pub fn calendar(
    dataset: &str,
    first: NaiveDate,
    statuses: &HashMap<NaiveDate, DayStatus>,
    active: &HashMap<NaiveDate, Job>,
) -> Markup {
    let lead = first.weekday().num_days_from_monday() as usize;
    let days: Vec<NaiveDate> = first
        .iter_days()
        .take_while(|d| d.month() == first.month())
        .collect();
    let mut cells: Vec<Option<NaiveDate>> = vec![None; lead];
    cells.extend(days.into_iter().map(Some));
    while !cells.len().is_multiple_of(7) {
        cells.push(None);
    }
    html! {
        table.calendar {
            caption { (first.format("%B %Y")) }
            thead { tr {
                @for (short, long) in [("Mon", "Monday"), ("Tue", "Tuesday"), ("Wed", "Wednesday"), ("Thu", "Thursday"), ("Fri", "Friday"), ("Sat", "Saturday"), ("Sun", "Sunday")] {
                    th scope="col" { abbr title=(long) { (short) } }
                }
            } }
            tbody {
                @for week in cells.chunks(7) {
                    tr {
                        @for cell in week {
                            @match cell {
                                Some(day) => td { (day_cell(dataset, *day, statuses.get(day), active.get(day))) },
                                None => td.outside {},
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One day: a link to its page, its state as icon and word, its rows, and a progress bar
/// while a load of it is queued or running.
pub fn day_cell(
    dataset: &str,
    date: NaiveDate,
    status: Option<&DayStatus>,
    active: Option<&Job>,
) -> Markup {
    let state = status.map_or(DayState::Empty, |s| s.state);
    let (mut word, mut icon, mut class) = state_label(state);
    if let Some(job) = active {
        (word, icon, class) = match job.status {
            JobStatus::Queued => ("Load queued", "…", "running"),
            _ => ("Loading", "▶", "running"),
        };
    }
    let rows = status.and_then(|s| s.rows);
    // A failed day links straight to its jobs, where the error is.
    let anchor = if state == DayState::Failed && active.is_none() {
        "#jobs-title"
    } else {
        ""
    };
    html! {
        a class={ "cell state-" (class) } href={ (day_link(dataset, date)) (anchor) } data-date=(date) data-state=(class) {
            span.visually-hidden { (date.format("%A %-d %B %Y")) ": " }
            span.num { (date.day()) }
            span.state { span aria-hidden="true" { (icon) } " " span.state-word { (word) } }
            @if status.is_some_and(|s| s.late) {
                " " span.late-flag { "Late" }
            }
            @if let Some(job) = active {
                (progress(job))
            } @else if let Some(rows) = rows {
                span.rows { (thousands(rows)) " rows" }
            }
        }
    }
}

/// A job's progress bar, in files (what the heartbeats report).
pub fn progress(job: &Job) -> Markup {
    let done = job.progress.files_done;
    let total = job.progress.files_total.unwrap_or(0).max(done).max(1);
    html! {
        progress data-job=(job.id) data-date=(job.date) value=(done) max=(total)
            aria-label={ "Load of " (job.date) ": " (done) " of " (total) " files" } {
            (done) " of " (total) " files"
        }
    }
}

/// `GET /ui/fragments/day-cell/{date}`: one day's cell as it is now, for the script to
/// swap in when the day changes.
pub async fn day_cell_fragment(
    date: web::Path<String>,
    dataset: DatasetParam,
    pool: web::Data<PgPool>,
    files: web::Data<FilesView>,
    token: web::Data<ApiToken>,
) -> HttpResponse {
    let page = Page::of(&token);
    let cell = async {
        let date = LoadDate::parse("date", &date)?;
        let available = files
            .summaries_or_none(&dataset, &pool, date.get(), date.get())
            .await?;
        let status = days::status_of(&dataset, &pool, &available, date).await?;
        let active = queue::active_for(&pool, dataset.name(), date.get()).await?;
        let cell = day_cell(dataset.name(), date.get(), Some(&status), active.as_ref());
        Ok::<_, ApiError>(cell)
    };
    match cell.await {
        Ok(cell) => super::fragment_response(cell),
        Err(error) => super::error_page(page, &error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_the_latest_twelve_with_a_known_day_gaps_allowed() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("date");
        let known: BTreeSet<NaiveDate> = [day(2021, 3, 9), day(2022, 1, 31), day(2023, 6, 1)]
            .into_iter()
            .chain((1..=12).map(|m| day(2024, m, 2)))
            .collect();
        let months = months_of(&known);
        assert_eq!(months.len(), MAX_MONTHS);
        assert_eq!(months.first(), Some(&day(2024, 1, 1)));
        let sparse = months_of(&[day(2022, 1, 31), day(2023, 6, 1)].into_iter().collect());
        assert_eq!(sparse, [day(2022, 1, 1), day(2023, 6, 1)]);
        assert_eq!(last_day(day(2024, 2, 1)), day(2024, 2, 29));
    }

    #[test]
    fn a_cell_shows_its_state_by_colour_icon_and_word() {
        let date = NaiveDate::from_ymd_opt(2023, 1, 3).expect("date");
        let html = day_cell("sample", date, None, None).into_string();
        assert_eq!(
            html,
            "<a class=\"cell state-empty\" href=\"/days/2023-01-03\" data-date=\"2023-01-03\" \
             data-state=\"empty\"><span class=\"visually-hidden\">Tuesday 3 January 2023: </span>\
             <span class=\"num\">3</span><span class=\"state\"><span aria-hidden=\"true\">–</span> \
             <span class=\"state-word\">No files</span></span></a>"
        );
    }

    #[test]
    fn a_late_day_says_so_beside_its_state() {
        let date = NaiveDate::from_ymd_opt(2023, 1, 3).expect("date");
        let mut status = DayStatus {
            date,
            state: DayState::Arriving,
            minutes_present: 3,
            minutes_loaded: None,
            rows: None,
            loaded_at: None,
            due_at: None,
            late: true,
            latest_job: None,
        };
        let html = day_cell("sample", date, Some(&status), None).into_string();
        assert!(
            html.contains("</span> <span class=\"late-flag\">Late</span>"),
            "{html}"
        );
        status.late = false;
        let html = day_cell("sample", date, Some(&status), None).into_string();
        assert!(!html.contains("Late"), "{html}");
    }
}
