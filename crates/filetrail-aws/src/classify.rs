//! The one classifier for SDK errors: retry, or give up.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// The services filetrail calls, each with the error codes it documents as transient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Amazon EventBridge (calls; a failed `PutEvents` entry is decided by
    /// [`PUT_EVENTS_RETRYABLE_ENTRY_CODES`]).
    EventBridge,
    /// Amazon SQS.
    Sqs,
    /// Amazon S3.
    S3,
    /// Amazon Timestream for LiveAnalytics, write and query.
    Timestream,
    /// AWS Secrets Manager.
    SecretsManager,
}

impl Service {
    /// The error codes of this service that name a failure the same request may pass later.
    /// Any answer with HTTP 429 or 5xx, and any transport failure, is retryable too.
    pub const fn retryable_codes(self) -> &'static [&'static str] {
        match self {
            // Calls: the common errors (ThrottlingException 400, InternalFailure 500,
            // ServiceUnavailable 503) and PutEvents' own InternalException (500). A failed
            // `PutEvents` entry is decided by PUT_EVENTS_RETRYABLE_ENTRY_CODES instead.
            // <https://docs.aws.amazon.com/eventbridge/latest/APIReference/CommonErrors.html>,
            // <https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html#API_PutEvents_Errors>
            Self::EventBridge => &[
                "ThrottlingException",
                "InternalFailure",
                "InternalException",
                "ServiceUnavailable",
            ],
            // RequestThrottled (400), KMS.ThrottlingException (with a customer-managed key),
            // InternalFailure (500), ServiceUnavailable (503).
            // <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html>,
            // <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html#API_SendMessage_Errors>
            Self::Sqs => &[
                "RequestThrottled",
                "KMS.ThrottlingException",
                "InternalFailure",
                "ServiceUnavailable",
            ],
            // SlowDown (503), InternalError (500), ServiceUnavailable (503), RequestTimeout
            // (400), and 409 ConditionalRequestConflict: a concurrent write of the key; "you
            // should fetch the object's ETag and retry".
            // <https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html>,
            // <https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-requests.html>
            Self::S3 => &[
                "SlowDown",
                "InternalError",
                "ServiceUnavailable",
                "RequestTimeout",
                "ConditionalRequestConflict",
            ],
            // ThrottlingException (429) and InternalServerException (500). A stale endpoint
            // (InvalidEndpointException, 421) passes only after discovery runs again: the
            // recorder's Timestream sink does that and retries.
            // <https://docs.aws.amazon.com/timestream/latest/developerguide/API_WriteRecords.html#API_WriteRecords_Errors>
            Self::Timestream => &["ThrottlingException", "InternalServerException"],
            // InternalServiceError ("An error occurred on the server side", HTTP 400 in the
            // common errors) and ThrottlingException.
            // <https://docs.aws.amazon.com/secretsmanager/latest/apireference/CommonErrors.html>
            Self::SecretsManager => &["InternalServiceError", "ThrottlingException"],
        }
    }

    /// Whether `code`, an error code a call of this service failed with, is transient.
    pub fn is_retryable_code(self, code: &str) -> bool {
        self.retryable_codes().contains(&code)
    }
}

/// The `ErrorCode`s of a failed `PutEvents` entry (in a call that succeeded) that AWS lists as
/// retryable: "Retryable errors include: InternalFailure ... ThrottlingException". Every other
/// entry code (`AccessDeniedException`, `InvalidArgument`, `MalformedDetail`, ...) is final.
/// <https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html>
///
/// The Python package keeps the same list (`RETRYABLE_ENTRY_CODES`,
/// `python/src/filetrail/limits.py`); both are pinned by `eventbridge-retryable-codes.json`.
pub const PUT_EVENTS_RETRYABLE_ENTRY_CODES: &[&str] = &["ThrottlingException", "InternalFailure"];

