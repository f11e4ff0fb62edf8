//! AWS plumbing shared by every filetrail crate that calls AWS.
//!
//! - [`load_sdk_config`]: the standard credential/region chain; `AWS_ENDPOINT_URL` works; the
//!   retry and timeout settings of [`sdk`], the one place every client gets them.
//! - [`classify`]: the one place an SDK error becomes retryable or not.
//! - [`Backoff`]: jittered exponential backoff (from `backon`) bounded by a deadline.
//! - [`ConfigError`] and [`Env`]: configuration from environment variables, errors naming them.
//! - [`emf`]: CloudWatch embedded metric format lines; [`counts!`] declares a counts struct
//!   whose fields are its metrics.
//! - [`lambda`]: the Lambda binaries' edge: [`work_deadline`] and the one configuration-error
//!   exit ([`config_error`]).

mod backoff;
mod classify;
pub mod emf;
mod env;
pub mod lambda;
pub mod sdk;

pub use backoff::{Backoff, BackoffSettings};
pub use classify::{
    Classified, PUT_EVENTS_RETRYABLE_ENTRY_CODES, Service, classify, is_retryable_put_events_entry,
};
pub use env::{ConfigError, Env};
pub use lambda::{Margin, config_error, work_deadline};

/// Load the AWS SDK configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`)
/// with filetrail's retry and timeout settings ([`sdk::configure`]).
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    sdk::configure(aws_config::defaults(aws_config::BehaviorVersion::latest()))
        .load()
        .await
}

/// The endpoint override (`AWS_ENDPOINT_URL` or a profile's `endpoint_url`), when one is set.
pub fn endpoint_override(config: &aws_config::SdkConfig) -> Option<&str> {
    config.endpoint_url()
}
