# filetrail stages: the sorter and processor Lambdas that move files through the mission's S3
# buckets and publish one FileMoved event per move. Each has its own role, log group and
# async-invocation DLQ. The buckets and their notifications belong to the caller (see
# infra/examples/complete); this module only grants access to them by name.
#
# infra/ never builds Rust: the zips are inputs (var.sorter_zip_path, var.processor_zip_path).

data "aws_partition" "current" {}

locals {
  sorter_function_name    = "${var.name_prefix}-sorter"
  processor_function_name = "${var.name_prefix}-processor"

  # Lambda gives every line without a "level" (each EMF metric line) the level INFO and, with
  # log-level filtering, drops it when the application log level is WARN or above
  # (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html):
  # alarms and dashboards would go silent. So Lambda filters at INFO at most, and the binaries
  # filter their own logs at var.log_level through RUST_LOG (tracing has no FATAL: error).
  lambda_log_level = contains(["TRACE", "DEBUG"], var.log_level) ? var.log_level : "INFO"
  rust_log         = { TRACE = "trace", DEBUG = "debug", INFO = "info", WARN = "warn", ERROR = "error", FATAL = "error" }[var.log_level]

  incoming_bucket_name = coalesce(var.incoming_bucket_name, "${var.bucket_prefix}${var.mission}-incoming")
  incoming_bucket_arn  = "arn:${data.aws_partition.current.partition}:s3:::${local.incoming_bucket_name}"

  # The sorter derives the same names from FILETRAIL_BUCKET_PREFIX, _MISSION and _INSTRUMENTS.
  instrument_bucket_names = { for i in var.instruments : i => "${var.bucket_prefix}${var.mission}-${i}" }
  instrument_bucket_arns  = [for name in values(local.instrument_bucket_names) : "arn:${data.aws_partition.current.partition}:s3:::${name}"]
  instrument_object_arns  = [for arn in local.instrument_bucket_arns : "${arn}/*"]

  # Stage DLQs keep messages for the SQS maximum.
  dead_letter_retention_seconds = 1209600
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
