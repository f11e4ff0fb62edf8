//! The `filetrail-processor` Lambda: the processor running the configured command, built from
//! the environment ([`serve_from_env`]).

use filetrail_stages::{ExternalCommand, Processor, ProcessorConfig, serve_from_env};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    serve_from_env(ProcessorConfig::from_env, |config, clients| {
        tracing::info!(command = %config.command.display(), rules = %config.rules, "processor starting");
        let step = ExternalCommand::new(&config.command);
        Processor::new(clients.s3, clients.publisher, step, config.rules)
    })
    .await
}
