//! What `GET /events` sends, as the OpenAPI document describes it: each Server-Sent Event
//! (its `event` name, its `id`, its `data`) as one object, the way OpenAPI 3.1 tools and
//! fuzzers read an event stream's `schema`, with each `data` line's JSON given by
//! `contentMediaType` and `contentSchema`. The payloads are written by the database's
//! triggers (the `events` migration); these types only describe them.

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{RefOr, content::ContentBuilder};
use utoipa::{Modify, ToSchema};
use uuid::Uuid;

use crate::domain::{JobStatus, JobTrigger};

/// The `data` of a `job` event: a job was created, changed status, moved, or finished.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"event": "job", "kind": "progress", "dataset": "sample",
    "job_id": "0193a0c4-5a4e-7cc1-9d7e-2f0c1f6f3b11", "date": "2023-01-01", "status": "running",
    "trigger": "api", "files_done": 700, "files_total": 1440, "rows_done": 1339800}))]
pub struct JobEvent {
    pub event: JobEventName,
    pub kind: JobEventKind,
    /// The job's dataset.
    pub dataset: String,
    pub job_id: Uuid,
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    pub status: JobStatus,
    pub trigger: JobTrigger,
    pub files_done: i64,
    /// Null until the job's files were counted.
    pub files_total: Option<i64>,
    pub rows_done: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobEventName {
    Job,
}

/// What happened to the job: `created`; `status` (it moved to a status that is not
/// final); `progress` (files or rows done); `finished` (succeeded, failed or cancelled).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobEventKind {
    Created,
    Status,
    Progress,
    Finished,
}

/// The `data` of a `day` event: the day's state may have changed (read it from
/// `GET /days`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"event": "day", "dataset": "sample", "date": "2023-01-01"}))]
pub struct DayEvent {
    pub event: DayEventName,
    /// The day's dataset.
    pub dataset: String,
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DayEventName {
    Day,
}

/// Puts the events' schema on `GET /events`'s answer.
#[derive(Debug)]
pub struct EventStream;

impl Modify for EventStream {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(operation) = openapi
            .paths
            .paths
            .get_mut("/events")
            .and_then(|item| item.get.as_mut())
        else {
            return;
        };
        let Some(RefOr::T(answer)) = operation.responses.responses.get_mut("200") else {
            return;
        };
        let content = ContentBuilder::new()
            .schema(Some(event_schema()))
            .example(Some(serde_json::json!({
                "id": "3f9c2a1b.42",
                "event": "job",
                "data": "{\"event\":\"job\",\"kind\":\"progress\",\"dataset\":\"sample\",\"job_id\":\"0193a0c4-5a4e-7cc1-9d7e-2f0c1f6f3b11\",\"date\":\"2023-01-01\",\"status\":\"running\",\"trigger\":\"api\",\"files_done\":700,\"files_total\":1440,\"rows_done\":1339800}"
            })))
            .build();
        answer
            .content
            .insert("text/event-stream".to_owned(), content);
    }
}

/// One event: a `job`, a `day` or a `resync`.
fn event_schema() -> Schema {
    let of = |schema: &str| data(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(schema)));
    let job = event(
        "job",
        true,
        of("JobEvent"),
        "A job was created, moved or finished.",
    );
    let day = event(
        "day",
        true,
        of("DayEvent"),
        "A day's state may have changed.",
    );
    let nothing = ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::Object))
        .max_properties(Some(0))
        .build();
    let resync = event(
        "resync",
        false,
        data(RefOr::T(Schema::Object(nothing))),
        "Events were missed (the client fell behind, or its Last-Event-ID is no longer \
         kept): reload what is shown. Sent without an id of its own.",
    );
    Schema::OneOf(
        OneOfBuilder::new()
            .item(job)
            .item(day)
            .item(resync)
            .description(Some("One Server-Sent Event, as an object of its fields"))
            .build(),
    )
}

/// An event named `name` whose `data` is `data`; `with_id`: it always carries an id.
fn event(name: &str, with_id: bool, data: Schema, description: &str) -> Schema {
    let string = || ObjectBuilder::new().schema_type(SchemaType::new(Type::String));
    let mut object = ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::Object))
        .description(Some(description))
        .property("event", string().enum_values(Some([name])))
        .property(
            "id",
            string()
                .description(Some(
                    "`<instance>.<n>`: send it back as `Last-Event-ID` to be sent what was missed",
                ))
                .pattern(Some(r"^[0-9a-f]+\.[0-9]+$")),
        )
        .property("data", data)
        .property(
            "retry",
            ObjectBuilder::new()
                .schema_type(SchemaType::new(Type::Integer))
                .minimum(Some(0)),
        )
        .required("event")
        .required("data");
    if with_id {
        object = object.required("id");
    }
    Schema::Object(object.build())
}

/// A `data` line: JSON of the schema `payload`.
fn data(payload: RefOr<Schema>) -> Schema {
    let mut object = ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .content_media_type("application/json")
        .build();
    // `contentSchema` (JSON Schema 2020-12, which OpenAPI 3.1 uses) has no setter here;
    // extensions are written into the schema as they are named.
    let mut extensions = Extensions::default();
    extensions.insert(
        "contentSchema".to_owned(),
        serde_json::to_value(payload).unwrap_or_default(),
    );
    object.extensions = Some(extensions);
    Schema::Object(object)
}
