//! Live events for the dashboard: what the database announces on `dwh_events` (jobs
//! created, moving, finishing; days whose state changed), relayed to every `GET /events`
//! client of this instance.
//!
//! One `LISTEN` connection per instance feeds a bounded broadcast channel: a client that
//! falls behind loses events and is told to `resync` (reload what it shows) instead of
//! being buffered for. The last [`RECENT`] events are kept so that a client reconnecting
//! with `Last-Event-ID` is sent what it missed; one that missed more, or whose id is of
//! another instance (or of this one before a restart), is told to resync.
//!
//! Event ids are `<instance>.<n>`, numbered here in the order the notifications arrive,
//! which is the order their transactions committed.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast};
use tokio_util::sync::CancellationToken;

/// The channel the database triggers notify (see the `events` migration).
pub const CHANNEL: &str = "dwh_events";
/// Events kept for reconnecting clients, and the broadcast channel's capacity.
pub const RECENT: usize = 1024;

/// One event as a client receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// This instance's number of the event, from 1; 0 for `resync` (sent without an id).
    pub id: u64,
    /// The SSE event name: `job`, `day` or `resync`.
    pub name: String,
    /// The notification's JSON, as the database wrote it.
    pub data: String,
    /// The dataset the event is about (`job` and `day` events name one; `resync` none).
    pub dataset: Option<String>,
}

impl Event {
    /// Tells a client that it missed events: it should reload what it shows.
    pub fn resync() -> Self {
        Self {
            id: 0,
            name: "resync".into(),
            data: "{}".into(),
            dataset: None,
        }
    }

    /// Whether a client following only `dataset` (every dataset: `None`) is sent this
    /// event: a `resync` goes to every client.
    pub fn is_for(&self, dataset: Option<&str>) -> bool {
        match (dataset, &self.dataset) {
            (None, _) | (_, None) => true,
            (Some(wanted), Some(its)) => wanted == its,
        }
    }

    /// The event as Server-Sent Events lines, its id prefixed with `instance`.
    pub fn to_sse(&self, instance: &str) -> String {
        let id = if self.id > 0 {
            format!("id: {instance}.{}\n", self.id)
        } else {
            String::new()
        };
        format!("{id}event: {}\ndata: {}\n\n", self.name, self.data)
    }

    /// The event a notification's payload (`{"event": …, …}`) announces, not numbered yet.
    fn from_payload(payload: &str) -> Option<Self> {
        #[derive(Deserialize)]
        struct Head {
            event: String,
            dataset: Option<String>,
        }
        let head: Head = serde_json::from_str(payload).ok()?;
        Some(Self {
            id: 0,
            name: head.event,
            data: payload.to_owned(),
            dataset: head.dataset,
        })
    }
}

/// The recent events, and the last number given.
#[derive(Debug, Default)]
struct Recent {
    events: VecDeque<Arc<Event>>,
    last: u64,
}

/// The streams this instance serves at once (`EVENTS_MAX_CLIENTS`): each client holds a
/// slot for as long as its stream is open, so that a crowd of clients cannot hold every
/// connection and task of the instance.
#[derive(Clone, Debug)]
pub struct ClientSlots {
    slots: Arc<Semaphore>,
    max: u32,
}

impl ClientSlots {
    pub fn new(max: u32) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(max as usize)),
            max,
        }
    }

    /// A slot, while one is free; the stream gives it back when it ends.
    pub fn take(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.slots).try_acquire_owned().ok()
    }

    pub fn max(&self) -> u32 {
        self.max
    }
}

/// This instance's relay.
#[derive(Debug)]
pub struct EventBus {
    /// Names this run of the instance in event ids (random per start).
    instance: String,
    sender: broadcast::Sender<Arc<Event>>,
    /// Under one lock, so that numbering, keeping, sending and subscribing happen in one
    /// order: a new client misses nothing between its replay and its receiver.
    recent: Mutex<Recent>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self {
            instance: uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
            sender: broadcast::channel(RECENT).0,
            recent: Mutex::new(Recent::default()),
        }
    }
}

impl EventBus {
    /// The prefix of this run's event ids.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Numbers `event` (unless it is a resync), keeps it, and sends it to every client.
    pub fn publish(&self, mut event: Event) {
        let mut recent = self.recent();
        if event.name != "resync" {
            recent.last += 1;
            event.id = recent.last;
        }
        let event = Arc::new(event);
        if event.id > 0 {
            if recent.events.len() == RECENT {
                recent.events.pop_front();
            }
            recent.events.push_back(Arc::clone(&event));
        }
        let _ = self.sender.send(event); // no client: nobody to tell
    }

