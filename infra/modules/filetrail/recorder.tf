# ---------------------------------------------------------------------------------------------
# The recorder: one role, one log group, one function, one event source mapping.
# ---------------------------------------------------------------------------------------------

# What the recorder reads, per sink (crates/filetrail-recorder/src/config.rs and
# crates/filetrail-influxdb/src/config.rs). The InfluxDB token is never here: only the ARN of the
# secret that holds it, read once at start-up.
locals {
  recorder_environment_timestream = {
    FILETRAIL_TIMESTREAM_DATABASE   = one(aws_timestreamwrite_database.this[*].database_name)
    FILETRAIL_TIMESTREAM_TABLE      = one(aws_timestreamwrite_table.this[*].table_name)
    FILETRAIL_RECORD_LAYOUT         = var.record_layout
    FILETRAIL_DEAD_LETTER_QUEUE_URL = aws_sqs_queue.recorder_dlq.url
    RUST_LOG                        = local.rust_log
  }

  # v2 write API (org + bucket): the instance runs InfluxDB 2.x. `filetrail history` reads the
  # same bucket through the v1 /query endpoint (InfluxDB 2.7's virtual DBRP mapping).
  recorder_environment_influxdb = {
    FILETRAIL_SINK                      = "influxdb"
    FILETRAIL_INFLUXDB_URL              = local.influxdb_url
    FILETRAIL_INFLUXDB_ORG              = one(aws_timestreaminfluxdb_db_instance.this[*].organization)
    FILETRAIL_INFLUXDB_BUCKET           = one(aws_timestreaminfluxdb_db_instance.this[*].bucket)
    FILETRAIL_INFLUXDB_TOKEN_SECRET_ARN = local.influxdb_token_secret_arn
    FILETRAIL_INFLUXDB_MEASUREMENT      = var.influxdb_measurement
    FILETRAIL_DEAD_LETTER_QUEUE_URL     = aws_sqs_queue.recorder_dlq.url
    RUST_LOG                            = local.rust_log
  }
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

resource "aws_iam_role" "recorder" {
  name               = "${local.recorder_function_name}-role"
  description        = "The filetrail recorder Lambda: SQS batches into ${local.store_name}."
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags
}

# Exactly the calls the recorder makes, on exactly the resources it touches. No managed policy:
# AWSLambdaBasicExecutionRole would grant logs:CreateLogGroup on "*", and
# AWSLambdaVPCAccessExecutionRole every EC2 network-interface action on "*".
#
# The sink decides the sink statements (dynamic blocks expand in place, so with sink =
# "timestream" the document is the one from before the InfluxDB path): Timestream's only with the
# Timestream sink, the token secret and the VPC network interfaces only with the InfluxDB sink.
data "aws_iam_policy_document" "recorder" {
  dynamic "statement" {
    for_each = local.timestream_sink ? [1] : []
    content {
      sid       = "WriteRecords"
      effect    = "Allow"
      actions   = ["timestream:WriteRecords"]
      resources = [aws_timestreamwrite_table.this[0].arn]
    }
  }

  # Endpoint discovery: DescribeEndpoints supports no resource-level permission, so it is granted
  # on "*" (alone in its statement).
  dynamic "statement" {
    for_each = local.timestream_sink ? [1] : []
    content {
      sid       = "DiscoverTimestreamEndpoints"
      effect    = "Allow"
      actions   = ["timestream:DescribeEndpoints"]
      resources = ["*"]
    }
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

  # The InfluxDB API token, read once at start-up: this one secret, nothing else.
  dynamic "statement" {
    for_each = local.influxdb_sink ? [1] : []
    content {
      sid       = "ReadInfluxDbToken"
      effect    = "Allow"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [local.influxdb_token_secret_arn]
    }
  }

  # What Lambda does with the function's role to attach it to the VPC (Hyperplane network
  # interfaces). The two Describe actions support no resource-level permission (AWS: "only works
  # if it's allowed on all resources"), so they are the InfluxDB path's "*", alone in their
  # statement; they read, never change.
  dynamic "statement" {
    for_each = local.influxdb_sink ? [1] : []
    content {
      sid       = "DescribeVpcNetworkInterfaces"
      effect    = "Allow"
      actions   = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
      resources = ["*"]
    }
  }

  # Creating an interface is authorised on the interface, the subnet and the security group: only
  # the given subnets and the recorder's own security group.
  dynamic "statement" {
    for_each = local.influxdb_sink ? [1] : []
    content {
      sid     = "CreateVpcNetworkInterfaces"
      effect  = "Allow"
      actions = ["ec2:CreateNetworkInterface"]
      resources = concat(
        [local.network_interfaces_arn, aws_security_group.recorder[0].arn],
        [for s in var.influxdb_subnet_ids : "${local.ec2_arn_prefix}:subnet/${s}"],
      )
    }
  }

  # Deleting and re-addressing take the interface alone; Lambda's interfaces get ids at run time,
  # so this is every network interface of the account in this region (AWS documents either one
  # id or all of them), never another resource type or region.
  dynamic "statement" {
    for_each = local.influxdb_sink ? [1] : []
    content {
      sid       = "ManageVpcNetworkInterfaces"
      effect    = "Allow"
      actions   = ["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
      resources = [local.network_interfaces_arn]
    }
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
  #checkov:skip=CKV_AWS_117:With sink = timestream it calls only public AWS endpoints (Timestream, SQS, Logs), where a VPC would add NAT or endpoints for nothing; with sink = influxdb the dynamic vpc_config below puts it in the instance's VPC.
  #checkov:skip=CKV_AWS_50:X-Ray's PutTraceSegments supports no resource-level permission, and this project grants "*" only to actions that have none and that the recorder cannot do without; the Rust binary emits structured logs and EMF metrics instead.
  #checkov:skip=CKV_AWS_115:Concurrency is bounded by the event source mapping's maximum_concurrency (var.maximum_concurrency); reserved concurrency would carve capacity out of the account pool and fails on accounts at the default quota.
  #checkov:skip=CKV_AWS_173:The environment holds only resource names, URLs and, with InfluxDB, the token secret's ARN (never the token); Lambda encrypts it at rest with its service key.
  #checkov:skip=CKV_AWS_272:The zip is built locally by cargo-lambda from this repository; no AWS Signer profile exists to sign it.
  function_name    = local.recorder_function_name
  description      = "filetrail recorder: FileMoved events from SQS into ${local.store_name}, once each."
  role             = aws_iam_role.recorder.arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  filename         = var.recorder_zip_path
  source_code_hash = filebase64sha256(var.recorder_zip_path)
  timeout          = var.recorder_timeout_seconds
  memory_size      = var.recorder_memory_mb

  environment {
    variables = local.timestream_sink ? local.recorder_environment_timestream : local.recorder_environment_influxdb
  }

  # With InfluxDB the recorder runs in the instance's subnets, with a security group of its own.
  dynamic "vpc_config" {
    for_each = local.influxdb_sink ? [1] : []
    content {
      subnet_ids         = var.influxdb_subnet_ids
      security_group_ids = [aws_security_group.recorder[0].id]
    }
  }

  # JSON logs (AWS_LAMBDA_LOG_FORMAT=JSON) into the log group above, whose retention we own.
  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.recorder.name
    application_log_level = local.lambda_log_level
    system_log_level      = "WARN"
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = local.influxdb_sink || local.create_timestream
      error_message = "The Timestream sink writes to the Timestream table: create_timestream must not be false when sink is timestream."
    }
  }

  depends_on = [aws_iam_role_policy.recorder]
}

resource "aws_lambda_event_source_mapping" "recorder" {
  event_source_arn                   = aws_sqs_queue.events.arn
  function_name                      = aws_lambda_function.recorder.arn
  enabled                            = var.recorder_enabled
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
