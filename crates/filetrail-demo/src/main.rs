//! `make demo`: the whole filetrail pipeline on the local AWS emulator.
//!
//! Creates what `infra/` deploys, drops science files into the incoming bucket, and runs the
//! real Lambda binaries (sorter, processor, recorder) under a local Runtime API, invoked the way
//! AWS invokes them: S3 notifications for the stages, the test kit's event-source-mapping loop
//! for the recorder (batches, visibility timeout, redelivery, redrive). Then it prints each
//! file's trail and the counts. `scripts/with-emulator.sh` provides the emulator.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use filetrail_cli::history::{self, HistorySource, Move};
use filetrail_contract::OccurredAt;
use filetrail_contract::record::name;
use filetrail_recorder::config::{ENV_DATABASE, ENV_DEAD_LETTER_QUEUE_URL, ENV_TABLE};
use filetrail_stages::config::{
    ENV_INCOMING_BUCKET, ENV_INSTRUMENTS, ENV_MISSION, ENV_PROCESS_COMMAND,
};
use filetrail_testkit::fixtures;
use filetrail_testkit::lambda::{Lambda, Output, Spec};
use filetrail_testkit::mapping::{Function, Invocation, Mapping, MappingSettings};
use filetrail_testkit::pipeline::{self, Names, Pipeline, QueueSettings};
use filetrail_testkit::runtime_api::INVOCATION_TIMEOUT;
use serde_json::{Value, json};

const MISSION: &str = "hermes";
const INSTRUMENTS: [&str; 4] = ["eea", "nemisis", "merit", "spani"];
const INCOMING: &str = "hermes-incoming";
const BUS: &str = "filetrail-demo";
/// In AWS the queue's visibility timeout is 6 × the recorder's timeout; shortened here so a
/// redelivery shows within seconds.
const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(2);
/// Receives before SQS's redrive moves a message to the DLQ (as infra/ sets it).
const MAX_RECEIVE_COUNT: u32 = 5;
/// Messages per recorder invocation (the event source mapping's batch size).
const BATCH_SIZE: usize = 10;
/// Empty receives in a row after which the events queue counts as drained.
const IDLE_RECEIVES: u32 = 3;

/// Invoke `lambda` with `event`; `Ok(response)` or `Err(error body)`, as Lambda reports them.
async fn call(lambda: &mut Lambda, event: &Value) -> Result<std::result::Result<Value, Value>> {
    let answer = lambda
        .invoke(&event.to_string(), INVOCATION_TIMEOUT)
        .await
        .context("the function did not answer")?;
    let body: Value =
        serde_json::from_str(&answer.body).unwrap_or(Value::String(answer.body.clone()));
    Ok(if answer.ok { Ok(body) } else { Err(body) })
}

/// What a function's answer tells: `ok` of its response, or its error.
fn told(answer: &std::result::Result<Value, Value>, ok: impl Fn(&Value) -> String) -> String {
    answer.as_ref().map_or_else(|e| format!("error {e}"), ok)
}

/// An S3 `ObjectCreated:Put` notification in AWS's shape (keys form-encoded, as S3 sends them),
/// written now.
fn s3_event(bucket: &str, key: &str, size: u64) -> Value {
    fixtures::s3_put(bucket, key, size, &OccurredAt::now().to_string())
}

/// History read from what the emulator stored (moto cannot run Timestream queries; in AWS,
/// `filetrail history` runs the same trail over the Query API).
struct EmulatorHistory(Vec<Value>);

impl HistorySource for EmulatorHistory {
    async fn moves_of(&self, key: &str) -> std::result::Result<Vec<Move>, String> {
        let dim = |r: &Value, name: &str| {
            r["Dimensions"]
                .as_array()
                .and_then(|d| d.iter().find(|d| d["Name"] == name))
                .and_then(|d| d["Value"].as_str())
                .unwrap_or(history::NOT_AVAILABLE)
                .to_owned()
        };
        Ok(self
            .0
            .iter()
            .filter(|r| dim(r, name::FILE_KEY) == key)
            .map(|r| Move {
                time: r["Time"]
                    .as_str()
                    .and_then(|t| t.parse().ok())
                    .map(OccurredAt::from_millis)
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
                action_type: dim(r, name::ACTION_TYPE),
                file_key: dim(r, name::FILE_KEY),
                new_file_key: dim(r, name::NEW_FILE_KEY),
                source_bucket: dim(r, name::SOURCE_BUCKET),
                destination_bucket: dim(r, name::DESTINATION_BUCKET),
                event_id: dim(r, name::EVENT_ID),
            })
            .collect())
    }
}

fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    )
}

