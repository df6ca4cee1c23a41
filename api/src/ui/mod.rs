//! The dashboard: HTML pages served by the API itself (no front-end build), readable
//! without JavaScript; a small script of ours adds the live updates (`GET /events`) and
//! the actions (with a bearer token typed once per tab, kept in `sessionStorage`).
//!
//! Templates are `maud`: HTML written as Rust, checked by the compiler and escaped by
//! default, with nothing to load or parse at run time — a template error is a build error,
//! not a 500 in production. Charts are SVG drawn here ([`charts`]), so they too need no
//! script and no library from anywhere.

pub mod charts;
pub mod datasets;
pub mod day;
pub mod jobs;
pub mod month;
pub mod slots;
pub mod versions;

use actix_web::http::header::{self, ContentType};
use actix_web::web::ServiceConfig;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::auth::ApiToken;
use crate::domain::{DayState, JobStatus, LoadDate};
use crate::problem::ApiError;
use crate::routes::endpoint::Endpoint;

const CSS: &str = include_str!("assets/dashboard.css");
const JS: &str = include_str!("assets/dashboard.js");

/// What every page needs to know about the server.
#[derive(Debug, Clone)]
pub struct Page {
    /// The POST endpoints need a token: the page asks for it before it shows actions.
    pub token_required: bool,
    /// The declared dataset the page is about (`None`: the sample, or every dataset): the
    /// script adds it to what it asks and follows only its events.
    pub dataset: Option<String>,
}

impl Page {
    pub fn of(token: &ApiToken) -> Self {
        Self {
            token_required: token.0.is_some(),
            dataset: None,
        }
    }

    /// The page of `dataset`'s days.
    pub fn of_dataset(self, dataset: &str) -> Self {
        Self {
            dataset: (dataset != loader::SAMPLE_DATASET).then(|| dataset.to_owned()),
            ..self
        }
    }

    /// A whole page: `title` names it (and the tab), `body` is its main content.
    pub fn render(&self, title: &str, body: Markup) -> Markup {
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · dwh-loader" }
                    // No icon: a browser asking for /favicon.ico would log a 404.
                    link rel="icon" href="data:,";
                    link rel="stylesheet" href="/ui/assets/dashboard.css";
                    script src="/ui/assets/dashboard.js" defer {}
                }
                body data-token-required=(self.token_required) data-dataset=[self.dataset.as_deref()] {
                    a.skip href="#main" { "Skip to content" }
                    header.top {
                        a.brand href="/" { "dwh-loader" }
                        nav aria-label="Pages" {
                            ul {
                                li { a href="/" { "Month" } }
                                li { a href="/ui/jobs" { "Jobs" } }
                                li { a href="/docs/" { "API" } }
                            }
                        }
                        // Shown by the script when the API wants a token and none is kept.
                        form.token #token-form hidden {
                            label for="token" { "API token" }
                            input #token type="password" autocomplete="off" name="token";
                            button type="submit" { "Use token" }
                        }
                        button.secondary #token-forget type="button" hidden { "Forget token" }
                    }
                    main #main {
                        h1 { (title) }
                        p.notice #notice role="status" aria-live="polite" {}
                        (body)
                    }
                }
            }
        }
    }
}

/// A page as a response.
pub fn page_response(markup: Markup) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(markup.into_string())
}

/// A piece of a page, for the script to swap in.
pub fn fragment_response(markup: Markup) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(markup.into_string())
}

/// An error as a page, with the status and the words the JSON API would answer: an
/// internal error's cause (a database message, say) goes to the log, not to the page.
pub fn error_page(page: Page, error: &ApiError) -> HttpResponse {
    use actix_web::ResponseError;
    if let ApiError::Internal(cause) = error {
        tracing::error!(error = format!("{cause:#}"), "page failed");
    }
    let status = error.status_code();
    let title = status.canonical_reason().unwrap_or("Error");
    let body = html! {
        p { (error.problem().detail) }
        p { a href="/" { "Back to the month" } }
    };
    HttpResponse::build(status)
        .content_type(ContentType::html())
        .body(page.render(title, body).into_string())
}

