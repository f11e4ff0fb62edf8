//! Integration tests of the stages (one binary).
//!
//! `filename`, `trigger`, `config`, `copy_plan` and `process` need nothing outside the process;
//! `sorter` and `processor` run the real SDK against the emulator (`make test`).
//! Fixtures: the S3 notification and the scheduled event are the test kit's
//! (`filetrail_testkit::fixtures`, AWS's examples); the S3 → EventBridge events follow the S3
//! user guide's "EventBridge event message structure" examples.

mod config;
mod copy_plan;
mod filename;
mod lambda;
mod metrics;
mod process;
mod processor;
mod sorter;
mod store;
mod trigger;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder;
use aws_sdk_s3::primitives::ByteStream;
use filetrail_contract::{BodyShape, FileMoved, OccurredAt, parse_body_str};
use filetrail_publisher::{
    CallError, Entry, EntryOutcome, EventBridge, Publisher, PublisherConfig, PutEvents,
};
use filetrail_testkit::pipeline::{self, BusToQueue};
use serde_json::Value;

/// A scheduled EventBridge event from `aws_lambda_events`.
pub use filetrail_testkit::fixtures::SCHEDULED_EVENT;
/// The real S3 notification fixture from `aws_lambda_events`, and its one builder.
pub use filetrail_testkit::fixtures::{S3_EVENT as S3_NOTIFICATION, s3_notification};
/// The S3 → EventBridge `Object Created` event.
pub const OBJECT_CREATED: &str = include_str!("fixtures/s3-eventbridge-object-created.json");
/// The S3 → EventBridge `Object Deleted` event.
pub const OBJECT_DELETED: &str = include_str!("fixtures/s3-eventbridge-object-deleted.json");

/// The example processing command shipped with the crate.
pub fn example_command() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/process/example-process.sh")
}

/// The S3 → EventBridge `Object Created` fixture naming `bucket` and `key`.
pub fn object_created(bucket: &str, key: &str) -> Value {
    let mut v: Value = serde_json::from_str(OBJECT_CREATED).expect("fixture");
    v["resources"][0] = format!("arn:aws:s3:::{bucket}").into();
    v["detail"]["bucket"]["name"] = bucket.into();
    v["detail"]["object"]["key"] = key.into();
    v
}

/// Everything an emulator test needs: clients and a bus routed to a fresh queue.
pub struct Emulator {
    /// S3, path-style.
    pub s3: aws_sdk_s3::Client,
    /// EventBridge.
    pub eb: aws_sdk_eventbridge::Client,
    /// SQS.
    pub sqs: aws_sdk_sqs::Client,
    /// The bus and its queue.
    pub route: BusToQueue,
}

impl Emulator {
    /// Clients for the emulator and a new bus → queue route.
    pub async fn start(prefix: &str) -> Self {
        let sdk = filetrail_testkit::emulator().await;
        let s3 = filetrail_stages::s3_client(&sdk);
        let eb = aws_sdk_eventbridge::Client::new(&sdk);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let route = pipeline::bus_to_queue(&eb, &sqs, prefix).await;
        Self { s3, eb, sqs, route }
    }

    /// The EventBridge adapter for this route's bus.
    pub fn bus(&self) -> EventBridge {
        EventBridge::new(self.eb.clone(), self.route.bus.clone())
    }

    /// A publisher to this route's bus as `source`.
    pub fn publisher(&self, source: &str) -> Publisher<EventBridge> {
        self.publisher_through(self.bus(), source)
    }

    /// A publisher to this route's bus as `source`, its calls made through `put` (which
    /// wraps [`Self::bus`] to inject faults).
    pub fn publisher_through<P: PutEvents>(&self, put: P, source: &str) -> Publisher<P> {
        Publisher::new(
            put,
            PublisherConfig {
                bus: self.route.bus.clone(),
                source: source.into(),
                deadline: Duration::from_secs(5),
            },
        )
    }

    /// Create a bucket.
    pub async fn bucket(&self, name: &str) {
        self.s3
            .create_bucket()
            .bucket(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create bucket {name}: {e:?}"));
    }

    /// Put an object.
    pub async fn put(&self, bucket: &str, key: &str, bytes: &[u8]) {
        put_object(&self.s3, bucket, key, bytes, |put| put).await;
    }

    /// Put an object, its request given what an uploader sets (`with`: tags, metadata, content
    /// type).
    pub async fn put_with(
        &self,
        bucket: &str,
        key: &str,
        bytes: &[u8],
        with: impl FnOnce(PutObjectFluentBuilder) -> PutObjectFluentBuilder,
    ) {
        put_object(&self.s3, bucket, key, bytes, with).await;
    }

    /// An object's bytes.
    pub async fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        let answer = self.s3.get_object().bucket(bucket).key(key).send().await;
        let out = answer.unwrap_or_else(|e| panic!("get s3://{bucket}/{key}: {e:?}"));
        out.body
            .collect()
            .await
            .expect("body")
            .into_bytes()
            .to_vec()
    }

