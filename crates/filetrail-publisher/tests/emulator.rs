//! Against the emulator: events go through a real bus and rule into a real SQS queue.

use std::time::Duration;

use filetrail_contract::{BodyShape, OccurredAt, parse_body_str};
use filetrail_publisher::{EventBridge, Publisher};
use filetrail_testkit::{CallCounter, emulator, pipeline};

#[tokio::test]
async fn twenty_five_events_arrive_as_twenty_five_envelopes_in_three_calls() {
    let sdk = emulator().await;
    let counter = CallCounter::default();
    let eb_conf = aws_sdk_eventbridge::config::Builder::from(&sdk)
        .interceptor(counter.clone())
        .build();
    let eb = aws_sdk_eventbridge::Client::from_conf(eb_conf);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let route =
        pipeline::bus_to_queue(&aws_sdk_eventbridge::Client::new(&sdk), &sqs, "pub25").await;

    let events = super::events(25);
    let publisher = Publisher::new(
        EventBridge::new(eb, route.bus.clone()),
        super::config(&route.bus),
    );
    let report = publisher.publish(&events).await.expect("all published");
    assert_eq!(report.delivered, 25);
    assert_eq!(report.calls, 3);
    assert_eq!(counter.count(), 3, "three PutEvents requests on the wire");

    let messages = pipeline::drain(&sqs, &route.queue_url, 25, Duration::from_secs(20)).await;
    assert_eq!(messages.len(), 25);
    let mut got: Vec<String> = messages
        .iter()
        .map(|m| {
            let inbound =
                parse_body_str(m.body().expect("body"), OccurredAt::now()).expect("valid envelope");
            assert!(
                matches!(&inbound.shape, BodyShape::Envelope { source, .. } if source == "sdc.test")
            );
            let body: serde_json::Value =
                serde_json::from_str(m.body().expect("body")).expect("json");
            assert_eq!(body["detail-type"], "FileMoved");
            assert!(
                body["id"].is_string() && body["time"].is_string() && body["region"].is_string()
            );
            inbound.event.event_id
        })
        .collect();
    let mut want: Vec<String> = events.iter().map(|e| e.event_id.clone()).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "each event exactly once, with its detail intact");
}
