//! The day page's versions panel: the current and kept versions of a day, each with its
//! audit, and a rollback for each kept one; and its fragment, which the script refreshes
//! when a job of the day ends.

use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use maud::{Markup, html};
use sqlx::PgPool;

use super::thousands;
use crate::auth::ApiToken;
use crate::catalog::DatasetParam;

/// The day's current and kept versions, each with its audit, and a rollback button for
/// each kept one.
pub fn panel(date: NaiveDate, versions: &[loader::DayVersion]) -> Markup {
    html! {
        div #versions data-date=(date) {
            @if versions.is_empty() {
                p { "No versions: the day has not been loaded whole." }
            } @else {
                div.scroll { table.list {
                    thead { tr {
                        th scope="col" { "Version" } th scope="col" { "State" } th scope="col" { "Rows" }
                        th scope="col" { "Loaded at" } th scope="col" { "Replaced at" }
                        th scope="col" { "On disk" } th scope="col" { "Audit" } th scope="col" { span.visually-hidden { "Action" } }
                    } }
                    tbody {
                        @for v in versions {
                            tr data-version=(v.version) {
                                td { (v.version) }
                                td { @if v.current { "current" } @else { "kept" } }
                                td { (thousands(v.rows)) }
                                td { (v.loaded_at.format("%Y-%m-%d %H:%M:%S")) }
                                td { @if let Some(at) = v.replaced_at { (at.format("%Y-%m-%d %H:%M:%S")) } }
                                td { (format!("{:.1} MB", v.disk_bytes as f64 / 1e6)) }
                                td { (audit_summary(&v.audits)) }
                                td { @if !v.current {
                                    button.secondary type="button" data-action="rollback" data-date=(date)
                                        data-version=(v.version) hidden { "Roll back to version " (v.version) }
                                } }
                            }
                        }
                    }
                } }
            }
        }
    }
}

fn audit_summary(audits: &[loader::AuditResult]) -> Markup {
    let findings: Vec<&loader::AuditResult> = audits.iter().filter(|a| !a.passed).collect();
    html! {
        @if audits.is_empty() {
            "not audited"
        } @else if findings.is_empty() {
            "passed (" (audits.len()) " checks)"
        } @else {
            @for finding in findings { div { "⚠ " (finding.to_string()) } }
        }
    }
}

/// `GET /ui/fragments/versions/{date}`: the versions panel as it is now, for the script.
pub async fn versions_fragment(
    date: web::Path<String>,
    dataset: DatasetParam,
    pool: web::Data<PgPool>,
    token: web::Data<ApiToken>,
) -> HttpResponse {
    super::day_fragment(&date, &token, async |date| {
        let versions = dataset.versions(&pool, date).await?;
        Ok(panel(date, &versions))
    })
    .await
}