    /// HeadObject's answer; `None` when the object does not exist.
    async fn head_object(&self, bucket: &str, key: &str) -> Option<HeadObjectOutput> {
        match self.s3.head_object().bucket(bucket).key(key).send().await {
            Ok(out) => Some(out),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_not_found()) => None,
            Err(e) => panic!("head s3://{bucket}/{key}: {e:?}"),
        }
    }

    /// Whether an object exists.
    pub async fn exists(&self, bucket: &str, key: &str) -> bool {
        self.head_object(bucket, key).await.is_some()
    }

    /// HeadObject: (ETag, Last-Modified).
    pub async fn head(&self, bucket: &str, key: &str) -> (String, OccurredAt) {
        let out = self
            .head_object(bucket, key)
            .await
            .unwrap_or_else(|| panic!("no s3://{bucket}/{key}"));
        let lm = out
            .last_modified()
            .and_then(|t| t.to_millis().ok())
            .expect("last modified");
        (
            out.e_tag().unwrap_or_default().trim_matches('"').to_owned(),
            OccurredAt::from_millis(lm),
        )
    }

    /// Every key of a bucket, sorted.
    pub async fn keys(&self, bucket: &str) -> Vec<String> {
        let mut keys = Vec::new();
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.unwrap_or_else(|e| panic!("list {bucket}: {e:?}"));
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        keys.sort();
        keys
    }

    /// Drain the queue until `expected` events arrived (or `timeout`); parse each, checking
    /// the envelope's `source`.
    pub async fn events(&self, expected: usize, timeout: Duration, source: &str) -> Vec<FileMoved> {
        pipeline::drain(&self.sqs, &self.route.queue_url, expected, timeout)
            .await
            .iter()
            .map(|m| {
                let inbound = parse_body_str(m.body().expect("body"), OccurredAt::now())
                    .expect("a valid FileMoved envelope");
                match &inbound.shape {
                    BodyShape::Envelope { source: s, .. } => assert_eq!(s, source),
                    other => panic!("expected an EventBridge envelope, got {other:?}"),
                }
                inbound.event
            })
            .collect()
    }

    /// Assert that no event arrives within a few seconds.
    pub async fn assert_no_events(&self) {
        let extra =
            pipeline::drain(&self.sqs, &self.route.queue_url, 1, Duration::from_secs(3)).await;
        assert!(
            extra.is_empty(),
            "unexpected events: {:?}",
            extra.iter().map(|m| m.body()).collect::<Vec<_>>()
        );
    }
}

/// Put `bytes` at `s3://bucket/key` through `s3`, the request given `with`'s settings.
pub async fn put_object(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    bytes: &[u8],
    with: impl FnOnce(PutObjectFluentBuilder) -> PutObjectFluentBuilder,
) {
    let put = s3.put_object().bucket(bucket).key(key);
    with(put)
        .body(ByteStream::from(bytes.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put s3://{bucket}/{key}: {e:?}"));
}

/// A `PutEvents` that refuses the next `fail_next` calls (as EventBridge refuses a caller
/// without `events:PutEvents`), then passes calls to `inner`.
pub struct FailingPutEvents<C> {
    /// The real adapter.
    pub inner: C,
    /// Calls still to fail.
    pub fail_next: AtomicUsize,
    /// Calls made.
    pub calls: AtomicUsize,
}

impl<C> FailingPutEvents<C> {
    /// Fail the next `n` calls.
    pub fn new(inner: C, n: usize) -> Self {
        Self {
            inner,
            fail_next: AtomicUsize::new(n),
            calls: AtomicUsize::new(0),
        }
    }
}

impl<C: PutEvents> PutEvents for FailingPutEvents<C> {
    async fn put_events(&self, entries: &[Entry]) -> Result<Vec<EntryOutcome>, CallError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let fail = self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if fail {
            return Err(CallError {
                retryable: false,
                code: "AccessDeniedException".into(),
                message: "injected: not authorized to perform events:PutEvents".into(),
            });
        }
        self.inner.put_events(entries).await
    }
}

/// A name prefix for buckets of one test, ending in `-`.
pub fn bucket_prefix(tag: &str) -> String {
    format!("{}-", filetrail_testkit::unique_name(tag))
}

/// An emulator and the buckets of one sorting test: `{prefix}incoming` and one
/// `{prefix}hermes-{instrument}` per instrument asked for, all created.
pub struct Sorting {
    /// The emulator.
    pub emu: Emulator,
    /// The test's bucket name prefix.
    pub prefix: String,
    /// The incoming bucket.
    pub incoming: String,
    /// The instrument buckets, in the order asked for.
    pub instruments: Vec<String>,
}

impl Sorting {
    /// A route and buckets named after `tag`.
    pub async fn start(tag: &str, instruments: &[&str]) -> Self {
        let emu = Emulator::start(tag).await;
        let prefix = bucket_prefix(tag);
        let incoming = format!("{prefix}incoming");
        emu.bucket(&incoming).await;
        let mut buckets = Vec::new();
        for inst in instruments {
            let bucket = format!("{prefix}hermes-{inst}");
            emu.bucket(&bucket).await;
            buckets.push(bucket);
        }
        Self {
            emu,
            prefix,
            incoming,
            instruments: buckets,
        }
    }
}
