//! The fault proxy, driven by the real SDK clients and adapters against the emulator: each
//! fault arrives in the shape the SDK and filetrail's classifier expect from AWS.

use std::time::Duration;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use filetrail_contract::OccurredAt;
use filetrail_publisher::{EventBridge, Publisher, PublisherConfig};
use filetrail_recorder::{
    Exhausted, Layout, Outcome, Sink, TimestreamSink, TimestreamWriter, WriteError, WriteRecords,
    timestream_client,
};
use filetrail_soak::proxy::TIME_RANGE_REASON;
use filetrail_soak::{FaultKind, FaultPlan, Proxy, Service, pipeline};
use filetrail_testkit::{endpoint, moto};

/// SDK configuration through `url` with the SDK's own retries off, so each call meets the
/// proxy's decision exactly once.
async fn one_attempt(url: &str, attempt_timeout: Duration) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(filetrail_testkit::test_credentials())
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_attempt_timeout(attempt_timeout)
                .build(),
        )
        .load()
        .await
}

async fn pipeline() -> pipeline::Pipeline {
    pipeline::create(
        &filetrail_testkit::emulator().await,
        &pipeline::Names::unique("px"),
        pipeline::QueueSettings {
            visibility_timeout: Duration::from_secs(5),
            max_receive_count: 5,
        },
    )
    .await
    .expect("pipeline on the emulator")
}

fn events(n: usize) -> Vec<filetrail_contract::FileMoved> {
    filetrail_soak::events::valid(n, 3, OccurredAt::now())
}

async fn send(sqs: &aws_sdk_sqs::Client, url: &str, body: &str) -> filetrail_aws::Classified {
    let err = sqs
        .send_message()
        .queue_url(url)
        .message_body(body)
        .send()
        .await
        .expect_err("the proxy faults every call");
    filetrail_aws::classify(filetrail_aws::Service::Sqs, &err)
}

async fn visible(sqs: &aws_sdk_sqs::Client, url: &str) -> u64 {
    pipeline::held(sqs, url).await.expect("depth")
}

#[tokio::test]
async fn without_faults_every_call_is_forwarded_and_counted() {
    let p = pipeline().await;
    let proxy = Proxy::start(&endpoint(), FaultPlan::none(1))
        .await
        .expect("proxy");
    let sdk = one_attempt(proxy.url(), Duration::from_secs(5)).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    for i in 0..3 {
        sqs.send_message()
            .queue_url(&p.events_queue_url)
            .message_body(format!("m{i}"))
            .send()
            .await
            .expect("forwarded");
    }
    assert_eq!(visible(&sqs, &p.events_queue_url).await, 3);
    let stats = proxy.stats();
    assert_eq!(stats.get("SendMessage", "forwarded"), 3);
    assert_eq!(stats.requests("SendMessage"), 3);
    assert_eq!(stats.requests("GetQueueAttributes"), 1);
    assert!(!stats.by_kind().is_empty(), "every fault kind is counted");
    assert!(
        stats.by_kind().values().all(|n| *n == 0),
        "{:?}",
        stats.by_kind()
    );
}