/// The word, icon and CSS class of a day's state.
pub fn state_label(state: DayState) -> (&'static str, &'static str, &'static str) {
    match state {
        DayState::Empty => ("No files", "–", "empty"),
        DayState::Arriving => ("Arriving", "◔", "arriving"),
        DayState::Complete => ("Complete, not loaded", "●", "complete"),
        DayState::Loaded => ("Loaded", "✓", "loaded"),
        DayState::Live => ("Live", "◉", "live"),
        DayState::Partial => ("Partial", "◑", "partial"),
        DayState::Changed => ("Changed", "≠", "changed"),
        DayState::Failed => ("Failed", "✗", "failed"),
    }
}

/// The word and icon of a job's status.
pub fn status_label(status: JobStatus) -> (&'static str, &'static str) {
    match status {
        JobStatus::Queued => ("Queued", "…"),
        JobStatus::Running => ("Running", "▶"),
        JobStatus::Succeeded => ("Succeeded", "✓"),
        JobStatus::Failed => ("Failed", "✗"),
        JobStatus::Cancelled => ("Cancelled", "■"),
    }
}

/// A count as people read it: `2756160` → `2,756,160` (the loader's own spelling).
pub fn thousands(n: i64) -> String {
    loader::thousands(u64::try_from(n).unwrap_or(0))
}

/// The legend of the day states.
pub fn legend() -> Markup {
    let states = [
        DayState::Loaded,
        DayState::Live,
        DayState::Complete,
        DayState::Arriving,
        DayState::Partial,
        DayState::Changed,
        DayState::Failed,
        DayState::Empty,
    ];
    html! {
        ul.legend aria-label="Legend" {
            @for state in states {
                @let (word, icon, class) = state_label(state);
                li class={ "state-" (class) } { span aria-hidden="true" { (icon) } " " (word) }
            }
            li.state-running { span aria-hidden="true" { "▶" } " Running (a load in progress)" }
        }
    }
}

/// The stylesheet and the script, embedded in the binary.
pub async fn asset(name: web::Path<String>) -> HttpResponse {
    let (body, kind) = match name.as_str() {
        "dashboard.css" => (CSS, "text/css; charset=utf-8"),
        "dashboard.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return HttpResponse::NotFound().finish(),
    };
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, kind))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(body)
}

/// Whether a request to a JSON endpoint asked for a page instead (a browser's `Accept`).
pub fn wants_html(request: &HttpRequest) -> bool {
    request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            let html = accept.find("text/html");
            let json = accept.find("application/json");
            html.is_some() && json.is_none_or(|j| html < Some(j))
        })
}

/// The query that names `dataset` on a page's links: none for the sample, the default.
pub fn dataset_query(dataset: &str) -> String {
    if dataset == loader::SAMPLE_DATASET {
        String::new()
    } else {
        format!("?dataset={dataset}")
    }
}

/// The page of `date` of `dataset`.
pub fn day_link(dataset: &str, date: chrono::NaiveDate) -> String {
    format!("/days/{date}{}", dataset_query(dataset))
}

/// Raw markup for trusted constants (a chart's SVG path data, built here from numbers).
pub fn trusted(markup: String) -> PreEscaped<String> {
    PreEscaped(markup)
}

/// A panel of the day `date` names, as an HTML fragment; or the error page.
pub async fn day_fragment(
    date: &str,
    token: &ApiToken,
    panel: impl AsyncFnOnce(chrono::NaiveDate) -> Result<Markup, ApiError>,
) -> HttpResponse {
    let rendered = match LoadDate::parse("date", date) {
        Ok(date) => panel(date.get()).await,
        Err(error) => Err(error.into()),
    };
    match rendered {
        Ok(panel) => fragment_response(panel),
        Err(error) => error_page(Page::of(token), &error),
    }
}

/// The dashboard's pages, fragments and assets, in matching order.
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(Endpoint::at("/").get(month::month_page).done())
        .service(Endpoint::at("/days/{date}").get(day::day_page).done())
        .service(Endpoint::at("/ui/jobs").get(jobs::jobs_page).done())
        .service(Endpoint::at("/ui/assets/{name}").get(asset).done())
        .service(
            Endpoint::at("/ui/fragments/day-cell/{date}")
                .get(month::day_cell_fragment)
                .done(),
        )
        .service(
            Endpoint::at("/ui/fragments/versions/{date}")
                .get(versions::versions_fragment)
                .done(),
        )
        .service(
            Endpoint::at("/ui/fragments/active-job/{date}")
                .get(day::active_job_fragment)
                .done(),
        );
}
