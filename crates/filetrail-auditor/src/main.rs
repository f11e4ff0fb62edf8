//! The `filetrail-auditor` Lambda: reads its configuration, builds its clients, audits on every
//! scheduled invocation.

use filetrail_auditor::{Auditor, AuditorConfig, FUNCTION_NAME};
use filetrail_aws::Env;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // JSON logs when AWS_LAMBDA_LOG_FORMAT=JSON, text otherwise.
    lambda_runtime::tracing::init_default_subscriber();
    let env = Env::process();
    let config = AuditorConfig::from_env(&env, chrono::Utc::now())
        .inspect_err(filetrail_aws::config_error)?;
    tracing::info!(incoming_bucket = %config.audit.incoming_bucket, rules = %config.audit.rules,
        bucket_prefix = %config.audit.bucket_prefix, older_than_s = config.audit.older_than.as_secs(),
        since_s = config.audit.since.as_secs(), inventories = config.inventory.len(), "auditor starting");
    let sdk = filetrail_aws::load_sdk_config().await;
    let function = filetrail_aws::emf::function_name(&env, FUNCTION_NAME);
    let auditor = &Auditor::connect(config, &sdk, function).await?;
    // Every invocation is one audit, now, in a span with its request id.
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            Ok::<_, Error>(auditor.handle(event).await?)
        },
    ))
    .await
}