#[tokio::test]
async fn throttling_comes_back_as_aws_throttling_errors_that_are_retried() {
    let p = pipeline().await;
    let plan = FaultPlan::none(2)
        .with(Service::Sqs, FaultKind::Throttle, 1.0)
        .with(Service::EventBridge, FaultKind::Throttle, 1.0)
        .with(Service::Timestream, FaultKind::Throttle, 1.0);
    let proxy = Proxy::start(&endpoint(), plan).await.expect("proxy");
    let sdk = one_attempt(proxy.url(), Duration::from_secs(5)).await;

    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let c = send(&sqs, &p.events_queue_url, "never stored").await;
    assert_eq!((c.code.as_str(), c.retryable), ("RequestThrottled", true));

    let eb = aws_sdk_eventbridge::Client::new(&sdk);
    let err = eb
        .put_events()
        .entries(
            PutEventsRequestEntry::builder()
                .event_bus_name(&p.bus)
                .source("sdc.sorter")
                .detail_type("FileMoved")
                .detail("{}")
                .build(),
        )
        .send()
        .await
        .expect_err("throttled");
    let c = filetrail_aws::classify(filetrail_aws::Service::EventBridge, &err);
    assert_eq!(
        (c.code.as_str(), c.retryable),
        ("ThrottlingException", true)
    );

    let writer = TimestreamWriter::new(
        timestream_client(&sdk).await.expect("client"),
        &p.database,
        &p.table,
    );
    let record = Layout::Seed.record(&events(1)[0]).expect("record");
    match writer
        .write_records(Layout::Seed.common_attributes(), vec![record])
        .await
    {
        Err(WriteError::Call(c)) => {
            assert_eq!(
                (c.code.as_str(), c.retryable),
                ("ThrottlingException", true)
            );
        }
        other => panic!("expected a throttled call, got {other:?}"),
    }

    // Nothing reached the emulator.
    let direct = aws_sdk_sqs::Client::new(&filetrail_testkit::emulator().await);
    assert_eq!(visible(&direct, &p.events_queue_url).await, 0);
    assert!(moto::timestream_records(&p.database, &p.table).is_empty());
    assert_eq!(proxy.stats().injected(FaultKind::Throttle), 3);
}

#[tokio::test]
async fn server_errors_are_500s_with_the_services_codes() {
    let p = pipeline().await;
    let plan = FaultPlan::none(3)
        .with(Service::Sqs, FaultKind::ServerError, 1.0)
        .with(Service::Timestream, FaultKind::ServerError, 1.0);
    let proxy = Proxy::start(&endpoint(), plan).await.expect("proxy");
    let sdk = one_attempt(proxy.url(), Duration::from_secs(5)).await;
    let c = send(&aws_sdk_sqs::Client::new(&sdk), &p.events_queue_url, "x").await;
    assert_eq!((c.code.as_str(), c.retryable), ("InternalFailure", true));
    let sink = TimestreamSink::new(
        TimestreamWriter::new(
            timestream_client(&sdk).await.expect("client"),
            &p.database,
            &p.table,
        ),
        Layout::Seed,
    );
    let record = sink.prepare(&events(1)[0]).expect("record");
    let outcomes = sink.write(vec![record]).await;
    match &outcomes[..] {
        [Outcome::Retry(r)] => {
            assert!(r.reason.starts_with("InternalServerException"), "{r:?}");
            assert_eq!(
                r.exhausted,
                Exhausted::HandBack,
                "the store, not the record, failed"
            );
        }
        other => panic!("a whole-call server error is sent again: {other:?}"),
    }
    assert_eq!(proxy.stats().injected(FaultKind::ServerError), 2);
}

#[tokio::test]
async fn resets_close_the_connection_and_half_of_them_took_effect() {
    let p = pipeline().await;
    let plan = FaultPlan::none(4).with(Service::Sqs, FaultKind::Reset, 1.0);
    let proxy = Proxy::start(&endpoint(), plan).await.expect("proxy");
    let sqs = aws_sdk_sqs::Client::new(&one_attempt(proxy.url(), Duration::from_secs(5)).await);
    for i in 0..12 {
        let c = send(&sqs, &p.events_queue_url, &format!("m{i}")).await;
        assert!(c.retryable, "a reset is transient: {c:?}");
        assert!(
            ["Dispatch", "ResponseError"].contains(&c.code.as_str()),
            "a transport failure, not a service answer: {c:?}"
        );
    }
    let stats = proxy.stats();
    let after = stats.get("SendMessage", "reset-after");
    assert_eq!(after + stats.get("SendMessage", "reset-before"), 12);
    assert!(after > 0 && after < 12, "a mix of both moments: {after}");
    // Exactly the calls reset after forwarding were stored: the caller cannot tell which.
    let direct = aws_sdk_sqs::Client::new(&filetrail_testkit::emulator().await);
    assert_eq!(visible(&direct, &p.events_queue_url).await, after);
}