/// What `infra/` deploys, on the emulator: the test kit's pipeline under the deployed names,
/// and the mission's buckets.
async fn create_infra(sdk: &aws_config::SdkConfig) -> Result<Pipeline> {
    let s3 = s3_client(sdk);
    for bucket in std::iter::once(INCOMING.to_owned())
        .chain(INSTRUMENTS.iter().map(|i| format!("{MISSION}-{i}")))
    {
        s3.create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .with_context(|| format!("bucket {bucket}"))?;
    }
    let settings = QueueSettings {
        visibility_timeout: VISIBILITY_TIMEOUT,
        max_receive_count: MAX_RECEIVE_COUNT,
    };
    Ok(pipeline::create(sdk, &Names::deployed("filetrail", BUS), settings).await?)
}

fn print_infra(infra: &Pipeline) {
    println!(
        "   bus {BUS}; rule FileMoved from sdc.sorter, sdc.processor -> queue filetrail-events"
    );
    println!(
        "   (retry policy {} attempts / 24 h, target DLQ filetrail-target-dlq); queue redrive to",
        pipeline::TARGET_RETRY_ATTEMPTS
    );
    println!(
        "   filetrail-recorder-dlq after {MAX_RECEIVE_COUNT} receives; buckets {INCOMING}, {MISSION}-{{{}}};",
        INSTRUMENTS.join(",")
    );
    println!(
        "   Timestream {}.{} with magnetic-store writes",
        infra.database, infra.table
    );
}

