//! The `filetrail-sorter` Lambda: the sorter, built from the environment ([`serve_from_env`]).

use filetrail_stages::{Sorter, SorterConfig, serve_from_env};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    serve_from_env(SorterConfig::from_env, |config, clients| {
        tracing::info!(incoming_bucket = %config.incoming_bucket, rules = %config.rules,
            bucket_prefix = %config.bucket_prefix, "sorter starting");
        Sorter::new(clients.s3, clients.publisher, config)
    })
    .await
}