#[tokio::test]
async fn timeouts_outlast_the_clients_attempt_timeout() {
    let p = pipeline().await;
    let mut plan = FaultPlan::none(5).with(Service::Sqs, FaultKind::Timeout, 1.0);
    plan.hold = Duration::from_millis(800);
    let proxy = Proxy::start(&endpoint(), plan).await.expect("proxy");
    let sqs = aws_sdk_sqs::Client::new(&one_attempt(proxy.url(), Duration::from_millis(300)).await);
    for i in 0..6 {
        let c = send(&sqs, &p.events_queue_url, &format!("m{i}")).await;
        assert_eq!((c.code.as_str(), c.retryable), ("Timeout", true));
    }
    // The requests forwarded before their hold reach the emulator: the proxy says when it has
    // forwarded them all, and a forwarding that never ends fails the test.
    tokio::time::timeout(Duration::from_secs(20), proxy.idle())
        .await
        .expect("the proxy forwarded every held request to the emulator within 20 s");
    let stats = proxy.stats();
    let after = stats.get("SendMessage", "timeout-after");
    assert_eq!(after + stats.get("SendMessage", "timeout-before"), 6);
    let direct = aws_sdk_sqs::Client::new(&filetrail_testkit::emulator().await);
    assert_eq!(visible(&direct, &p.events_queue_url).await, after);
}

#[tokio::test]
async fn rejected_records_are_held_back_in_aws_shape_and_retried() {
    let p = pipeline().await;
    let plan = FaultPlan::none(6).with(Service::Timestream, FaultKind::Rejected, 1.0);
    let proxy = Proxy::start(&endpoint(), plan).await.expect("proxy");
    let sdk = one_attempt(proxy.url(), Duration::from_secs(5)).await;
    let client = timestream_client(&sdk).await.expect("client");
    let evs = events(10);
    let records: Vec<_> = evs
        .iter()
        .map(|e| Layout::Seed.record(e).expect("record"))
        .collect();

    // The raw adapter sees Timestream's RejectedRecordsException.
    let writer = TimestreamWriter::new(client.clone(), &p.database, &p.table);
    let rejections = match writer
        .write_records(Layout::Seed.common_attributes(), records.clone())
        .await
    {
        Err(WriteError::Rejected(r)) => r,
        other => panic!("expected rejected records, got {other:?}"),
    };
    assert!(!rejections.is_empty());
    for r in &rejections {
        assert!(r.index < 10, "{r:?}");
        assert_eq!(r.reason, TIME_RANGE_REASON);
        assert_eq!(r.existing_version, None, "no version conflict is claimed");
    }
    // Only the records not named were stored, as Timestream does.
    assert_eq!(
        moto::timestream_records(&p.database, &p.table).len(),
        10 - rejections.len()
    );

    // The sink retries the held-back ones as transient; the others are written.
    let sink = TimestreamSink::new(
        TimestreamWriter::new(client, &p.database, &p.table),
        Layout::Seed,
    );
    let outcomes = sink.write(records).await;
    let transient = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Retry(r) if r.exhausted == Exhausted::DeadLetter))
        .count();
    assert!(transient > 0);
    assert_eq!(
        transient + outcomes.iter().filter(|o| **o == Outcome::Written).count(),
        10
    );
    let stats = proxy.stats();
    assert_eq!(stats.get("WriteRecords", "rejected"), 2);
    assert_eq!(
        stats.get("WriteRecords", "rejected-records"),
        (rejections.len() + transient) as u64
    );
}

/// The `detail` of each envelope drained from `url` (until `expected` arrived, or `timeout_s`).
async fn details(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    expected: usize,
    timeout_s: u64,
) -> Vec<serde_json::Value> {
    let got = pipeline::drain(sqs, url, expected, Duration::from_secs(timeout_s)).await;
    got.iter()
        .map(|m| {
            let v: serde_json::Value =
                serde_json::from_str(m.body().unwrap_or_default()).expect("json");
            v["detail"].clone()
        })
        .collect()
}