    /// A new client: the events after `last_event_id` it missed — or a resync when they
    /// are no longer kept, or the id is not of this run — and the receiver of what comes
    /// next.
    pub fn subscribe(
        &self,
        last_event_id: Option<&str>,
    ) -> (Vec<Arc<Event>>, broadcast::Receiver<Arc<Event>>) {
        let recent = self.recent();
        let receiver = self.sender.subscribe();
        let Some(last_event_id) = last_event_id else {
            return (Vec::new(), receiver);
        };
        let last = last_event_id
            .trim()
            .split_once('.')
            .filter(|(instance, _)| *instance == self.instance)
            .and_then(|(_, n)| n.parse::<u64>().ok())
            .filter(|&n| n <= recent.last);
        let Some(last) = last else {
            return (vec![Arc::new(Event::resync())], receiver);
        };
        let mut missed: Vec<Arc<Event>> = recent
            .events
            .iter()
            .filter(|e| e.id > last)
            .cloned()
            .collect();
        if recent
            .events
            .front()
            .is_some_and(|first| first.id > last + 1)
        {
            missed.insert(0, Arc::new(Event::resync()));
        }
        (missed, receiver)
    }

    fn recent(&self) -> std::sync::MutexGuard<'_, Recent> {
        self.recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Relays the database's notifications to `bus` until shutdown, listening again after an
/// outage (clients are told to resync then: what happened meanwhile was not heard).
pub async fn relay(pool: PgPool, bus: Arc<EventBus>, shutdown: CancellationToken) {
    loop {
        let listened = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(CHANNEL).await?;
            bus.publish(Event::resync());
            loop {
                let notification = listener.recv().await?;
                match Event::from_payload(notification.payload()) {
                    Some(event) => bus.publish(event),
                    None => tracing::warn!(payload = notification.payload(), "unreadable event"),
                }
            }
            #[allow(unreachable_code)]
            Ok::<(), sqlx::Error>(())
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            result = listened => {
                if let Err(error) = result {
                    tracing::warn!(%error, "lost the event channel; listening again");
                }
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u64) -> Event {
        Event::from_payload(&format!("{{\"event\":\"job\",\"n\":{n}}}")).expect("event")
    }

    #[test]
    fn a_reconnecting_client_gets_what_it_missed_or_a_resync() {
        let bus = EventBus::default();
        for n in 1..=3 {
            bus.publish(event(n));
        }
        let id = |n: u64| format!("{}.{n}", bus.instance());
        let (missed, _) = bus.subscribe(Some(&id(1)));
        let ids: Vec<u64> = missed.iter().map(|e| e.id).collect();
        assert_eq!(ids, [2, 3]);
        let (none, _) = bus.subscribe(Some(&id(3)));
        assert!(none.is_empty());
        let (other, _) = bus.subscribe(Some("0123abcd.2"));
        assert_eq!(other[0].name, "resync", "an id of another instance");

        let bus = EventBus::default();
        for n in 1..=(RECENT as u64 + 10) {
            bus.publish(event(n));
        }
        let (missed, _) = bus.subscribe(Some(&format!("{}.5", bus.instance())));
        assert_eq!(missed[0].name, "resync", "events 6..=10 are no longer kept");
        assert_eq!(missed[1].id, 11);
    }

    #[test]
    fn events_are_written_as_server_sent_events() {
        let bus = EventBus::default();
        bus.publish(event(7));
        let (_, mut receiver) = bus.subscribe(None);
        bus.publish(event(8));
        let sent = receiver.try_recv().expect("event");
        assert_eq!(
            sent.to_sse("ab12cd34"),
            "id: ab12cd34.2\nevent: job\ndata: {\"event\":\"job\",\"n\":8}\n\n"
        );
        assert_eq!(Event::resync().to_sse("x"), "event: resync\ndata: {}\n\n");
    }

    #[test]
    fn a_client_of_one_dataset_is_sent_its_events_and_every_resync() {
        let meters =
            Event::from_payload(r#"{"event":"day","dataset":"meters","date":"2023-01-01"}"#)
                .expect("event");
        assert_eq!(meters.dataset.as_deref(), Some("meters"));
        assert!(meters.is_for(None));
        assert!(meters.is_for(Some("meters")));
        assert!(!meters.is_for(Some("sample")));
        assert!(Event::resync().is_for(Some("sample")));
    }
}
