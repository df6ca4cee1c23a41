//! `GET /events`: Server-Sent Events for the dashboard — jobs created, moving and
//! finishing, days whose state changed.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use futures::stream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

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
    shutdown: CancellationToken,
    /// Given back when the stream ends (the client went away, or shutdown).
    _slot: OwnedSemaphorePermit,
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
/// Every dataset's events come on one stream, each naming its dataset.
/// - `resync` (no id): events were missed; reload what is shown.
///
/// A client that reconnects with `Last-Event-ID` is first sent the events it missed (or
/// `resync`, when they are no longer kept or the id is another instance's).
#[utoipa::path(
    get,
    path = "/events",
    tag = "events",
    params(
        ("Last-Event-ID" = Option<String>, Header, description = "The id of the last event received: the events after it are sent first"),
    ),
    responses(
        // Each event's schema is put here by `event_schemas::EventStream`.
        (status = 200, description = "An endless stream of events", content_type = "text/event-stream", body = String),
        (status = 503, description = "`EVENTS_MAX_CLIENTS` streams are open already; try again after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn events(
    request: HttpRequest,
    bus: web::Data<EventBus>,
    slots: web::Data<ClientSlots>,
    shutdown: web::Data<CancellationToken>,
) -> Result<HttpResponse, ApiError> {
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
    let client = Client {
        missed: missed.into_iter(),
        receiver,
        instance: bus.instance().to_owned(),
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
    let received = tokio::select! {
        () = client.shutdown.cancelled() => return None,
        () = tokio::time::sleep(KEEP_ALIVE) => return Some(": keep-alive\n\n".into()),
        received = client.receiver.recv() => received,
    };
    match received {
        Ok(event) => Some(event.to_sse(&client.instance)),
        Err(RecvError::Lagged(_)) => Some(Event::resync().to_sse(&client.instance)),
        Err(RecvError::Closed) => None,
    }
}

pub fn configure(config: &mut ServiceConfig) {
    config.service(Endpoint::at("/events").get(events).done());
}
