# ---------------------------------------------------------------------------------------------
# The processor: new {processor_input_prefix} objects in an instrument bucket -> products under
# their level's prefix in the same bucket, one FileMoved event each.
# Triggered by the caller's S3 notifications on the instrument buckets.
# ---------------------------------------------------------------------------------------------

resource "aws_iam_role" "processor" {
  name               = "${local.processor_function_name}-role"
  description        = "The filetrail processor Lambda: turns instrument files into products."
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "processor" {
  # HeadObject and the download are s3:GetObject; each product is one PutObject; HeadObject
  # recognises an already-uploaded product on retry.
  statement {
    sid       = "ReadAndWriteInstrumentObjects"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = local.instrument_object_arns
  }

  # Without ListBucket, a HeadObject on a key that does not exist yet answers 403 instead of 404.
  statement {
    sid       = "ListInstrumentBuckets"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = local.instrument_bucket_arns
  }

  statement {
    sid       = "PublishFileMovedAsProcessor"
    effect    = "Allow"
    actions   = ["events:PutEvents"]
    resources = [var.event_bus_arn]

    condition {
      test     = "StringEquals"
      variable = "events:source"
      values   = [var.processor_event_source]
    }

    condition {
      test     = "StringEquals"
      variable = "events:detail-type"
      values   = ["FileMoved"]
    }
  }

  # Lambda sends failed asynchronous invocations (after its two retries) with this role.
  statement {
    sid       = "AsyncInvocationDeadLetter"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.processor_dlq.arn]
  }

  statement {
    sid       = "OwnLogGroupOnly"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.processor.arn}:*"]
  }
}

resource "aws_iam_role_policy" "processor" {
  name   = "${local.processor_function_name}-least-privilege"
  role   = aws_iam_role.processor.id
  policy = data.aws_iam_policy_document.processor.json
}

resource "aws_cloudwatch_log_group" "processor" {
  #checkov:skip=CKV_AWS_158:Logs hold bucket names and file keys, the same data as the audit table; CloudWatch Logs encrypts them at rest with its own key. A CMK would add a key policy for no narrower access.
  #checkov:skip=CKV_AWS_338:Retention is the operator's choice (var.log_retention_days, default 90 days); the durable audit record is the Timestream table, not the logs.
  name              = "/aws/lambda/${local.processor_function_name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_lambda_function" "processor" {
  #checkov:skip=CKV_AWS_117:Calls only public AWS endpoints (S3, EventBridge, Logs) and reaches no VPC resource; a VPC would add NAT or endpoints for nothing.
  #checkov:skip=CKV_AWS_50:X-Ray's PutTraceSegments supports no resource-level permission, and this project grants "*" only to timestream:DescribeEndpoints; the Rust binary emits structured logs and EMF metrics instead.
  #checkov:skip=CKV_AWS_115:Invoked by S3 notifications at the rate files arrive; reserved concurrency would carve capacity out of the account pool and fails on accounts at the default quota.
  #checkov:skip=CKV_AWS_173:The environment holds only the bus name, event source and command path, no secrets; Lambda encrypts it at rest with its service key.
  #checkov:skip=CKV_AWS_272:The zip is built locally by cargo-lambda from this repository; no AWS Signer profile exists to sign it.
  function_name    = local.processor_function_name
  description      = "filetrail processor: instrument files into products, one FileMoved event each."
  role             = aws_iam_role.processor.arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  filename         = var.processor_zip_path
  source_code_hash = filebase64sha256(var.processor_zip_path)
  timeout          = var.processor_timeout_seconds
  memory_size      = var.processor_memory_mb

  ephemeral_storage {
    size = var.processor_ephemeral_storage_mb
  }

  environment {
    variables = {
      FILETRAIL_EVENT_BUS       = var.event_bus_name
      FILETRAIL_EVENT_SOURCE    = var.processor_event_source
      FILETRAIL_PROCESS_COMMAND = var.processor_process_command
      FILETRAIL_MISSION         = var.mission
      FILETRAIL_INSTRUMENTS     = join(",", var.instruments)
      RUST_LOG                  = local.rust_log
    }
  }

  # Where a mission ships its processing command (layers land under /opt).
  layers = var.processor_layer_arns

  # An S3 notification whose invocation still fails after Lambda's retries lands here, to be
  # re-driven once the cause is fixed.
  dead_letter_config {
    target_arn = aws_sqs_queue.processor_dlq.arn
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.processor.name
    application_log_level = local.lambda_log_level
    system_log_level      = "WARN"
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.processor]
}

# SSE-SQS, as every filetrail queue; only the processor's role sends to it.
resource "aws_sqs_queue" "processor_dlq" {
  name                      = "${var.name_prefix}-processor-dlq"
  sqs_managed_sse_enabled   = true
  message_retention_seconds = local.dead_letter_retention_seconds
  tags                      = var.tags
}
