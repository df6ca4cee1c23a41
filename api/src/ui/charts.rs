//! Charts drawn as SVG on the server: no script, no library, readable by screen readers
//! through their summaries (`role="img"` with a label giving the median and the maximum).

use maud::{Markup, html};

use chrono::{DateTime, Utc};

use crate::domain::{Job, JobStatus, JobTrigger};

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 150.0;
const LEFT: f64 = 96.0;
/// Bars no wider than this, however few.
const MAX_BAR: f64 = 24.0;
const BOTTOM: f64 = 18.0;

/// Duration and rows per second of the recent successful loads, oldest first.
pub fn load_charts(recent: &[Job]) -> Markup {
    let loads: Vec<(f64, f64)> = recent
        .iter()
        .rev()
        .filter(|j| j.status == JobStatus::Succeeded)
        .filter_map(|j| {
            let seconds = j.duration_ms? as f64 / 1000.0;
            let rows = j.rows_loaded? as f64;
            (seconds > 0.0).then_some((seconds, rows / seconds))
        })
        .collect();
    if loads.is_empty() {
        return html! { p { "No finished loads yet." } };
    }
    let seconds: Vec<f64> = loads.iter().map(|l| l.0).collect();
    let millions: Vec<f64> = loads.iter().map(|l| l.1 / 1e6).collect();
    html! {
        figure {
            (bars(&seconds, "Duration of each load, in seconds", "s"))
            figcaption.muted { "Duration of the last " (loads.len()) " successful loads, oldest first" }
        }
        figure {
            (bars(&millions, "Rows loaded per second, in millions", "M rows/s"))
            figcaption.muted { "Rows per second of the same loads" }
        }
    }
}

/// A bar chart of `values`, labelled for screen readers with its median and maximum.
fn bars(values: &[f64], title: &str, unit: &str) -> Markup {
    let max = values
        .iter()
        .copied()
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let plot = WIDTH - LEFT;
    let step = (plot / values.len() as f64).min(MAX_BAR);
    let scale = (HEIGHT - BOTTOM) / max;
    html! {
        svg.chart viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img"
            aria-label={ (title) ": " (values.len()) " loads, median " (fmt(median)) " " (unit) ", max " (fmt(max)) " " (unit) } {
            line.axis x1=(LEFT) y1=(HEIGHT - BOTTOM) x2=(WIDTH) y2=(HEIGHT - BOTTOM) {}
            text x="0" y="12" { (fmt(max)) " " (unit) }
            text x="0" y=(HEIGHT - BOTTOM) { "0" }
            @for (i, value) in values.iter().enumerate() {
                @let h = value * scale;
                rect.bar x=(fmt(LEFT + i as f64 * step)) y=(fmt(HEIGHT - BOTTOM - h))
                    width=(fmt((step - 1.0).max(1.0))) height=(fmt(h)) {
                    title { (fmt(*value)) " " (unit) }
                }
            }
        }
    }
}

/// When each day of the latest backfill ran: one bar per day, from its start to its end.
pub fn backfill_timeline(recent: &[Job]) -> Markup {
    let Some(latest) = recent
        .iter()
        .filter(|j| j.trigger == JobTrigger::Backfill)
        .max_by_key(|j| j.created_at)
    else {
        return html! {};
    };
    // One backfill's jobs are created by one request, within moments of each other.
    let mut runs: Vec<(&Job, DateTime<Utc>, DateTime<Utc>)> = recent
        .iter()
        .filter(|j| j.trigger == JobTrigger::Backfill)
        .filter(|j| (j.created_at - latest.created_at).num_seconds().abs() <= 10)
        .filter_map(|j| Some((j, j.started_at?, j.finished_at?)))
        .collect();
    runs.sort_by_key(|(j, ..)| j.date);
    let (Some(start), Some(end)) = (
        runs.iter().map(|r| r.1).min(),
        runs.iter().map(|r| r.2).max(),
    ) else {
        return html! {};
    };
    let span = (end - start).num_milliseconds().max(1) as f64;
    let row = 14.0;
    let height = row * runs.len() as f64 + BOTTOM;
    let plot = WIDTH - LEFT;
    html! {
        figure {
            svg.chart viewBox={ "0 0 " (WIDTH) " " (height) } role="img"
                aria-label={ "Timeline of the latest backfill: " (runs.len()) " days over " (fmt(span / 1000.0)) " s" } {
                @for (i, (job, s, f)) in runs.iter().enumerate() {
                    @let (s, f) = (*s, *f);
                    @let x = LEFT + (s - start).num_milliseconds() as f64 / span * plot;
                    @let w = ((f - s).num_milliseconds() as f64 / span * plot).max(1.0);
                    @let y = i as f64 * row;
                    text x="0" y=(fmt(y + row - 3.0)) { (job.date.format("%m-%d")) }
                    rect class={ "bar" @if job.status != JobStatus::Succeeded { " failed" } }
                        x=(fmt(x)) y=(fmt(y + 1.0)) width=(fmt(w)) height=(fmt(row - 2.0)) {
                        title { (job.date) ": " (fmt((f - s).num_milliseconds() as f64 / 1000.0)) " s, " (job.status.as_str()) }
                    }
                }
                text x=(LEFT) y=(fmt(height - 4.0)) { "0 s" }
                text x=(fmt(WIDTH - 60.0)) y=(fmt(height - 4.0)) { (fmt(span / 1000.0)) " s" }
            }
            figcaption.muted { "The latest backfill, " (latest.created_at.format("%Y-%m-%d %H:%M")) ": when each day's load ran" }
        }
    }
}

/// A number with at most two decimals, as SVG and people read it.
fn fmt(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}
