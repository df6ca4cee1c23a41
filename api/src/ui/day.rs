//! `GET /days/{date}`: one day — the sample's 1,440 minutes as a 24 × 60 strip (a declared
//! dataset's files in its own cadence, `slots`), its load record and distinct counts, its
//! active job moving, and its job history with every attempt's error.

use std::collections::{BTreeSet, HashMap};

use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use maud::{Markup, html};
use sqlx::PgPool;

use super::{Page, month, page_response, slots, state_label, status_label, thousands, versions};
use crate::auth::ApiToken;
use crate::catalog::{DatasetParam, ServedDataset};
use crate::domain::{DayState, Job, LoadDate};
use crate::ledger::view as ledger_view;
use crate::problem::ApiError;
use crate::queries::days::{self, DayStatus};
use crate::queries::files::{FilesView, minute_of};
use crate::queue;

/// What a minute of the day is, in the strip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MinuteKind {
    /// Its rows are in the table, from the day's load.
    Loaded,
    /// Its rows are in the table, appended live.
    Live,
    /// Its file is there, its rows are not.
    Present,
    /// Appended live, then rewritten with other content (or removed).
    Changed,
    /// No file.
    Missing,
}

impl MinuteKind {
    fn word(self) -> &'static str {
        match self {
            Self::Loaded => "loaded",
            Self::Live => "live",
            Self::Present => "file present, not loaded",
            Self::Changed => "changed after its live append",
            Self::Missing => "missing",
        }
    }

    fn class(self) -> &'static str {
        match self {
            Self::Loaded => "loaded",
            Self::Live => "live",
            Self::Present => "present",
            Self::Changed => "changed",
            Self::Missing => "missing",
        }
    }
}

pub async fn day_page(
    date: web::Path<String>,
    dataset: DatasetParam,
    pool: web::Data<PgPool>,
    files: web::Data<FilesView>,
    token: web::Data<ApiToken>,
) -> HttpResponse {
    let page = Page::of(&token).of_dataset(dataset.name());
    let date = match LoadDate::parse("date", &date) {
        Ok(date) => date,
        Err(error) => return super::error_page(page, &error.into()),
    };
    let title = if dataset.is_sample() {
        format!("{date}")
    } else {
        format!("{date} · {}", dataset.name())
    };
    match day_body(&dataset, &pool, &files, date).await {
        Ok(body) => page_response(page.render(&title, body)),
        Err(error) => super::error_page(page, &error),
    }
}

async fn day_body(
    dataset: &ServedDataset,
    pool: &PgPool,
    files: &FilesView,
    date: LoadDate,
) -> Result<Markup, ApiError> {
    let available = files
        .summaries_or_none(dataset, pool, date.get(), date.get())
        .await?;
    let status = days::status_of(dataset, pool, &available, date).await?;
    let date = date.get();
    let present = files.slots_present(dataset, pool, date).await?;
    let load = dataset.partition(pool, date).await?;
    let files_panel = if dataset.is_sample() {
        sample_files(pool, date, &present, &status, load.as_ref()).await?
    } else {
        slots::panel(dataset, pool, &present, &status, load.as_ref()).await?
    };
    let jobs = queue::of_day(pool, dataset.name(), date, 20).await?;
    let latest = jobs.first();
    let versions = dataset.versions(pool, date).await?;
    let (word, icon, class) = state_label(status.state);
    Ok(html! {
        p {
            span class={ "badge state-" (class) } { span aria-hidden="true" { (icon) } " " (word) }
            @if let Some(due_at) = status.due_at {
                " " span.muted { "Due by " (due_at.format("%Y-%m-%d %H:%M UTC")) }
                @if status.late { " " span.late-flag { "Late" } }
            }
        }
        section aria-labelledby="actions-title" {
            h2 #actions-title { "Load" }
            form.inline #load data-action="load" data-date=(date) hidden {
                @if may_be_partial(dataset, &status) {
                    label { input type="checkbox" name="allow_partial" value="true";
                        " " (partial_label(dataset, &status)) }
                }
                button type="submit" { @if load.is_some() { "Reload " (date) } @else { "Load " (date) } }
            }
            (latest_panel(date, latest))
        }
        (files_panel)
        section aria-labelledby="versions-title" {
            h2 #versions-title { "Versions" }
            (versions::panel(date, &versions))
        }
        section aria-labelledby="jobs-title" {
            h2 #jobs-title { "Jobs" }
            (job_history(&jobs))
        }
    })
}

/// Whether the day's files may not make it whole, so that its load form offers a
/// partial load.
fn may_be_partial(dataset: &ServedDataset, status: &DayStatus) -> bool {
    if dataset.is_sample() {
        status.minutes_present < loader::MINUTES_PER_DAY
    } else {
        matches!(status.state, DayState::Arriving | DayState::Empty)
    }
}

