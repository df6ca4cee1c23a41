//! One OpenLineage `RunEvent` (spec 2-0-2) as JSON, with the standard facets a catalog
//! shows: the day as the run's nominal time, the engine, the error of a failed run; the
//! job's type; the input (the dataset's directory or bucket) with the day's file count,
//! size and rows; the output table with its schema and the rows swapped in. Names follow
//! OpenLineage's naming: `file` + an absolute path, `s3://bucket` + a key prefix,
//! `postgres://host:port` + `database.schema.table`.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use loader::{Column, DataSource, Dataset};
use serde_json::{Value, json};

use super::{RunNote, RunState};

const RUN_EVENT: &str = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";
const NOMINAL_TIME: &str =
    "https://openlineage.io/spec/facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet";
const PROCESSING_ENGINE: &str = "https://openlineage.io/spec/facets/1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet";
const ERROR_MESSAGE: &str = "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet";
const JOB_TYPE: &str =
    "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet";
const SCHEMA: &str =
    "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet";
const INPUT_STATISTICS: &str = "https://openlineage.io/spec/facets/1-0-0/InputStatisticsInputDatasetFacet.json#/$defs/InputStatisticsInputDatasetFacet";
const OUTPUT_STATISTICS: &str = "https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet";

/// Who wrote the event: this service, at its version.
const PRODUCER: &str = concat!("urn:dwh-loader:api:", env!("CARGO_PKG_VERSION"));

/// What an event names besides its run.
pub(super) struct EventContext<'a> {
    /// The jobs' namespace (`OPENLINEAGE_NAMESPACE`).
    pub(super) namespace: &'a str,
    /// `postgres://host:port` and the database.
    pub(super) database: &'a (String, String),
    /// The job's dataset, when this process declares it.
    pub(super) dataset: Option<&'a Dataset>,
    /// Its table's columns, when they could be read.
    pub(super) columns: Option<Vec<Column>>,
}

pub(super) fn run_event(note: &RunNote, context: &EventContext<'_>) -> Value {
    let event_type = match note.state {
        RunState::Start => "START",
        RunState::Complete { .. } => "COMPLETE",
        RunState::Fail { .. } => "FAIL",
        RunState::Abort => "ABORT",
    };
    let rollback = note.job.rollback_to.is_some();
    json!({
        "eventType": event_type,
        "eventTime": note.at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "producer": PRODUCER,
        "schemaURL": RUN_EVENT,
        "run": { "runId": note.run_id.to_string(), "facets": run_facets(note, context) },
        "job": {
            "namespace": context.namespace,
            "name": note.job.dataset,
            "facets": { "jobType": facet(JOB_TYPE, json!({
                "processingType": "BATCH",
                "integration": "DWH_LOADER",
                "jobType": if rollback { "ROLLBACK" } else { "LOAD" },
            })) },
        },
        // A rollback reads a kept version of the table, not files.
        "inputs": if rollback { Vec::new() } else { input(note, context).into_iter().collect() },
        "outputs": [output(note, context)],
    })
}

/// A facet: its fields with the `_producer` and `_schemaURL` every facet carries.
fn facet(schema: &str, fields: Value) -> Value {
    let mut facet = json!({ "_producer": PRODUCER, "_schemaURL": schema });
    if let (Some(facet), Value::Object(fields)) = (facet.as_object_mut(), fields) {
        facet.extend(fields);
    }
    facet
}

fn run_facets(note: &RunNote, context: &EventContext<'_>) -> Value {
    let mut facets = json!({
        "processing_engine": facet(PROCESSING_ENGINE, json!({
            "version": env!("CARGO_PKG_VERSION"), "name": "dwh-loader",
        })),
    });
    if let Some((start, end)) = context.dataset.and_then(|d| day_span(d, note.job.date)) {
        facets["nominalTime"] = facet(
            NOMINAL_TIME,
            json!({ "nominalStartTime": start, "nominalEndTime": end }),
        );
    }
    if let RunState::Fail { message } = &note.state {
        facets["errorMessage"] = facet(
            ERROR_MESSAGE,
            json!({ "message": message, "programmingLanguage": "Rust" }),
        );
    }
    facets
}

/// Where the day starts and ends, in its dataset's time zone, as UTC instants.
fn day_span(dataset: &Dataset, date: NaiveDate) -> Option<(String, String)> {
    let midnight = |day: NaiveDate| -> Option<String> {
        let local = day
            .and_hms_opt(0, 0, 0)?
            .and_local_timezone(dataset.timezone);
        let instant: DateTime<Utc> = local.earliest()?.with_timezone(&Utc);
        Some(instant.to_rfc3339_opts(SecondsFormat::Secs, true))
    };
    Some((midnight(date)?, midnight(date.succ_opt()?)?))
}

/// The dataset's source, with the day's files counted once the load is done.
fn input(note: &RunNote, context: &EventContext<'_>) -> Option<Value> {
    let (namespace, name) = source_name(&context.dataset?.source)?;
    let mut input = json!({ "namespace": namespace, "name": name, "facets": {} });
    if let RunState::Complete { rows, files, bytes } = note.state {
        input["inputFacets"] = json!({ "inputStatistics": facet(INPUT_STATISTICS, json!({
            "rowCount": rows, "size": bytes, "fileCount": files,
        })) });
    }
    Some(input)
}

/// OpenLineage's names of a directory (`file`, its absolute path) or of a bucket's
/// prefix (`s3://bucket`, the prefix).
fn source_name(source: &str) -> Option<(String, String)> {
    if DataSource::names_a_bucket(source) {
        let url = object_store_tls::Url::parse(source).ok()?;
        let prefix = url.path().trim_matches('/');
        let namespace = format!("{}://{}", url.scheme(), url.host_str()?);
        return Some((
            namespace,
            if prefix.is_empty() { "/" } else { prefix }.to_owned(),
        ));
    }
    let path = source.strip_prefix("file://").unwrap_or(source);
    let absolute = std::path::absolute(path).ok()?;
    Some(("file".to_owned(), absolute.to_string_lossy().into_owned()))
}

fn output(note: &RunNote, context: &EventContext<'_>) -> Value {
    let (namespace, database) = context.database;
    let table = context.dataset.map_or_else(
        || note.job.dataset.clone(),
        |d| format!("{}.{}", d.table_name.0, d.table_name.1),
    );
    let mut output = json!({
        "namespace": namespace,
        "name": format!("{database}.{table}"),
        "facets": {},
    });
    if let Some(columns) = &context.columns {
        let fields: Vec<Value> = columns
            .iter()
            .map(|c| json!({ "name": c.name, "type": c.pg_type.to_string() }))
            .collect();
        output["facets"]["schema"] = facet(SCHEMA, json!({ "fields": fields }));
    }
    if let RunState::Complete { rows, .. } = note.state {
        output["outputFacets"] = json!({ "outputStatistics": facet(OUTPUT_STATISTICS, json!({
            "rowCount": rows,
        })) });
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_named_as_openlineage_names_them() {
        assert_eq!(
            source_name("s3://raw/meters/"),
            Some(("s3://raw".to_owned(), "meters".to_owned()))
        );
        assert_eq!(
            source_name("gs://raw"),
            Some(("gs://raw".to_owned(), "/".to_owned()))
        );
        assert_eq!(
            source_name("file:///srv/data"),
            Some(("file".to_owned(), "/srv/data".to_owned()))
        );
        let relative = source_name("data").expect("a directory");
        assert_eq!(relative.0, "file");
        assert!(
            relative.1.starts_with('/') && relative.1.ends_with("/data"),
            "{relative:?}"
        );
    }
}
