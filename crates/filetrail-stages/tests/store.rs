//! The S3 calls whose answers the emulator never gives, against replayed responses in S3's
//! REST-XML shape.

use aws_smithy_types::body::SdkBody;
use filetrail_stages::{CONDITIONAL_CONFLICT_RETRIES, Deleted, Store, s3_client};
use filetrail_testkit::replay;

fn s3_answer(status: u16, code: Option<&str>) -> http::Response<SdkBody> {
    let body = code.map_or_else(String::new, |code| {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{code}</Message><RequestId>R1</RequestId><HostId>H1</HostId></Error>"#
        )
    });
    http::Response::builder()
        .status(status)
        .header("content-type", "application/xml")
        .body(SdkBody::from(body))
        .expect("response")
}

async fn store(answers: Vec<http::Response<SdkBody>>) -> (Store, replay::Replay) {
    let http = replay::client(answers);
    let sdk = replay::sdk_config(&http).await;
    (Store::new(s3_client(&sdk)), http)
}

/// S3 answers a conditional delete that raced a PUT or DELETE of the key with 409; asked
/// again, it answers for the object as it now is.
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html>
#[tokio::test]
async fn a_conditional_delete_that_met_a_concurrent_write_is_asked_again() {
    let conflict = || s3_answer(409, Some("ConditionalRequestConflict"));
    let (s, http) = store(vec![conflict(), s3_answer(204, None)]).await;
    let got = s.delete_if_unchanged("incoming", "a.bin", "\"e1\"").await;
    assert_eq!(got.expect("deleted"), Deleted::Deleted);
    let requests: Vec<_> = http.actual_requests().collect();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!(r.method(), "DELETE");
        assert_eq!(r.headers().get("if-match"), Some("\"e1\""));
    }

    // The concurrent write replaced the source: asked again, S3 says 412, the source is kept.
    let (s, _) = store(vec![conflict(), s3_answer(412, Some("PreconditionFailed"))]).await;
    let got = s.delete_if_unchanged("incoming", "a.bin", "\"e1\"").await;
    assert_eq!(got.expect("decided"), Deleted::Changed);

    // A conflict that never passes fails the delete (the source stays for the next retry).
    let answers = (0..=CONDITIONAL_CONFLICT_RETRIES)
        .map(|_| conflict())
        .collect();
    let (s, http) = store(answers).await;
    let err = s
        .delete_if_unchanged("incoming", "a.bin", "\"e1\"")
        .await
        .expect_err("conflict every time");
    assert!(
        err.to_string().contains("409") || err.to_string().contains("ConditionalRequestConflict"),
        "{err}"
    );
    assert_eq!(
        http.actual_requests().count(),
        CONDITIONAL_CONFLICT_RETRIES as usize + 1
    );
}

/// A CopyObject of up to 5 GiB is one attempt: S3 clients have no attempt timeout, only a
/// bound on connecting and on the first byte of the answer.
#[tokio::test]
async fn s3_clients_never_cut_a_long_copy() {
    let http = replay::client(vec![]);
    let sdk = replay::sdk_config(&http).await;
    assert!(
        sdk.timeout_config()
            .and_then(|t| t.operation_attempt_timeout())
            .is_some()
    );
    let s3 = s3_client(&sdk);
    let t = s3.config().timeout_config().expect("timeouts");
    assert_eq!(t.operation_attempt_timeout(), None);
    assert_eq!(
        t.read_timeout(),
        Some(filetrail_aws::sdk::TRANSFER_FIRST_BYTE_TIMEOUT)
    );
}
