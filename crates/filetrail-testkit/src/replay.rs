//! AWS responses replayed over HTTP through the real SDK clients.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;

pub use aws_smithy_http_client::test_util::StaticReplayClient as Replay;

/// A JSON response in the AWS JSON 1.0/1.1 protocol shape.
pub fn json_response(status: u16, body: &serde_json::Value) -> http::Response<SdkBody> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .body(SdkBody::from(body.to_string()))
        .unwrap_or_else(|e| panic!("valid response: {e}"))
}

/// A JSON error response: `__type` carries the code, as AWS JSON protocols do.
pub fn json_error(status: u16, code: &str, message: &str) -> http::Response<SdkBody> {
    json_response(
        status,
        &serde_json::json!({ "__type": code, "message": message }),
    )
}

/// A client that answers each request with the next response, in order.
pub fn client(responses: Vec<http::Response<SdkBody>>) -> StaticReplayClient {
    let events = responses
        .into_iter()
        .map(|resp| {
            let req = http::Request::builder()
                .uri("https://replay.invalid/")
                .body(SdkBody::empty())
                .unwrap_or_else(|e| panic!("valid request: {e}"));
            ReplayEvent::new(req, resp)
        })
        .collect();
    StaticReplayClient::new(events)
}

/// SDK configuration whose HTTP client is `replay` (no emulator involved), with the retry and
/// timeout settings every deployed client has: the SDK's own retries consume replayed answers
/// exactly as they would consume AWS's.
pub async fn sdk_config(replay: &StaticReplayClient) -> SdkConfig {
    crate::sdk_config_with_http(replay.clone(), "https://replay.invalid").await
}

/// The JSON bodies of the requests `replay` received, in order.
pub fn request_bodies(replay: &StaticReplayClient) -> Vec<serde_json::Value> {
    replay
        .actual_requests()
        .map(|r| {
            let bytes = r.body().bytes().unwrap_or_default();
            serde_json::from_slice(bytes).unwrap_or(serde_json::Value::Null)
        })
        .collect()
}

/// SDK configuration whose HTTP client is `replay` and that has no endpoint override at all
/// (not even `AWS_ENDPOINT_URL` from the environment): what a Lambda in AWS sees.
pub fn sdk_config_without_endpoint(replay: &StaticReplayClient) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(replay.clone())
        .region(aws_config::Region::new(crate::REGION))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                super::test_credentials(),
            ),
        )
        .retry_config(filetrail_aws::sdk::retry_config())
        .timeout_config(filetrail_aws::sdk::timeout_config())
        .sleep_impl(
            aws_smithy_async::rt::sleep::default_async_sleep()
                .unwrap_or_else(|| panic!("tokio sleep")),
        )
        .time_source(aws_smithy_async::time::SharedTimeSource::default())
        .build()
}

/// The URIs of the requests `replay` received, in order.
pub fn request_uris(replay: &StaticReplayClient) -> Vec<String> {
    replay
        .actual_requests()
        .map(|r| r.uri().to_owned())
        .collect()
}

/// The `x-amz-target` headers (the operation) of the requests `replay` received, in order.
pub fn request_targets(replay: &StaticReplayClient) -> Vec<String> {
    replay
        .actual_requests()
        .map(|r| {
            r.headers()
                .get("x-amz-target")
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}
