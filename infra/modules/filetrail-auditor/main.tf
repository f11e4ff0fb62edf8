# filetrail auditor: a scheduled Lambda (crates/filetrail-auditor) that compares the mission's
# buckets with the trail every audit_interval_minutes and reports what did not happen as EMF
# counts (stuck_files, unprocessed_files, unrecorded_files, audited_objects), with an alarm on each.
# It reads the buckets and the store, and writes nothing but its logs. The buckets and the store
# belong to the caller (infra/examples/complete wires the filetrail and filetrail-stages
# modules' outputs in).
#
# infra/ never builds Rust: the zip is an input (var.auditor_zip_path).

data "aws_partition" "current" {}

locals {
  auditor_function_name = "${var.name_prefix}-auditor"

  # Lambda gives every line without a "level" (each EMF metric line) the level INFO and, with
  # log-level filtering, drops it when the application log level is WARN or above
  # (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html):
  # alarms and dashboards would go silent. So Lambda filters at INFO at most, and the binary
  # filters its own logs at var.log_level through RUST_LOG (tracing has no FATAL: error).
  lambda_log_level = contains(["TRACE", "DEBUG"], var.log_level) ? var.log_level : "INFO"
  rust_log         = { TRACE = "trace", DEBUG = "debug", INFO = "info", WARN = "warn", ERROR = "error", FATAL = "error" }[var.log_level]

  timestream_sink = var.sink == "timestream"
  influxdb_sink   = var.sink == "influxdb"
  store_name      = local.timestream_sink ? "Timestream" : "InfluxDB"

  # The same names the sorter derives from FILETRAIL_BUCKET_PREFIX, _MISSION and _INSTRUMENTS.
  incoming_bucket_name   = coalesce(var.incoming_bucket_name, "${var.bucket_prefix}${var.mission}-incoming")
  s3_arn_prefix          = "arn:${data.aws_partition.current.partition}:s3:::"
  incoming_bucket_arn    = "${local.s3_arn_prefix}${local.incoming_bucket_name}"
  instrument_bucket_arns = [for i in var.instruments : "${local.s3_arn_prefix}${var.bucket_prefix}${var.mission}-${i}"]

  # An EventBridge rate expression: "rate(value unit)", plural unit above 1
  # (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html; the
  # variable's validation keeps it >= 5). The alarms' period is the same interval, so each period
  # holds one audit.
  schedule_expression  = "rate(${var.audit_interval_minutes} minutes)"
  alarm_period_seconds = var.audit_interval_minutes * 60

  # What the auditor reads (crates/filetrail-auditor/src/main.rs, the stages' variables and the
  # sink's). The InfluxDB token is never here: only the ARN of the secret that holds a read token.
  auditor_environment_common = {
    FILETRAIL_MISSION          = var.mission
    FILETRAIL_INSTRUMENTS      = join(",", var.instruments)
    FILETRAIL_BUCKET_PREFIX    = var.bucket_prefix
    FILETRAIL_INCOMING_BUCKET  = local.incoming_bucket_name
    FILETRAIL_AUDIT_OLDER_THAN = "${var.older_than_minutes}m"
    FILETRAIL_AUDIT_SINCE      = "${var.since_hours}h"
    RUST_LOG                   = local.rust_log
  }
  auditor_environment_timestream = {
    FILETRAIL_TIMESTREAM_DATABASE = var.timestream_database_name
    FILETRAIL_TIMESTREAM_TABLE    = var.timestream_table_name
    FILETRAIL_RECORD_LAYOUT       = var.record_layout
  }
  auditor_environment_influxdb = {
    FILETRAIL_SINK                      = "influxdb"
    FILETRAIL_INFLUXDB_URL              = var.influxdb_url
    FILETRAIL_INFLUXDB_ORG              = var.influxdb_organization
    FILETRAIL_INFLUXDB_BUCKET           = var.influxdb_bucket
    FILETRAIL_INFLUXDB_TOKEN_SECRET_ARN = var.influxdb_token_secret_arn
    FILETRAIL_INFLUXDB_MEASUREMENT      = var.influxdb_measurement
  }
  auditor_environment_inventory = length(var.inventory_manifests) == 0 ? {} : { FILETRAIL_AUDIT_INVENTORY = join(",", var.inventory_manifests) }
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    sid     = "LambdaAssumes"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}
