# ---------------------------------------------------------------------------------------------
# The recorder: one role, one log group, one function, one event source mapping.
# ---------------------------------------------------------------------------------------------

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

resource "aws_iam_role" "recorder" {
  name               = "${local.recorder_function_name}-role"
  description        = "The filetrail recorder Lambda: SQS batches into Timestream."
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags
}

# Exactly the calls the recorder makes, on exactly the resources it touches. No managed policy:
# AWSLambdaBasicExecutionRole would grant logs:CreateLogGroup on "*".
data "aws_iam_policy_document" "recorder" {
  statement {
    sid       = "WriteRecords"
    effect    = "Allow"
    actions   = ["timestream:WriteRecords"]
    resources = [aws_timestreamwrite_table.this.arn]
  }

  # Endpoint discovery: DescribeEndpoints supports no resource-level permission, so it is the
  # one action granted on "*" (alone in its statement).
  statement {
    sid       = "DiscoverTimestreamEndpoints"
    effect    = "Allow"
    actions   = ["timestream:DescribeEndpoints"]
    resources = ["*"]
  }

  # What the event source mapping does on the recorder's behalf.
  statement {
    sid    = "ConsumeEventsQueue"
    effect = "Allow"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:ChangeMessageVisibility",
    ]
    resources = [aws_sqs_queue.events.arn]
  }

  statement {
    sid       = "DeadLetterWhatCanNeverBeWritten"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.recorder_dlq.arn]
  }

  statement {
    sid       = "OwnLogGroupOnly"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.recorder.arn}:*"]
  }
}

resource "aws_iam_role_policy" "recorder" {
  name   = "${local.recorder_function_name}-least-privilege"
  role   = aws_iam_role.recorder.id
  policy = data.aws_iam_policy_document.recorder.json
}

resource "aws_cloudwatch_log_group" "recorder" {
  #checkov:skip=CKV_AWS_158:Logs hold bucket names, file keys and event ids, the same data as the Timestream table; CloudWatch Logs encrypts them at rest with its own key. A CMK would add a key policy for no narrower access.
  #checkov:skip=CKV_AWS_338:Retention is the operator's choice (var.log_retention_days, default 90 days); the durable audit record is the Timestream table, not the logs.
  name              = "/aws/lambda/${local.recorder_function_name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_lambda_function" "recorder" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by the SQS event source mapping, where a function DLQ is never used; failures go back to SQS, whose redrive policy and the recorder's own dead-lettering reach the recorder DLQ.
  #checkov:skip=CKV_AWS_117:Calls only public AWS endpoints (Timestream, SQS, Logs) and reaches no VPC resource; a VPC would add NAT or endpoints for nothing.
  #checkov:skip=CKV_AWS_50:X-Ray's PutTraceSegments supports no resource-level permission, and this project grants "*" only to timestream:DescribeEndpoints; the Rust binary emits structured logs and EMF metrics instead.
  #checkov:skip=CKV_AWS_115:Concurrency is bounded by the event source mapping's maximum_concurrency (var.maximum_concurrency); reserved concurrency would carve capacity out of the account pool and fails on accounts at the default quota.
  #checkov:skip=CKV_AWS_173:The environment holds only resource names and a queue URL, no secrets; Lambda encrypts it at rest with its service key.
  #checkov:skip=CKV_AWS_272:The zip is built locally by cargo-lambda from this repository; no AWS Signer profile exists to sign it.
  function_name    = local.recorder_function_name
  description      = "filetrail recorder: FileMoved events from SQS into Timestream, once each."
  role             = aws_iam_role.recorder.arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  filename         = var.recorder_zip_path
  source_code_hash = filebase64sha256(var.recorder_zip_path)
  timeout          = var.recorder_timeout_seconds
  memory_size      = var.recorder_memory_mb

  environment {
    variables = {
      FILETRAIL_TIMESTREAM_DATABASE   = aws_timestreamwrite_database.this.database_name
      FILETRAIL_TIMESTREAM_TABLE      = aws_timestreamwrite_table.this.table_name
      FILETRAIL_RECORD_LAYOUT         = var.record_layout
      FILETRAIL_DEAD_LETTER_QUEUE_URL = aws_sqs_queue.recorder_dlq.url
    }
  }

  # JSON logs (AWS_LAMBDA_LOG_FORMAT=JSON) into the log group above, whose retention we own.
  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.recorder.name
    application_log_level = var.log_level
    system_log_level      = "WARN"
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.recorder]
}

resource "aws_lambda_event_source_mapping" "recorder" {
  event_source_arn                   = aws_sqs_queue.events.arn
  function_name                      = aws_lambda_function.recorder.arn
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.batching_window_seconds

  # The recorder answers with the ids of the messages it could not handle; only those return
  # to the queue, the rest of the batch is deleted.
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.maximum_concurrency
  }

  lifecycle {
    precondition {
      condition     = var.batch_size <= 10 || var.batching_window_seconds >= 1
      error_message = "SQS event source mappings with batch_size > 10 need batching_window_seconds >= 1."
    }
  }
}