#[tokio::test]
async fn put_events_partial_failures_fail_exactly_the_dropped_entries() {
    let p = pipeline().await;
    let plan = FaultPlan::none(7).with(Service::EventBridge, FaultKind::PartialPutEvents, 0.5);
    let proxy = Proxy::start(&endpoint(), plan).await.expect("proxy");
    let sdk = one_attempt(proxy.url(), Duration::from_secs(5)).await;
    let eb = aws_sdk_eventbridge::Client::new(&sdk);
    let entries: Vec<PutEventsRequestEntry> = (0..10)
        .map(|i| {
            PutEventsRequestEntry::builder()
                .event_bus_name(&p.bus)
                .source("sdc.sorter")
                .detail_type("FileMoved")
                .detail(format!("{{\"n\":{i}}}"))
                .build()
        })
        .collect();
    let out = eb
        .put_events()
        .set_entries(Some(entries))
        .send()
        .await
        .expect("a 200 with per-entry outcomes");
    let failed: Vec<usize> = out
        .entries()
        .iter()
        .enumerate()
        .filter(|(_, e)| e.error_code().is_some())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(out.entries().len(), 10);
    assert_eq!(out.failed_entry_count(), failed.len() as i32);
    assert!(!failed.is_empty() && failed.len() < 10, "{failed:?}");
    for &i in &failed {
        assert_eq!(out.entries()[i].error_code(), Some("ThrottlingException"));
        assert!(out.entries()[i].event_id().is_none());
    }
    // Only the accepted entries reached the queue.
    let direct = aws_sdk_sqs::Client::new(&filetrail_testkit::emulator().await);
    let got = details(&direct, &p.events_queue_url, 10 - failed.len(), 10).await;
    let mut ns: Vec<u64> = got.iter().map(|d| d["n"].as_u64().expect("n")).collect();
    ns.sort_unstable();
    let expected: Vec<u64> = (0..10u64)
        .filter(|i| !failed.contains(&(*i as usize)))
        .collect();
    assert_eq!(ns, expected);

    // The real publisher retries exactly the throttled entries until all are delivered.
    let publisher = Publisher::new(
        EventBridge::new(eb, &p.bus),
        PublisherConfig {
            bus: p.bus.clone(),
            source: "sdc.sorter".into(),
            deadline: Duration::from_secs(20),
        },
    );
    let evs = events(40);
    let report = publisher.publish(&evs).await.expect("all delivered");
    assert_eq!(report.delivered, 40);
    assert!(report.retried > 0, "{report:?}");
    let got = details(&direct, &p.events_queue_url, 40, 20).await;
    let mut ids: Vec<String> = got
        .iter()
        .map(|d| d["event_id"].as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    let mut want: Vec<String> = evs.iter().map(|e| e.event_id.clone()).collect();
    want.sort();
    assert_eq!(ids, want, "each event delivered once");
}

#[tokio::test]
async fn the_same_seed_makes_the_same_decisions() {
    let p = pipeline().await;
    let mut patterns = Vec::new();
    for seed in [42, 42, 43] {
        let plan = FaultPlan::none(seed).with(Service::Sqs, FaultKind::Throttle, 0.5);
        let proxy = Proxy::start(&endpoint(), plan).await.expect("proxy");
        let sqs = aws_sdk_sqs::Client::new(&one_attempt(proxy.url(), Duration::from_secs(5)).await);
        let mut pattern = Vec::new();
        for i in 0..24 {
            let ok = sqs
                .send_message()
                .queue_url(&p.events_queue_url)
                .message_body(format!("{seed}-{i}"))
                .send()
                .await
                .is_ok();
            pattern.push(ok);
        }
        patterns.push(pattern);
    }
    assert_eq!(patterns[0], patterns[1]);
    assert_ne!(patterns[0], patterns[2]);
}

#[tokio::test]
async fn invalid_plans_are_refused() {
    let too_much = FaultPlan::none(1)
        .with(Service::Sqs, FaultKind::Throttle, 0.6)
        .with(Service::Sqs, FaultKind::Reset, 0.6);
    let err = Proxy::start(&endpoint(), too_much)
        .await
        .expect_err("rates above 1 in total");
    assert!(err.to_string().contains("add up to at most 1"), "{err}");
    let err = Proxy::start("https://sqs.us-east-1.amazonaws.com", FaultPlan::none(1))
        .await
        .expect_err("only an emulator on loopback");
    assert!(err.to_string().contains("loopback"), "{err}");
    let err = FaultKind::parse("gremlins").expect_err("unknown kind");
    assert!(err.to_string().contains("throttle"), "{err}");
}
