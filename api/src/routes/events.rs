//! `GET /events`: Server-Sent Events for the dashboard — jobs created, moving and
//! finishing, days whose state changed.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use futures::stream;
use serde::Deserialize;
use tokio::sync::OwnedSemaphorePermit;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;
use utoipa::IntoParams;

use crate::catalog::Catalog;
use crate::events::{ClientSlots, Event, EventBus};
use crate::problem::{ApiError, Problem};
use crate::routes::endpoint::Endpoint;
use actix_web::web::ServiceConfig;

/// How often an idle stream sends a comment, so that proxies keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// What the stream of one client holds: bounded whatever the client's pace (a client
/// that falls behind by the broadcast channel's capacity is sent `resync`).
struct Client {
    missed: std::vec::IntoIter<Arc<Event>>,
    receiver: broadcast::Receiver<Arc<Event>>,
    /// The prefix of this instance's event ids.
    instance: String,
    /// The one dataset whose events the client asked for (every dataset's: `None`).
    dataset: Option<String>,
    shutdown: CancellationToken,
    /// Given back when the stream ends (the client went away, or shutdown).
    _slot: OwnedSemaphorePermit,
}

/// `GET /events`'s parameter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only this dataset's events (`GET /datasets` lists them); without it, every
    /// dataset's.
    #[param(pattern = r"^[a-z][a-z0-9_]{0,62}$", example = "sample")]
    pub dataset: Option<String>,
}

/// How long a client turned away is asked to wait.
const RETRY_FULL_SECS: u64 = 10;

/// Live events, as Server-Sent Events.
///
/// Each event has an `id` (`<instance>.<n>`, increasing), a name and a JSON `data` line:
/// - `job`: `{"event": "job", "kind": "created" | "status" | "progress" |
///   "finished", "dataset", "job_id", "date", "status", "trigger", "files_done",
///   "files_total", "rows_done"}`;
/// - `day`: `{"event": "day", "dataset", "date"}`: the day's state may have changed
///   (read it from `GET /days?dataset=…`);
///
/// - `resync` (no id): events were missed; reload what is shown.
///
/// Every dataset's events come on one stream, each naming its dataset; with `?dataset=`,
/// only that dataset's (and every `resync`).
///
/// A client that reconnects with `Last-Event-ID` is first sent the events it missed (or
/// `resync`, when they are no longer kept or the id is another instance's).
#[utoipa::path(
    get,
    path = "/events",
    tag = "events",
    params(
        EventsQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "The id of the last event received: the events after it are sent first"),
    ),
    responses(
        // Each event's schema is put here by `event_schemas::EventStream`.
        (status = 200, description = "An endless stream of events", content_type = "text/event-stream", body = String),
        (status = 400, description = "The `dataset` parameter is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "There is no such dataset (`unknown-dataset`, with the `datasets` there are)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`EVENTS_MAX_CLIENTS` streams are open already; try again after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn events(
    request: HttpRequest,
    query: web::Query<EventsQuery>,
    catalog: web::Data<Catalog>,
    bus: web::Data<EventBus>,
    slots: web::Data<ClientSlots>,
    shutdown: web::Data<CancellationToken>,
) -> Result<HttpResponse, ApiError> {
    let dataset = match query.into_inner().dataset {
        Some(name) => Some(catalog.get(&name)?.name().to_owned()),
        None => None,
    };
    let Some(slot) = slots.take() else {
        return Err(ApiError::Full {
            detail: format!(
                "this instance serves {} event streams at once (EVENTS_MAX_CLIENTS) and all \
                 are taken; try again later",
                slots.max()
            ),
            retry_after_secs: RETRY_FULL_SECS,
        });
    };
    let last_event_id = request
        .headers()
        .get("Last-Event-ID")
        .and_then(|v| v.to_str().ok());
    let (missed, receiver) = bus.subscribe(last_event_id);
    let missed: Vec<_> = missed
        .into_iter()
        .filter(|e| e.is_for(dataset.as_deref()))
        .collect();
    let client = Client {
        missed: missed.into_iter(),
        receiver,
        instance: bus.instance().to_owned(),
        dataset,
        shutdown: shutdown.get_ref().clone(),
        _slot: slot,
    };
    // The first chunk tells the browser how long to wait before reconnecting.
    let opening = stream::once(async { Ok::<_, actix_web::Error>(Bytes::from("retry: 2000\n\n")) });
    let events = stream::unfold(client, |mut client| async move {
        let chunk = next_chunk(&mut client).await?;
        Some((Ok::<_, actix_web::Error>(Bytes::from(chunk)), client))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(futures::StreamExt::chain(opening, events)))
}

/// The next lines to send, or `None` to end the stream (at shutdown).
async fn next_chunk(client: &mut Client) -> Option<String> {
    if let Some(event) = client.missed.next() {
        return Some(event.to_sse(&client.instance));
    }
    // The keep-alive counts from the last line sent: another dataset's events do not
    // reset it.
    let keep_alive = tokio::time::sleep(KEEP_ALIVE);
    tokio::pin!(keep_alive);
    loop {
        let received = tokio::select! {
            () = client.shutdown.cancelled() => return None,
            () = &mut keep_alive => return Some(": keep-alive\n\n".into()),
            received = client.receiver.recv() => received,
        };
        match received {
            Ok(event) if event.is_for(client.dataset.as_deref()) => {
                return Some(event.to_sse(&client.instance));
            }
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => return Some(Event::resync().to_sse(&client.instance)),
            Err(RecvError::Closed) => return None,
        }
    }
}

pub fn configure(config: &mut ServiceConfig) {
    config.service(Endpoint::at("/events").get(events).done());
}
