# ---------------------------------------------------------------------------------------------
# The sorter: incoming bucket -> {prefix}{mission}-{instrument}/{level}/{YYYY}/{MM}/{DD}/{name}
# Triggered by the caller's S3 notifications on the incoming bucket and by the sweep schedule.
# ---------------------------------------------------------------------------------------------

resource "aws_iam_role" "sorter" {
  name               = "${local.sorter_function_name}-role"
  description        = "The filetrail sorter Lambda: sorts incoming files into instrument buckets."
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "sorter" {
  # HeadObject (with checksums) and the copy's source read are s3:GetObject; the copy carries
  # the source's tags (CopyObject's default tagging directive COPY, or GetObjectTagging on the
  # multipart path, both on the current version: s3:GetObjectTagging, no version action); the
  # source is deleted (If-Match its ETag) once the copy is verified.
  statement {
    sid       = "ReadAndDeleteIncomingObjects"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:GetObjectTagging", "s3:DeleteObject"]
    resources = ["${local.incoming_bucket_arn}/*"]
  }

  # The sweep lists the incoming bucket.
  statement {
    sid       = "ListIncomingBucket"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [local.incoming_bucket_arn]
  }

  # CopyObject, or CreateMultipartUpload / UploadPartCopy / CompleteMultipartUpload over 5 GB
  # (all s3:PutObject here), AbortMultipartUpload when a part fails; the copy writes the source's
  # tags (s3:PutObjectTagging: without it S3 refuses a tagged copy with 403); HeadObject
  # (s3:GetObject) verifies the copy and recognises an already-moved file on retry.
  statement {
    sid       = "WriteInstrumentObjects"
    effect    = "Allow"
    actions   = ["s3:PutObject", "s3:PutObjectTagging", "s3:GetObject", "s3:AbortMultipartUpload"]
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
    sid       = "PublishFileMovedAsSorter"
    effect    = "Allow"
    actions   = ["events:PutEvents"]
    resources = [var.event_bus_arn]

    condition {
      test     = "StringEquals"
      variable = "events:source"
      values   = [var.sorter_event_source]
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
    resources = [aws_sqs_queue.sorter_dlq.arn]
  }

  statement {
    sid       = "OwnLogGroupOnly"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.sorter.arn}:*"]
  }
}

resource "aws_iam_role_policy" "sorter" {
  name   = "${local.sorter_function_name}-least-privilege"
  role   = aws_iam_role.sorter.id
  policy = data.aws_iam_policy_document.sorter.json
}

resource "aws_cloudwatch_log_group" "sorter" {
  #checkov:skip=CKV_AWS_158:Logs hold bucket names and file keys, the same data as the audit table; CloudWatch Logs encrypts them at rest with its own key. A CMK would add a key policy for no narrower access.
  #checkov:skip=CKV_AWS_338:Retention is the operator's choice (var.log_retention_days, default 90 days); the durable audit record is the Timestream table, not the logs.
  name              = "/aws/lambda/${local.sorter_function_name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_lambda_function" "sorter" {
  #checkov:skip=CKV_AWS_117:Calls only public AWS endpoints (S3, EventBridge, Logs) and reaches no VPC resource; a VPC would add NAT or endpoints for nothing.
  #checkov:skip=CKV_AWS_50:X-Ray's PutTraceSegments supports no resource-level permission, and this project grants "*" only to timestream:DescribeEndpoints; the Rust binary emits structured logs and EMF metrics instead.
  #checkov:skip=CKV_AWS_115:Invoked by S3 notifications at the rate files arrive; reserved concurrency would carve capacity out of the account pool and fails on accounts at the default quota.
  #checkov:skip=CKV_AWS_173:The environment holds only bucket, bus and mission names, no secrets; Lambda encrypts it at rest with its service key.
  #checkov:skip=CKV_AWS_272:The zip is built locally by cargo-lambda from this repository; no AWS Signer profile exists to sign it.
  function_name    = local.sorter_function_name
  description      = "filetrail sorter: incoming files into instrument buckets, one FileMoved event each."
  role             = aws_iam_role.sorter.arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  filename         = var.sorter_zip_path
  source_code_hash = filebase64sha256(var.sorter_zip_path)
  timeout          = var.sorter_timeout_seconds
  memory_size      = var.sorter_memory_mb

  environment {
    variables = {
      FILETRAIL_EVENT_BUS       = var.event_bus_name
      FILETRAIL_EVENT_SOURCE    = var.sorter_event_source
      FILETRAIL_INCOMING_BUCKET = local.incoming_bucket_name
      FILETRAIL_MISSION         = var.mission
      FILETRAIL_INSTRUMENTS     = join(",", var.instruments)
      FILETRAIL_BUCKET_PREFIX   = var.bucket_prefix
      RUST_LOG                  = local.rust_log
    }
  }

  # An S3 notification whose invocation still fails after Lambda's retries lands here; the
  # file stays in the incoming bucket, so the next sweep sorts it anyway.
  dead_letter_config {
    target_arn = aws_sqs_queue.sorter_dlq.arn
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.sorter.name
    application_log_level = local.lambda_log_level
    system_log_level      = "WARN"
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.sorter]
}

# ---------------------------------------------------------------------------------------------
# The sweep: a schedule on the default bus invokes the sorter with an event that has no
# records, and the sorter lists the incoming bucket.
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_event_rule" "sweep" {
  name                = "${var.name_prefix}-sorter-sweep"
  description         = "Sweep the incoming bucket for files no S3 notification delivered."
  schedule_expression = var.sweep_schedule_expression
  state               = "ENABLED"
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "sweep" {
  rule      = aws_cloudwatch_event_rule.sweep.name
  target_id = "sorter"
  arn       = aws_lambda_function.sorter.arn

  # A missed sweep is made up by the next one; keep retrying only until then.
  retry_policy {
    maximum_retry_attempts       = 3
    maximum_event_age_in_seconds = 600
  }

  dead_letter_config {
    arn = aws_sqs_queue.sorter_dlq.arn
  }
}

resource "aws_lambda_permission" "sweep" {
  statement_id  = "AllowSweepSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.sorter.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.sweep.arn
}

# ---------------------------------------------------------------------------------------------
# The sorter DLQ: failed asynchronous invocations (from the function's role) and undeliverable
# sweep events (from the sweep rule only).
# ---------------------------------------------------------------------------------------------

# SSE-SQS: EventBridge can deliver to it without KMS grants (it cannot use aws/sqs); see
# modules/filetrail/queues.tf for the full reasoning.
resource "aws_sqs_queue" "sorter_dlq" {
  name                      = "${var.name_prefix}-sorter-dlq"
  sqs_managed_sse_enabled   = true
  message_retention_seconds = local.dead_letter_retention_seconds
  tags                      = var.tags
}

data "aws_iam_policy_document" "sorter_dlq" {
  statement {
    sid       = "OnlyTheSweepRuleDeadLetters"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.sorter_dlq.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.sweep.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "sorter_dlq" {
  queue_url = aws_sqs_queue.sorter_dlq.id
  policy    = data.aws_iam_policy_document.sorter_dlq.json
}
