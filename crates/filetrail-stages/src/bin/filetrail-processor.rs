//! The `filetrail-processor` Lambda: builds its clients from the environment and runs the
//! processor with the configured command.

use filetrail_aws::Env;
use filetrail_publisher::{EventBridge, Publisher, PublisherConfig};
use filetrail_stages::{
    ExternalCommand, PROCESSOR_FUNCTION, Processor, ProcessorConfig, s3_client,
};
use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // JSON logs when AWS_LAMBDA_LOG_FORMAT=JSON, text otherwise.
    lambda_runtime::tracing::init_default_subscriber();
    let env = Env::process();
    let config = ProcessorConfig::from_env(&env).inspect_err(config_error)?;
    let publishing = PublisherConfig::from_env(&env).inspect_err(config_error)?;
    let sdk = filetrail_aws::load_sdk_config().await;
    let bus = EventBridge::new(
        aws_sdk_eventbridge::Client::new(&sdk),
        publishing.bus.clone(),
    );
    tracing::info!(command = %config.command.display(), rules = %config.rules,
        bus = %publishing.bus, source = %publishing.source, "processor starting");
    let step = ExternalCommand::new(&config.command);
    let processor = Processor::new(
        s3_client(&sdk),
        Publisher::new(bus, publishing),
        step,
        config.rules,
    )
    .with_function_name(filetrail_aws::emf::function_name(&env, PROCESSOR_FUNCTION));
    let processor = &processor;
    lambda_runtime::run(service_fn(move |event| processor.invoke(event))).await
}

/// Log a start-up configuration error with the variable it names.
fn config_error(e: &filetrail_aws::ConfigError) {
    tracing::error!(variable = %e.var, problem = %e.problem, "invalid configuration; the function cannot start");
}
