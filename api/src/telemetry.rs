//! Logging: `tracing` to stdout, pretty or JSON, filtered by `RUST_LOG` (default `info`).
//! Request lines carry the request id (from `tracing-actix-web`), job lines the job id.

use dwh_common::logging::{self, LogTo};

use crate::configuration::LogFormat;

pub fn init(format: LogFormat) {
    let json = format == LogFormat::Json;
    logging::init(LogTo::Stdout, "info,sqlx=warn,actix_server=warn", json);
}
