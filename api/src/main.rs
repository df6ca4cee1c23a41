use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use api::configuration::{Command, Settings};
use api::startup::Application;
use clap::Parser;

/// How long the process waits, once stopped, for threads still inside a file read.
const STUCK_READS_GRACE: Duration = Duration::from_secs(5);

fn main() -> anyhow::Result<ExitCode> {
    let settings = Settings::parse();
    api::telemetry::init(settings.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    if let Some(Command::RunOnce { until_empty }) = settings.command {
        let outcomes = runtime.block_on(api::startup::run_once(settings, until_empty));
        runtime.shutdown_timeout(STUCK_READS_GRACE);
        let outcomes = outcomes?;
        let code = match outcomes.iter().max() {
            Some(worst) => worst.exit_code(),
            None if until_empty => 0,
            None => api::worker::NOTHING_QUEUED,
        };
        tracing::info!(jobs = outcomes.len(), exit_code = code, "run-once done");
        return Ok(ExitCode::from(code));
    }
    let result = runtime.block_on(async {
        let application = Application::build(settings)
            .await
            .context("the API could not start")?;
        application.run_until_stopped().await
    });
    // By now every load was stopped and its job handed back. A read stuck in the kernel
    // (a hung network file system) cannot be interrupted; its thread is not waited for
    // beyond the grace period, so SIGTERM always ends the process.
    runtime.shutdown_timeout(STUCK_READS_GRACE);
    result.map(|()| ExitCode::SUCCESS)
}
