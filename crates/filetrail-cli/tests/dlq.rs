//! `filetrail dlq` on the emulator.

use filetrail_cli::dlq;
use filetrail_testkit::emulator;

use super::filled_dlq;

#[tokio::test]
async fn status_groups_by_reason_and_consumes_nothing() {
    let sdk = emulator().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let (dlq_url, _) = filled_dlq(&sqs, "st", [4, 3, 2]).await;
    let status = dlq::status(&sqs, &dlq_url).await.expect("status");
    assert_eq!(status.scanned, 19);
    assert_eq!(
        status.by_reason["eventbridge: SQS_QUEUE_DOES_NOT_EXIST"].count, 9,
        "4 valid + 5 invalid"
    );
    assert_eq!(
        status.by_reason["eventbridge: SQS_QUEUE_DOES_NOT_EXIST"].invalid,
        5
    );
    assert_eq!(status.by_reason["redrive: receive count exceeded"].count, 3);
    assert_eq!(
        status.by_reason.values().map(|s| s.count).sum::<usize>(),
        19
    );
    assert!(status.oldest_age_s.is_some());
    // Scanning again sees the same: nothing was consumed.
    let again = dlq::status(&sqs, &dlq_url).await.expect("status");
    assert_eq!(again.scanned, 19);
    assert_eq!(again.approximate_visible, 19);
}