/// What the checkbox that loads a day not whole says.
fn partial_label(dataset: &ServedDataset, status: &DayStatus) -> String {
    if dataset.is_sample() {
        let missing = loader::MINUTES_PER_DAY.saturating_sub(status.minutes_present);
        format!("Load although {missing} minutes are missing")
    } else {
        "Load although the day is not whole".to_owned()
    }
}

/// The sample's minutes strip and load record, with its distinct names.
async fn sample_files(
    pool: &PgPool,
    date: NaiveDate,
    present: &BTreeSet<u16>,
    status: &DayStatus,
    load: Option<&loader::PartitionInfo>,
) -> Result<Markup, ApiError> {
    let stats = match load {
        Some(load) => Some(loader::day_stats(pool, load).await?),
        None => None,
    };
    let ledger = ledger_view::minutes_of_day(pool, date).await?;
    let minutes = minute_kinds(present, load, &ledger);
    Ok(html! {
        section aria-labelledby="minutes-title" {
            h2 #minutes-title { "Minutes" }
            (minute_strip(&minutes))
            (minute_counts(&minutes))
        }
        section aria-labelledby="load-title" {
            h2 #load-title { "Load record" }
            (load_record(
                ("Minute files", format!("{} of 1,440", status.minutes_present)),
                status,
                load,
                stats.as_ref(),
            ))
        }
    })
}

/// Each minute's kind: the ledger knows what loaded it; without a ledger row (no watcher)
/// a minute of a loaded day is loaded unless the load lacked it.
pub fn minute_kinds(
    present: &BTreeSet<u16>,
    load: Option<&loader::PartitionInfo>,
    ledger: &HashMap<u16, ledger_view::MinuteRow>,
) -> Vec<MinuteKind> {
    let missing_at_load: BTreeSet<u16> = load
        .map(|l| l.missing_minutes.iter().map(minute_of).collect())
        .unwrap_or_default();
    (0..1440u16)
        .map(|minute| match ledger.get(&minute) {
            Some(row) if row.live_rewritten() => MinuteKind::Changed,
            Some(row) if row.loaded_by.as_deref() == Some("live") => MinuteKind::Live,
            Some(row) if row.loaded_by.as_deref() == Some("job") => MinuteKind::Loaded,
            _ if !present.contains(&minute) => MinuteKind::Missing,
            _ if load.is_some() && !missing_at_load.contains(&minute) => MinuteKind::Loaded,
            _ => MinuteKind::Present,
        })
        .collect()
}

/// The strip: one row per hour, one cell per minute; runs of one kind drawn as one
/// rectangle with a tooltip.
fn minute_strip(minutes: &[MinuteKind]) -> Markup {
    const W: usize = 14;
    const H: usize = 12;
    const LEFT: usize = 34;
    let summary = counts(minutes)
        .iter()
        .map(|(kind, n)| format!("{n} {}", kind.word()))
        .collect::<Vec<_>>()
        .join(", ");
    html! {
        svg.strip viewBox={ "0 0 " (LEFT + 60 * W) " " (24 * H + 14) } role="img"
            aria-label={ "The day's 1,440 minutes: " (summary) } {
            @for hour in 0..24usize {
                text x="0" y=(hour * H + H - 2) font-size="10" { (format!("{hour:02}:00")) }
                @for (start, len, kind) in runs(&minutes[hour * 60..hour * 60 + 60]) {
                    rect class=(kind.class()) x=(LEFT + start * W) y=(hour * H)
                        width=(len * W - 1) height=(H - 1) {
                        title { (format!("{hour:02}:{start:02}")) @if len > 1 { (format!("–{hour:02}:{:02}", start + len - 1)) } " " (kind.word()) }
                    }
                }
            }
            @for (i, label) in [(0, ":00"), (15, ":15"), (30, ":30"), (45, ":45")] {
                text x=(LEFT + i * W) y=(24 * H + 12) font-size="10" { (label) }
            }
        }
    }
}

/// `(start, length, kind)` of each run of equal kinds.
fn runs(minutes: &[MinuteKind]) -> Vec<(usize, usize, MinuteKind)> {
    let mut runs: Vec<(usize, usize, MinuteKind)> = Vec::new();
    for (i, &kind) in minutes.iter().enumerate() {
        match runs.last_mut() {
            Some((_, len, last)) if *last == kind => *len += 1,
            _ => runs.push((i, 1, kind)),
        }
    }
    runs
}

fn counts(minutes: &[MinuteKind]) -> Vec<(MinuteKind, usize)> {
    let mut counts: std::collections::BTreeMap<MinuteKind, usize> = Default::default();
    for kind in minutes {
        *counts.entry(*kind).or_default() += 1;
    }
    counts.into_iter().collect()
}

fn minute_counts(minutes: &[MinuteKind]) -> Markup {
    html! {
        ul.legend {
            @for (kind, n) in counts(minutes) {
                li { svg width="12" height="12" aria-hidden="true" { rect class=(kind.class()) width="12" height="12" {} }
                    " " (thousands(n as i64)) " " (kind.word()) }
            }
        }
    }
}

