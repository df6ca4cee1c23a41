//! The job list page: `/ui/jobs`, and `GET /jobs` for a browser. Filters and cursor
//! paging are the JSON endpoint's own (same parameters, same checks).

use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde::de::{Deserializer, IntoDeserializer};
use serde::{Deserialize, de::DeserializeOwned};
use sqlx::PgPool;
use uuid::Uuid;

use super::day_link;
use super::{Page, page_response, status_label, thousands};
use crate::auth::ApiToken;
use crate::catalog::Catalog;
use crate::domain::JobStatus;
use crate::problem::ApiError;
use crate::queries::jobs::{ListJobsQuery, filter_of, page_of};

/// The filter form's query: a field left at "any" or empty is sent as `name=` and means
/// no filter, where the JSON endpoint would refuse an empty value.
#[derive(Debug, Deserialize)]
struct FormQuery {
    #[serde(default, deserialize_with = "blank_as_none")]
    dataset: Option<String>,
    #[serde(default, deserialize_with = "blank_as_none")]
    status: Option<JobStatus>,
    #[serde(default, deserialize_with = "blank_as_none")]
    from: Option<String>,
    #[serde(default, deserialize_with = "blank_as_none")]
    to: Option<String>,
    #[serde(default, deserialize_with = "blank_as_none")]
    cursor: Option<Uuid>,
    #[serde(default, deserialize_with = "blank_as_none")]
    limit: Option<String>,
}

fn blank_as_none<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    match Option::<String>::deserialize(deserializer)? {
        Some(text) if !text.trim().is_empty() => {
            T::deserialize(text.trim().to_owned().into_deserializer()).map(Some)
        }
        _ => Ok(None),
    }
}

/// `GET /ui/jobs`: the page, filtered as its form asks; a filter that does not parse is a
/// 400 page, not a JSON problem.
pub async fn jobs_page(
    request: HttpRequest,
    catalog: web::Data<Catalog>,
    pool: web::Data<PgPool>,
    token: web::Data<ApiToken>,
) -> HttpResponse {
    let page = Page::of(&token);
    match query_of(request.query_string()) {
        Ok(query) => render(query, &catalog, &pool, page).await,
        Err(error) => super::error_page(page, &error),
    }
}

fn query_of(text: &str) -> Result<ListJobsQuery, ApiError> {
    let form = web::Query::<FormQuery>::from_query(text)
        .map_err(|error| ApiError::InvalidParameter(format!("invalid filter: {error}")))?
        .into_inner();
    let limit = form
        .limit
        .map(|limit| limit.parse::<i64>())
        .transpose()
        .map_err(|_| ApiError::InvalidParameter("limit must be a whole number".into()))?;
    Ok(ListJobsQuery {
        dataset: form.dataset,
        status: form.status,
        from: form.from,
        to: form.to,
        limit,
        cursor: form.cursor,
    })
}

/// The link to the page after the one that ended with the job `cursor`, same filters.
fn next_page(cursor: Uuid, query: &ListJobsQuery) -> String {
    let mut link = format!("/ui/jobs?cursor={cursor}");
    if let Some(status) = query.status {
        link.push_str(&format!("&status={}", status.as_str()));
    }
    for (name, value) in [
        ("dataset", &query.dataset),
        ("from", &query.from),
        ("to", &query.to),
    ] {
        if let Some(value) = value {
            link.push_str(&format!("&{name}={value}"));
        }
    }
    link
}

/// The filters, as a form that reloads the page.
fn filter_form(query: &ListJobsQuery, catalog: &Catalog) -> Markup {
    let statuses = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ];
    html! {
    form.inline method="get" action="/ui/jobs" aria-label="Filter jobs" {
        @if catalog.all().len() > 1 {
            label { "Dataset"
                select name="dataset" {
                    option value="" { "any" }
                    @for name in catalog.names() {
                        option value=(name) selected[query.dataset.as_deref() == Some(name.as_str())] { (name) }
                    }
                }
            }
        }
        label { "Status"
            select name="status" {
                option value="" { "any" }
                @for status in statuses {
                    option value=(status.as_str()) selected[query.status == Some(status)] { (status.as_str()) }
                }
            }
        }
        label { "Days from" input type="date" name="from" value=[query.from.as_deref()]; }
        label { "to" input type="date" name="to" value=[query.to.as_deref()]; }
        button type="submit" { "Filter" }
    }
    }
}

/// The page for `query`; a bad filter or cursor is a 400 page.
pub async fn render(
    query: ListJobsQuery,
    catalog: &Catalog,
    pool: &PgPool,
    page: Page,
) -> HttpResponse {
    let filter = match filter_of(query.clone(), catalog, pool).await {
        Ok(filter) => filter,
        Err(error) => return super::error_page(page, &error),
    };
    let (jobs, next) = match page_of(pool, &filter).await {
        Ok(found) => found,
        Err(error) => return super::error_page(page, &error),
    };
    let next_link = next.map(|cursor| next_page(cursor, &query));
    let body = html! {
        (filter_form(&query, catalog))
        @if jobs.is_empty() {
            p { "No jobs match." }
        } @else {
            div.scroll { table.list {
                caption.visually-hidden { "Jobs, newest first" }
                thead { tr {
                    th scope="col" { "Dataset" } th scope="col" { "Day" } th scope="col" { "Status" } th scope="col" { "Trigger" }
                    th scope="col" { "Progress" } th scope="col" { "Rows" } th scope="col" { "Created" }
                    th scope="col" { "Duration" } th scope="col" { "Error" } th scope="col" { span.visually-hidden { "Actions" } }
                } }
                tbody {
                    @for job in &jobs {
                        @let (word, icon) = status_label(job.status);
                        tr data-job=(job.id) {
                            td { (job.dataset) }
                            td { a href=(day_link(&job.dataset, job.date)) { (job.date) } }
                            td { span.job-status data-job=(job.id) { span aria-hidden="true" { (icon) } " " (word) } }
                            td { (format!("{:?}", job.trigger).to_lowercase()) }
                            td { (job.progress.files_done) " / " (job.progress.files_total.map_or("?".to_owned(), |t| t.to_string())) " files" }
                            td { @if let Some(rows) = job.rows_loaded { (thousands(rows)) } }
                            td { a href={ "/jobs/" (job.id) } { (job.created_at.format("%Y-%m-%d %H:%M:%S")) } }
                            td { @if let Some(ms) = job.duration_ms { (format!("{:.1} s", ms as f64 / 1000.0)) } }
                            td { @if let Some(error) = &job.error { (error.message) } }
                            td { @if !job.status.is_final() {
                                button.secondary type="button" data-action="cancel" data-job=(job.id) hidden
                                    aria-label={ "Cancel the load of " (job.date) } { "Cancel" }
                            } }
                        }
                    }
                }
            } }
        }
        @if let Some(link) = next_link {
            p { a href=(link) rel="next" { "Older jobs →" } }
        }
    };
    page_response(page.render("Jobs", body))
}
