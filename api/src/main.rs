use anyhow::Context;
use api::configuration::Settings;
use api::startup::Application;
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::parse();
    api::telemetry::init(settings.log_format);
    let application = Application::build(settings)
        .await
        .context("the API could not start")?;
    application.run_until_stopped().await
}