/// Drop the science files (and two badly named ones) into the incoming bucket; the good
/// names and the bad ones.
async fn drop_files(s3: &aws_sdk_s3::Client) -> Result<(Vec<String>, [&'static str; 2])> {
    let mut files: Vec<String> = Vec::new();
    for (i, inst) in ["EEA", "NEMISIS", "MERIT"].iter().enumerate() {
        files.push(format!(
            "hermes_{inst}_l0_2024{:03}-0{}0000_v01.bin",
            121 + i,
            i + 1
        ));
        files.push(format!(
            "hermes_{}_ql_202405{:02}T0{}0000_v1.0.0.cdf",
            inst.to_lowercase(),
            i + 1,
            i + 1
        ));
    }
    let bad = [
        "calibration_notes.txt",
        "hermes_unknown_l0_2024121-010000_v01.bin",
    ];
    for key in files.iter().map(String::as_str).chain(bad) {
        let body = format!("{key}: {}\n", "instrument packets ".repeat(64));
        s3.put_object()
            .bucket(INCOMING)
            .key(key)
            .body(body.into_bytes().into())
            .send()
            .await?;
        println!("   {key}");
    }
    Ok((files, bad))
}

/// The three functions, as Terraform configures them, logging to `logs`.
async fn start_lambdas(infra: &Pipeline, logs: &Path) -> Result<[Lambda; 3]> {
    let stage = |name: &str, source: &str| -> Result<Spec> {
        Ok(Spec::workspace(name)
            .map_err(anyhow::Error::msg)?
            .aws_endpoint(&filetrail_testkit::endpoint())
            .output(Output::File(logs.join(format!("{name}.log"))))
            .envs([
                (filetrail_publisher::ENV_EVENT_BUS, BUS.to_owned()),
                (filetrail_publisher::ENV_EVENT_SOURCE, source.to_owned()),
                (ENV_INCOMING_BUCKET, INCOMING.to_owned()),
                (ENV_MISSION, MISSION.to_owned()),
                (ENV_INSTRUMENTS, INSTRUMENTS.join(",")),
            ]))
    };
    let command = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../filetrail-stages/examples/process/example-process.sh")
        .canonicalize()?;
    let recorder = Spec::workspace("filetrail-recorder")
        .map_err(anyhow::Error::msg)?
        .aws_endpoint(&filetrail_testkit::endpoint())
        .output(Output::File(logs.join("filetrail-recorder.log")))
        .envs([
            (ENV_DATABASE, infra.database.clone()),
            (ENV_TABLE, infra.table.clone()),
            (ENV_DEAD_LETTER_QUEUE_URL, infra.dlq_url.clone()),
        ]);
    let processor = stage("filetrail-processor", "sdc.processor")?
        .env(ENV_PROCESS_COMMAND, command.display().to_string());
    Ok([
        stage("filetrail-sorter", "sdc.sorter")?.start().await?,
        processor.start().await?,
        recorder.start().await?,
    ])
}

async fn run_sorter(sorter: &mut Lambda, files: &[String], bad: &[&str]) -> Result<()> {
    for key in files.iter().map(String::as_str).chain(bad.iter().copied()) {
        let answer = call(sorter, &s3_event(INCOMING, key, 1200)).await?;
        let verdict = match &answer {
            Ok(counts) if counts["sorted"] == 1 => "sorted".to_owned(),
            Ok(counts) if counts["skipped_unparsable"] == 1 => {
                "left in place: the name does not parse".to_owned()
            }
            Ok(counts) => format!("{counts}"),
            Err(e) => format!("error {e}"),
        };
        println!("   {key:<46} {verdict}");
    }
    // What the sweep's schedule rule sends: AWS's example scheduled event, sent now.
    let mut schedule: Value = serde_json::from_str(fixtures::SCHEDULED_EVENT)?;
    schedule["time"] = json!(OccurredAt::now().to_string());
    let sweep = call(sorter, &schedule).await?;
    let listed = |c: &Value| {
        format!(
            "{} listed, {} sorted (nothing new)",
            c["received"], c["sorted"]
        )
    };
    println!("   scheduled sweep: {}", told(&sweep, listed));
    Ok(())
}

/// Invoke the processor for each level-0 file in the instrument buckets; the files.
async fn run_processor(
    processor: &mut Lambda,
    s3: &aws_sdk_s3::Client,
) -> Result<Vec<(String, String, i64)>> {
    let mut level0 = Vec::new();
    for inst in INSTRUMENTS {
        let bucket = format!("{MISSION}-{inst}");
        let listed = s3
            .list_objects_v2()
            .bucket(&bucket)
            .prefix("l0/")
            .send()
            .await?;
        for o in listed.contents() {
            let key = o.key().unwrap_or_default().to_owned();
            level0.push((bucket.clone(), key, o.size().unwrap_or(0)));
        }
    }
    for (bucket, key, size) in &level0 {
        let event = s3_event(bucket, key, u64::try_from(*size).unwrap_or(0));
        let answer = call(processor, &event).await?;
        let products = |c: &Value| {
            let (uploaded, published) = (&c["uploaded"], &c["published"]);
            format!("{uploaded} products uploaded, {published} events published")
        };
        println!("   s3://{bucket}/{key}: {}", told(&answer, products));
    }
    Ok(level0)
}

/// The recorder as the mapping invokes it, narrating each batch. The first batch's invocation
/// "times out" after writing: the mapping deletes nothing, SQS redelivers it after the
/// visibility timeout, and the recorder's idempotency absorbs the second delivery.
struct Narrated {
    lambda: Lambda,
    batches: usize,
    lost_once: bool,
}

impl Function for Narrated {
    async fn invoke(&mut self, event: &Value) -> Invocation {
        self.batches += 1;
        let (batch, n) = (
            self.batches,
            event["Records"].as_array().map_or(0, Vec::len),
        );
        let outcome = Function::invoke(&mut self.lambda, event).await;
        let Invocation::Response(response) = &outcome else {
            println!("   batch {batch}: the invocation failed; SQS redelivers the whole batch");
            return outcome;
        };
        if !self.lost_once {
            self.lost_once = true;
            println!(
                "   batch {batch}: {n} messages recorded, but the invocation timed out: nothing deleted, redelivered in {} s",
                VISIBILITY_TIMEOUT.as_secs()
            );
            return Invocation::Error("the invocation timed out".into());
        }
        let failed = response["batchItemFailures"].as_array().map_or(0, Vec::len);
        println!(
            "   batch {batch}: {n} messages, {} done, {failed} handed back for redelivery",
            n - failed.min(n)
        );
        outcome
    }
}

/// Feed the recorder from the events queue until it is drained; the invocations.
async fn run_recorder(
    sqs: &aws_sdk_sqs::Client,
    recorder: Lambda,
    infra: &Pipeline,
) -> Result<usize> {
    // What an operator might see in real life: a producer's broken message and a duplicate delivery.
    sqs.send_message()
        .queue_url(&infra.events_queue_url)
        .message_body(
            "{\"detail-type\":\"FileMoved\",\"detail\":{\"schema_version\":1,\"file_key\":\"\"}}",
        )
        .send()
        .await?;
    println!("   + a broken message sent straight to the queue by a misconfigured producer");
    let mapping = Mapping::new(
        sqs.clone(),
        &infra.events_queue_url,
        &infra.events_queue_arn,
        MappingSettings::batches_of(BATCH_SIZE),
    );
    let mut narrated = Narrated {
        lambda: recorder,
        batches: 0,
        lost_once: false,
    };
    mapping.poll_until_idle(&mut narrated, IDLE_RECEIVES).await;
    Ok(narrated.batches)
}

async fn print_trails(files: &[String], stored: &[Value]) -> Result<()> {
    let source = EmulatorHistory(stored.to_vec());
    for key in files {
        let trail = history::trail(&source, key)
            .await
            .map_err(anyhow::Error::msg)?;
        println!("\n   {key}");
        for line in history::table(&trail).lines() {
            println!("     {line}");
        }
    }
    Ok(())
}

/// The messages in a DLQ, by reason.
async fn dlq_status(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<filetrail_cli::dlq::DlqStatus> {
    filetrail_cli::dlq::status(sqs, url, filetrail_cli::dlq::SCAN_VISIBILITY_TIMEOUT_S)
        .await
        .map_err(|c| anyhow::anyhow!("{}: {}", c.code, c.message))
}

/// What the run did, from the phases.
struct Tally {
    files: usize,
    bad: usize,
    level0: usize,
    batches: usize,
}

/// Print the counts and check them: every move recorded once, the broken message
/// dead-lettered, the badly named files left in place.
async fn print_counts(
    sdk: &aws_config::SdkConfig,
    infra: &Pipeline,
    stored: &[Value],
    t: &Tally,
) -> Result<()> {
    let s3 = s3_client(sdk);
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let listed = s3.list_objects_v2().bucket(INCOMING).send().await?;
    let incoming_left = listed.contents().len();
    let distinct: std::collections::BTreeSet<String> = stored
        .iter()
        .map(|r| format!("{}|{}", r["Dimensions"], r["Time"]))
        .collect();
    let total = t.files + t.bad;
    println!(
        "   files dropped {total}, sorted {}, left in incoming (bad names) {incoming_left}",
        t.files
    );
    println!(
        "   level-0 files processed {}; recorder invocations {}",
        t.level0, t.batches
    );
    println!(
        "   records sent to Timestream {} (redeliveries included), distinct records {}",
        stored.len(),
        distinct.len()
    );
    let dlq = dlq_status(&sqs, &infra.dlq_url).await?;
    println!("   recorder DLQ: {} message(s)", dlq.scanned);
    for (reason, s) in &dlq.by_reason {
        println!("     {} x {reason}", s.count);
    }
    let target = dlq_status(&sqs, &infra.target_dlq_url).await?;
    println!("   EventBridge target DLQ: {} message(s)", target.scanned);
    println!(
        "\n   Replay the recorder DLQ after a fix: filetrail replay --from <recorder DLQ URL> --to-queue <events queue URL>"
    );
    let moves = t.files + 2 * t.level0;
    if distinct.len() != moves || dlq.scanned != 1 || incoming_left != t.bad {
        bail!(
            "the demo did not end as expected: {} distinct records for {moves} moves, {} dead letters",
            distinct.len(),
            dlq.scanned
        );
    }
    println!("\nDemo finished: {moves} moves, {moves} records, nothing lost, nothing doubled.");
    Ok(())
}

fn heading(n: u32, text: &str) {
    println!("\n{n}. {text}");
}

#[tokio::main]
async fn main() -> Result<()> {
    let sdk = filetrail_testkit::emulator().await;
    let logs = PathBuf::from("target/demo");
    std::fs::create_dir_all(&logs)?;
    println!(
        "filetrail demo: the pipeline on a local AWS emulator ({})",
        filetrail_testkit::endpoint()
    );
    heading(1, "Infrastructure, as infra/ deploys it");
    let infra = create_infra(&sdk).await?;
    print_infra(&infra);
    heading(2, "Science files dropped into s3://hermes-incoming");
    let s3 = s3_client(&sdk);
    let (files, bad) = drop_files(&s3).await?;
    let [mut sorter, mut processor, recorder] = start_lambdas(&infra, &logs).await?;
    heading(
        3,
        "Sorter: one invocation per S3 notification, then a scheduled sweep",
    );
    run_sorter(&mut sorter, &files, &bad).await?;
    heading(
        4,
        "Processor: each new l0 file in an instrument bucket becomes l1 and ql products",
    );
    let level0 = run_processor(&mut processor, &s3).await?;
    heading(
        5,
        "Recorder, fed by the event source mapping (batches of 10)",
    );
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let batches = run_recorder(&sqs, recorder, &infra).await?;
    heading(6, "Each file's trail (filetrail history)");
    let stored = filetrail_testkit::moto::timestream_records(&infra.database, &infra.table);
    print_trails(&files, &stored).await?;
    heading(7, "Counts");
    let tally = Tally {
        files: files.len(),
        bad: bad.len(),
        level0: level0.len(),
        batches,
    };
    println!("   Lambda logs: {}/*.log", logs.display());
    print_counts(&sdk, &infra, &stored, &tally).await
}
