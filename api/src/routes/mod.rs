//! HTTP handlers, one module per resource, each with its part of the route table
//! (`configure`): parse the request, call a command or a query, answer.

pub mod datasets;
pub mod days;
pub mod endpoint;
pub mod event_schemas;
pub mod events;
pub mod health;
pub mod jobs;
pub mod new_jobs;
pub mod partitions;
pub mod versions;

pub use health::{healthz, metrics, readyz};

use actix_web::web::ServiceConfig;

/// The job API's routes (not served by a `ROLE=worker` instance), in matching order.
pub fn configure(config: &mut ServiceConfig) {
    datasets::configure(config);
    jobs::configure(config);
    partitions::configure(config);
    days::configure(config);
    versions::configure(config);
    events::configure(config);
}