/// The day's load record; `files` is what its files are now, as (term, description).
pub fn load_record(
    files: (&str, String),
    status: &DayStatus,
    load: Option<&loader::PartitionInfo>,
    stats: Option<&loader::DayStats>,
) -> Markup {
    html! {
        dl.facts {
            dt { (files.0) } dd { (files.1) }
            @if let Some(load) = load {
                dt { "Rows" } dd { (thousands(load.rows)) }
                dt { "Loaded from" } dd { (load.files) " files, " (thousands(load.source_bytes)) " bytes of Parquet" }
                dt { "Size on disk" } dd { (thousands(load.size_bytes)) " bytes" }
                dt { "Loaded at" } dd { (load.loaded_at.format("%Y-%m-%d %H:%M:%S UTC")) }
                dt { "By job" } dd { @match load.job_id {
                    Some(id) => a href={ "/jobs/" (id) } { code { (id) } },
                    None => "the command-line loader",
                } }
                @if load.is_partial() {
                    dt { "Missing at load" } dd { (load.missing_minutes.len()) " minutes" }
                }
                @if let Some(stats) = stats {
                    dt { "Distinct department names" } dd { (thousands(stats.distinct_department_names)) }
                    dt { "Distinct sensor serials" } dd { (thousands(stats.distinct_sensor_serials)) }
                    dt { "Distinct product names" } dd { (thousands(stats.distinct_product_names)) }
                }
            } @else if let Some(rows) = status.rows {
                dt { "Rows (live)" } dd { (thousands(rows)) }
                dt { "Minutes appended" } dd { (status.minutes_loaded.unwrap_or(0)) }
            } @else {
                dt { "Loaded" } dd { "never" }
            }
        }
    }
}

/// The day's latest job: while it is queued or running, its progress bar and a cancel
/// button; once it has ended, how.
pub fn latest_job(job: &Job) -> Markup {
    let (word, icon) = status_label(job.status);
    html! {
        p {
            "Latest job " a href={ "/jobs/" (job.id) } { code { (job.id) } } ": "
            span.job-status data-job=(job.id) { span aria-hidden="true" { (icon) } " " (word) }
            @if let Some(rows) = job.rows_loaded { ", " (thousands(rows)) " rows" }
            @if let Some(error) = &job.error { " — " (error.message) }
        }
        @if !job.status.is_final() {
            (month::progress(job))
            button.secondary type="button" data-action="cancel" data-job=(job.id) hidden { "Cancel this load" }
        }
    }
}

fn job_history(jobs: &[Job]) -> Markup {
    if jobs.is_empty() {
        return html! { p { "No jobs for this day." } };
    }
    html! {
        div.scroll { table.list {
            thead { tr {
                th scope="col" { "Created" } th scope="col" { "Trigger" } th scope="col" { "Status" }
                th scope="col" { "Rows" } th scope="col" { "Duration" } th scope="col" { "Attempts and errors" }
            } }
            tbody {
                @for job in jobs {
                    @let (word, icon) = status_label(job.status);
                    tr {
                        td { a href={ "/jobs/" (job.id) } { (job.created_at.format("%Y-%m-%d %H:%M:%S")) } }
                        td { (format!("{:?}", job.trigger).to_lowercase()) }
                        td { span aria-hidden="true" { (icon) } " " (word) }
                        td { @if let Some(rows) = job.rows_loaded { (thousands(rows)) } }
                        td { @if let Some(ms) = job.duration_ms { (format!("{:.1} s", ms as f64 / 1000.0)) } }
                        td {
                            @for attempt in job.attempts.iter().flatten() {
                                div {
                                    "#" (attempt.attempt) " " (attempt.outcome.as_deref().unwrap_or("running"))
                                    @if let Some(error) = &attempt.error {
                                        ": " (error.message)
                                        @if let Some(file) = &error.file { " — file " code { (file) } }
                                        @if let Some(row) = error.row { ", row " (row) }
                                        @if let Some(column) = &error.column { ", column " code { (column) } }
                                    }
                                }
                            }
                            @if job.attempts.as_ref().is_none_or(Vec::is_empty) {
                                @if let Some(error) = &job.error { (error.message) }
                            }
                        }
                    }
                }
            }
        } }
    }
}

/// The panel of the day's latest job (empty without one).
fn latest_panel(date: NaiveDate, latest: Option<&Job>) -> Markup {
    html! {
        div #active-job data-date=(date) aria-live="polite" {
            @if let Some(job) = latest { (latest_job(job)) }
        }
    }
}

/// `GET /ui/fragments/active-job/{date}`: the panel as it is now, for the script.
pub async fn active_job_fragment(
    date: web::Path<String>,
    dataset: DatasetParam,
    pool: web::Data<PgPool>,
    token: web::Data<ApiToken>,
) -> HttpResponse {
    super::day_fragment(&date, &token, async |date| {
        let latest = queue::of_day(&pool, dataset.name(), date, 1).await?;
        Ok(latest_panel(date, latest.first()))
    })
    .await
}
