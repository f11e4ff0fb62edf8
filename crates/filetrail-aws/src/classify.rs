//! The one classifier for SDK errors: retry, or give up.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Error codes AWS services use for transient failures, across EventBridge, SQS, S3 and Timestream.
const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "SlowDown",
    "InternalFailure",
    "InternalError",
    "InternalException",
    "InternalServerError",
    "InternalServerException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// Whether an AWS error code (call-level or per-entry) names a transient failure.
pub fn is_retryable_code(code: &str) -> bool {
    RETRYABLE_CODES.contains(&code)
}

/// An SDK error reduced to what the callers decide on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    /// Whether trying again may succeed.
    pub retryable: bool,
    /// The service's error code, or a name for the transport failure (`Timeout`, `Dispatch`, ...).
    pub code: String,
    /// A human-readable message.
    pub message: String,
}

/// Classify an SDK error once: throttling, 5xx, timeouts and connection failures are retryable;
/// everything else (validation, access, not-found, construction) is not.
pub fn classify<E>(err: &SdkError<E, HttpResponse>) -> Classified
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::TimeoutError(_) => transient("Timeout", "the request timed out"),
        SdkError::DispatchFailure(e) => transient("Dispatch", &format!("{e:?}")),
        SdkError::ResponseError(_) => transient("ResponseError", "the response could not be read"),
        SdkError::ConstructionFailure(_) => Classified {
            retryable: false,
            code: "ConstructionFailure".into(),
            message: format!(
                "{}",
                aws_smithy_types::error::display::DisplayErrorContext(err)
            ),
        },
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let code = se.err().code().unwrap_or("Unknown").to_owned();
            let message = se.err().message().unwrap_or_default().to_owned();
            let retryable = is_retryable_code(&code) || status == 429 || status >= 500;
            Classified {
                retryable,
                code,
                message,
            }
        }
        _ => Classified {
            retryable: false,
            code: "Unknown".into(),
            message: format!(
                "{}",
                aws_smithy_types::error::display::DisplayErrorContext(err)
            ),
        },
    }
}

fn transient(code: &str, message: &str) -> Classified {
    Classified {
        retryable: true,
        code: code.into(),
        message: message.into(),
    }
}
