# filetrail core: EventBridge bus -> rule -> SQS queue -> recorder Lambda -> Timestream (or,
# with sink = "influxdb", a Timestream for InfluxDB instance in the caller's VPC), with the
# dead-letter queues, least-privilege role and alarms around it. The stages that publish
# FileMoved events live elsewhere (modules/filetrail-stages, or a mission's own code); they only
# need their role ARN in var.publisher_role_arns.
#
# infra/ never builds Rust: the recorder zip is an input (var.recorder_zip_path).

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  recorder_function_name = "${var.name_prefix}-recorder"

  # Lambda gives every line without a "level" (each EMF metric line) the level INFO and, with
  # log-level filtering, drops it when the application log level is WARN or above
  # (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html):
  # alarms and dashboards would go silent. So Lambda filters at INFO at most, and the binaries
  # filter their own logs at var.log_level through RUST_LOG (tracing has no FATAL: error).
  lambda_log_level = contains(["TRACE", "DEBUG"], var.log_level) ? var.log_level : "INFO"
  rust_log         = { TRACE = "trace", DEBUG = "debug", INFO = "info", WARN = "warn", ERROR = "error", FATAL = "error" }[var.log_level]

  # The sink decides what exists: with "timestream" (the default) the plan is the one from before
  # the InfluxDB path; with "influxdb" the recorder lives in the VPC and never gets timestream:*.
  timestream_sink   = var.sink == "timestream"
  influxdb_sink     = var.sink == "influxdb"
  create_timestream = coalesce(var.create_timestream, local.timestream_sink)
  store_name        = local.timestream_sink ? "Timestream" : "InfluxDB"

  # The pattern the rule routes and the archive keeps: every FileMoved put on this bus, whatever
  # its source. PutEvents accepts an event no rule matches and drops it, so a pattern narrower
  # than "who may publish" (the bus policy's job) loses events; the Rust tests and the demo build
  # their rules from this same file.
  file_moved_pattern = jsonencode(jsondecode(file("${path.module}/file-moved-pattern.json")))

  # AWS: the visibility timeout of a Lambda event source queue must be at least 6x the function
  # timeout, or a message still being processed becomes visible again and is redelivered.
  events_queue_visibility_timeout_seconds = coalesce(var.events_queue_visibility_timeout_seconds, 6 * var.recorder_timeout_seconds)

  # DLQs keep messages for the SQS maximum so an operator has two weeks to replay them.
  dead_letter_retention_seconds = 1209600

  rejected_data_bucket_name = coalesce(
    var.rejected_data_bucket_name,
    "${var.name_prefix}-ts-rejected-${data.aws_caller_identity.current.account_id}-${data.aws_region.current.region}",
  )
}
