//! The filetrail recorder: SQS batches of `FileMoved` events into a time-series store.
//!
//! [`Recorder::handle`] takes one SQS event and returns the partial batch response. It parses
//! every message with the contract crate, writes each distinct event once through a [`Sink`]
//! (Timestream: [`TimestreamSink`]; InfluxDB line protocol: [`InfluxDbSink`]), retries what may pass with backoff until the Lambda
//! deadline, dead-letters what never will with its reason ([`DeadLetters`]), and names in
//! `batchItemFailures` only what SQS must redeliver.

mod batch;
pub mod config;
mod dead_letter;
mod handler;
mod influxdb;
pub mod lag;
mod layout;
pub mod metering;
mod sink;
mod timestream;
mod write;

pub use batch::{Batch, Message, QueuedMessage, SqsBatch, Timestamps};
pub use config::{RecorderConfig, SinkConfig};
pub use dead_letter::{
    DeadLetter, DeadLetterClass, DeadLetters, MAX_ENTRIES_PER_SEND, MAX_SEND_BATCH_BYTES,
    NoDeadLetterQueue, SqsDeadLetters, short_reason, sqs_accepts, sqs_text,
};
pub use handler::{
    Counts, DEAD_LETTER_RESERVE, HandlerError, MAX_WRITE_ATTEMPTS, Recorder, Settings,
};
pub use influxdb::InfluxDbSink;
pub use lag::Lag;
pub use layout::{
    Layout, MULTI_MEASURE_NAME, NOT_AVAILABLE, RecordSizes, SEED_MEASURE_NAME, UnknownLayout,
    epoch_seconds,
};
pub use sink::{Exhausted, Outcome, Retry, Sink};
pub use timestream::{
    MAX_RECORDS_PER_WRITE, Rejection, TimestreamSink, TimestreamWriter, WriteError, WriteRecords,
    classify_rejection, timestream_client,
};

/// The function name in metrics outside Lambda (in Lambda: `AWS_LAMBDA_FUNCTION_NAME`).
pub const FUNCTION_NAME: &str = "filetrail-recorder";
