//! The `filetrail-recorder` Lambda: builds its clients from the environment and runs the handler.

use aws_lambda_events::event::sqs::SqsBatchResponse;
use filetrail_aws::emf::MetricCounts;
use filetrail_aws::{Env, Margin, config_error, work_deadline};
use filetrail_recorder::{
    FUNCTION_NAME, InfluxDbSink, NoDeadLetterQueue, Recorder, RecorderConfig, Settings, Sink,
    SinkConfig, SqsBatch, SqsDeadLetters, TimestreamSink, TimestreamWriter, timestream_client,
};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // JSON logs when AWS_LAMBDA_LOG_FORMAT=JSON, text otherwise.
    lambda_runtime::tracing::init_default_subscriber();
    let config = RecorderConfig::from_env(&Env::process()).inspect_err(config_error)?;
    let sdk = filetrail_aws::load_sdk_config().await;
    match &config.sink {
        SinkConfig::Timestream => {
            tracing::info!(sink = "timestream", database = %config.database, table = %config.table,
                layout = config.layout.name(), dead_letter_queue = ?config.dead_letter_queue_url, "recorder starting");
            let writer = TimestreamWriter::new(
                timestream_client(&sdk).await?,
                &config.database,
                &config.table,
            );
            start(TimestreamSink::new(writer, config.layout), &config, &sdk).await
        }
        SinkConfig::InfluxDb(influx) => {
            tracing::info!(sink = "influxdb", url = %influx.url, target = ?influx.target, measurement = %influx.measurement,
                dead_letter_queue = ?config.dead_letter_queue_url, "recorder starting");
            start(InfluxDbSink::connect(influx, &sdk).await?, &config, &sdk).await
        }
    }
}

async fn start<S: Sink>(
    sink: S,
    config: &RecorderConfig,
    sdk: &aws_config::SdkConfig,
) -> Result<(), Error> {
    let settings = Settings {
        concurrency: config.write_concurrency,
        ..Settings::default()
    };
    match &config.dead_letter_queue_url {
        Some(url) => {
            let dlq = SqsDeadLetters::new(aws_sdk_sqs::Client::new(sdk), url);
            run(Recorder::new(sink, dlq, settings), config).await
        }
        None => run(Recorder::new(sink, NoDeadLetterQueue, settings), config).await,
    }
}

async fn run<S, D>(recorder: Recorder<S, D>, config: &RecorderConfig) -> Result<(), Error>
where
    S: Sink,
    D: filetrail_recorder::DeadLetters,
{
    let recorder = &recorder;
    let margin = Margin::Fixed(config.safety_margin);
    // Metrics under the deployed name, the one the alarms and the dashboard query.
    let function = &filetrail_aws::emf::function_name(&Env::process(), FUNCTION_NAME);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsBatch>| async move {
        // At ERROR level, so the span (and the request id on every line) is kept whatever
        // level the function logs at: `log_level = "WARN"` sets RUST_LOG=warn, which would drop
        // an INFO span from the WARN lines that matter most.
        let span = tracing::error_span!("invocation", request_id = %event.context.request_id);
        let deadline = work_deadline(event.context.deadline(), margin);
        let (response, counts): (SqsBatchResponse, _) = recorder
            .handle(&event.payload, deadline)
            .instrument(span)
            .await?;
        counts.metrics(function).emit();
        Ok::<_, Error>(response)
    }))
    .await
}