/// Whether a `PutEvents` entry that failed with `code` may be accepted if sent again
/// ([`PUT_EVENTS_RETRYABLE_ENTRY_CODES`]).
pub fn is_retryable_put_events_entry(code: &str) -> bool {
    PUT_EVENTS_RETRYABLE_ENTRY_CODES.contains(&code)
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

/// Classify an SDK error of `service` once: its transient codes ([`Service::retryable_codes`]),
/// HTTP 429 and 5xx, timeouts and connection failures are retryable; everything else
/// (validation, access, not-found, construction) is not.
pub fn classify<E>(service: Service, err: &SdkError<E, HttpResponse>) -> Classified
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
            let retryable = service.is_retryable_code(&code) || status == 429 || status >= 500;
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::client::result::SdkError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn service_error(status: u16, code: &str) -> SdkError<ErrorMetadata, HttpResponse> {
        let meta = ErrorMetadata::builder().code(code).message("m").build();
        let raw = HttpResponse::new(
            StatusCode::try_from(status).expect("status"),
            SdkBody::empty(),
        );
        SdkError::service_error(meta, raw)
    }

    #[test]
    fn each_service_retries_only_its_own_transient_codes() {
        let cases = [
            (Service::EventBridge, 400, "ThrottlingException", true),
            (Service::EventBridge, 400, "AccessDeniedException", false),
            (Service::Sqs, 400, "RequestThrottled", true),
            (Service::Sqs, 400, "KMS.ThrottlingException", true),
            (Service::Sqs, 400, "ThrottlingException", false),
            (Service::S3, 409, "ConditionalRequestConflict", true),
            (Service::S3, 403, "AccessDenied", false),
            (Service::Timestream, 400, "ValidationException", false),
            (Service::Timestream, 421, "InvalidEndpointException", false),
            (Service::SecretsManager, 400, "InternalServiceError", true),
            (
                Service::SecretsManager,
                400,
                "ResourceNotFoundException",
                false,
            ),
        ];
        for (service, status, code, retryable) in cases {
            let c = classify(service, &service_error(status, code));
            assert_eq!(c.retryable, retryable, "{service:?} {status} {code}");
            assert_eq!(c.code, code);
        }
    }

    /// Every code a service lists is retried even when AWS answers it with a 4xx status (so the
    /// list, not the status, decides); the same code under another service is not, unless
    /// that service lists it too.
    #[test]
    fn every_listed_code_is_retried_at_a_client_error_status_by_its_own_service_only() {
        let services = [
            Service::EventBridge,
            Service::Sqs,
            Service::S3,
            Service::Timestream,
            Service::SecretsManager,
        ];
        for service in services {
            assert!(!service.retryable_codes().is_empty(), "{service:?}");
            for code in service.retryable_codes() {
                let c = classify(service, &service_error(400, code));
                assert!(c.retryable, "{service:?} {code}");
                for other in services {
                    let listed = other.retryable_codes().contains(code);
                    let c = classify(other, &service_error(400, code));
                    assert_eq!(c.retryable, listed, "{code} under {other:?}");
                }
            }
        }
    }

    /// The EventBridge lists the Rust publisher decides on are the ones the Python package
    /// keeps: both languages' tests read `eventbridge-retryable-codes.json` (AWS's pages in it).
    #[test]
    fn eventbridge_codes_are_the_shared_lists() {
        let shared: serde_json::Value =
            serde_json::from_str(include_str!("../eventbridge-retryable-codes.json"))
                .expect("the shared lists are JSON");
        let list = |key: &str| -> Vec<&str> {
            shared[key]
                .as_array()
                .unwrap_or_else(|| panic!("{key} is a list"))
                .iter()
                .map(|c| c.as_str().expect("a code"))
                .collect()
        };
        assert_eq!(Service::EventBridge.retryable_codes(), list("call"));
        assert_eq!(PUT_EVENTS_RETRYABLE_ENTRY_CODES, list("entry"));
        assert_eq!(
            PUT_EVENTS_RETRYABLE_ENTRY_CODES,
            ["ThrottlingException", "InternalFailure"],
            "AWS's two retryable entry codes, and only those"
        );
        for code in ["InternalException", "ServiceUnavailable", "InvalidArgument"] {
            assert!(!is_retryable_put_events_entry(code), "{code}");
        }
    }

    #[test]
    fn throttling_statuses_and_server_errors_are_retryable_whatever_the_code() {
        for status in [429, 500, 502, 503, 504] {
            assert!(classify(Service::Timestream, &service_error(status, "Whatever")).retryable);
        }
        assert!(!classify(Service::Timestream, &service_error(404, "Whatever")).retryable);
    }

    #[test]
    fn transport_failures_are_retryable() {
        let timeout: SdkError<ErrorMetadata, HttpResponse> =
            SdkError::timeout_error("attempt timed out");
        let c = classify(Service::Sqs, &timeout);
        assert!(c.retryable);
        assert_eq!(c.code, "Timeout");
        let construction: SdkError<ErrorMetadata, HttpResponse> =
            SdkError::construction_failure("bad input");
        assert!(!classify(Service::Sqs, &construction).retryable);
    }
}
