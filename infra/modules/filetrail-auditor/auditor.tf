# ---------------------------------------------------------------------------------------------
# The auditor: one role, one log group, one function, its schedule.
# ---------------------------------------------------------------------------------------------

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  ec2_arn_prefix         = "arn:${data.aws_partition.current.partition}:ec2:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}"
  network_interfaces_arn = "${local.ec2_arn_prefix}:network-interface/*"
  inventory_bucket_arn   = var.inventory_bucket_name == null ? null : "${local.s3_arn_prefix}${var.inventory_bucket_name}"
}

resource "aws_iam_role" "auditor" {
  name               = "${local.auditor_function_name}-role"
  description        = "The filetrail auditor Lambda: reads the mission's buckets and ${local.store_name}, writes only its logs."
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags
}

# Exactly the calls the auditor makes, on exactly the resources it reads. It lists the incoming
# and instrument buckets (ListObjectsV2 is s3:ListBucket on the bucket) and reads no object there:
# a listing carries the key, size and LastModified the findings need. An S3 Inventory report is
# read with GetObject only (the manifest.json URLs are given, then the data files they name).
data "aws_iam_policy_document" "auditor" {
  statement {
    sid       = "ListMissionBuckets"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = concat([local.incoming_bucket_arn], local.instrument_bucket_arns)
  }

  dynamic "statement" {
    for_each = var.inventory_bucket_name == null ? [] : [1]
    content {
      sid       = "ReadInventoryReports"
      effect    = "Allow"
      actions   = ["s3:GetObject"]
      resources = ["${local.inventory_bucket_arn}/*"]
    }
  }

  # Timestream Query: Select is authorised on the table the query names.
  dynamic "statement" {
    for_each = local.timestream_sink ? [1] : []
    content {
      sid       = "QueryTrail"
      effect    = "Allow"
      actions   = ["timestream:Select"]
      resources = [var.timestream_table_arn]
    }
  }

  # Endpoint discovery (the Query SDK discovers its endpoint): DescribeEndpoints supports no
  # resource-level permission, so it is granted on "*" (alone in its statement).
  dynamic "statement" {
    for_each = local.timestream_sink ? [1] : []
    content {
      sid       = "DiscoverTimestreamEndpoints"
      effect    = "Allow"
      actions   = ["timestream:DescribeEndpoints"]
      resources = ["*"]
    }
  }

  statement {
    sid       = "OwnLogGroupOnly"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.auditor.arn}:*"]
  }

  # The InfluxDB read token, read once at start-up: this one secret, nothing else.
  dynamic "statement" {
    for_each = local.influxdb_sink ? [1] : []
    content {
      sid       = "ReadInfluxDbToken"
      effect    = "Allow"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [var.influxdb_token_secret_arn]
    }
  }

  # Lambda's VPC attachment, as for the recorder (modules/filetrail/recorder.tf): the two Describe
  # calls support no resource-level permission, so they are the InfluxDB path's "*", alone.
  dynamic "statement" {
    for_each = local.influxdb_sink ? [1] : []
    content {
      sid       = "DescribeVpcNetworkInterfaces"
      effect    = "Allow"
      actions   = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = local.influxdb_sink ? [1] : []
    content {
      sid     = "CreateVpcNetworkInterfaces"
      effect  = "Allow"
      actions = ["ec2:CreateNetworkInterface"]
      resources = concat(
        [local.network_interfaces_arn, aws_security_group.auditor[0].arn],
        [for s in var.influxdb_subnet_ids : "${local.ec2_arn_prefix}:subnet/${s}"],
      )
    }
  }

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

resource "aws_iam_role_policy" "auditor" {
  name   = "${local.auditor_function_name}-least-privilege"
  role   = aws_iam_role.auditor.id
  policy = data.aws_iam_policy_document.auditor.json
}

resource "aws_cloudwatch_log_group" "auditor" {
  #checkov:skip=CKV_AWS_158:Logs hold bucket names and file keys of findings, the same data as the trail; CloudWatch Logs encrypts them at rest with its own key. A CMK would add a key policy for no narrower access.
  #checkov:skip=CKV_AWS_338:Retention is the operator's choice (var.log_retention_days, default 90 days); the findings are found again by the next audit while they last.
  name              = "/aws/lambda/${local.auditor_function_name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_lambda_function" "auditor" {
  #checkov:skip=CKV_AWS_116:Invoked only by its schedule; a failed audit is made up by the next one (Lambda's retries are off below) and counted by the Errors alarm, so a DLQ would hold nothing to re-drive.
  #checkov:skip=CKV_AWS_117:With sink = timestream it calls only public AWS endpoints (S3, Timestream, Logs), where a VPC would add NAT or endpoints for nothing; with sink = influxdb the dynamic vpc_config below puts it in the instance's VPC.
  #checkov:skip=CKV_AWS_50:X-Ray's PutTraceSegments supports no resource-level permission, and this project grants "*" only to actions that have none and that the auditor cannot do without; the Rust binary emits structured logs and EMF metrics instead.
  #checkov:skip=CKV_AWS_115:One invocation per schedule period; reserved concurrency would carve capacity out of the account pool and fails on accounts at the default quota.
  #checkov:skip=CKV_AWS_173:The environment holds only names, durations and, with InfluxDB, the read token secret's ARN (never the token); Lambda encrypts it at rest with its service key.
  #checkov:skip=CKV_AWS_272:The zip is built locally by cargo-lambda from this repository; no AWS Signer profile exists to sign it.
  function_name    = local.auditor_function_name
  description      = "filetrail auditor: stuck, unprocessed and unrecorded files, every ${var.audit_interval_minutes} minutes."
  role             = aws_iam_role.auditor.arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  filename         = var.auditor_zip_path
  source_code_hash = filebase64sha256(var.auditor_zip_path)
  timeout          = var.auditor_timeout_seconds
  memory_size      = var.auditor_memory_mb

  environment {
    variables = merge(
      local.auditor_environment_common,
      local.timestream_sink ? local.auditor_environment_timestream : local.auditor_environment_influxdb,
      local.auditor_environment_inventory,
    )
  }

  dynamic "vpc_config" {
    for_each = local.influxdb_sink ? [1] : []
    content {
      subnet_ids         = var.influxdb_subnet_ids
      security_group_ids = [aws_security_group.auditor[0].id]
    }
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.auditor.name
    application_log_level = local.lambda_log_level
    system_log_level      = "WARN"
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = alltrue([for u in var.inventory_manifests : var.inventory_bucket_name != null && startswith(u, "s3://${coalesce(var.inventory_bucket_name, "-")}/")])
      error_message = "Every inventory_manifests URL must be in inventory_bucket_name, the one bucket the auditor may read reports from."
    }
    precondition {
      condition     = local.influxdb_sink || var.timestream_table_arn != null
      error_message = "With sink = timestream the auditor queries the trail's table: set timestream_table_arn (and the database and table names)."
    }
    precondition {
      condition     = local.timestream_sink || (var.influxdb_url != null && var.influxdb_token_secret_arn != null && var.influxdb_security_group_id != null && length(var.influxdb_subnet_ids) > 0)
      error_message = "With sink = influxdb the auditor needs influxdb_url, influxdb_token_secret_arn (a read token), influxdb_security_group_id and influxdb_subnet_ids."
    }
  }

  depends_on = [aws_iam_role_policy.auditor]
}

# A failed audit is not retried: the next scheduled one runs within audit_interval_minutes and
# sees the same buckets. An event older than one interval is dropped for the same reason.
resource "aws_lambda_function_event_invoke_config" "auditor" {
  function_name                = aws_lambda_function.auditor.function_name
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = local.alarm_period_seconds
}

# ---------------------------------------------------------------------------------------------
# The schedule: an EventBridge rule on the default bus, as the sorter's sweep.
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_event_rule" "audit" {
  name                = "${local.auditor_function_name}-schedule"
  description         = "Runs the filetrail auditor every ${var.audit_interval_minutes} minutes."
  schedule_expression = local.schedule_expression
  state               = "ENABLED"
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "audit" {
  rule      = aws_cloudwatch_event_rule.audit.name
  target_id = "auditor"
  arn       = aws_lambda_function.auditor.arn

  # A missed audit is made up by the next one; keep retrying only until then.
  retry_policy {
    maximum_retry_attempts       = 3
    maximum_event_age_in_seconds = local.alarm_period_seconds
  }

  dead_letter_config {
    arn = aws_sqs_queue.auditor_schedule_dlq.arn
  }
}

resource "aws_lambda_permission" "audit" {
  statement_id  = "AllowAuditSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.auditor.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.audit.arn
}

# Schedule events EventBridge could not deliver to the function (missing permission, throttling
# past the retry policy). SSE-SQS, as every filetrail queue; only the schedule rule sends to it.
resource "aws_sqs_queue" "auditor_schedule_dlq" {
  name                      = "${local.auditor_function_name}-schedule-dlq"
  sqs_managed_sse_enabled   = true
  message_retention_seconds = 1209600
  tags                      = var.tags
}

data "aws_iam_policy_document" "auditor_schedule_dlq" {
  statement {
    sid       = "OnlyTheAuditScheduleDeadLetters"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.auditor_schedule_dlq.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.audit.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "auditor_schedule_dlq" {
  queue_url = aws_sqs_queue.auditor_schedule_dlq.id
  policy    = data.aws_iam_policy_document.auditor_schedule_dlq.json
}

# ---------------------------------------------------------------------------------------------
# With sink = "influxdb": the auditor's own security group (nothing in; InfluxDB on 8086 and
# HTTPS out), and the instance's group admits it on 8086. Nothing here exists with timestream.
# ---------------------------------------------------------------------------------------------

resource "aws_security_group" "auditor" {
  count       = local.influxdb_sink ? 1 : 0
  name        = local.auditor_function_name
  description = "filetrail auditor Lambda: no ingress, egress to InfluxDB on 8086 and to AWS APIs on 443"
  vpc_id      = var.influxdb_vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_egress_rule" "auditor_to_influxdb" {
  count                        = local.influxdb_sink ? 1 : 0
  security_group_id            = aws_security_group.auditor[0].id
  description                  = "InfluxDB API of the filetrail instance"
  ip_protocol                  = "tcp"
  from_port                    = var.influxdb_port
  to_port                      = var.influxdb_port
  referenced_security_group_id = var.influxdb_security_group_id
  tags                         = var.tags
}

# S3 (the listings) and Secrets Manager (the token) over HTTPS, through a gateway or interface
# endpoint or a NAT gateway; the role, not the network, limits what the auditor may do there.
resource "aws_vpc_security_group_egress_rule" "auditor_to_aws_apis" {
  count             = local.influxdb_sink ? 1 : 0
  security_group_id = aws_security_group.auditor[0].id
  description       = "HTTPS to S3 and Secrets Manager through endpoints or a NAT gateway"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
  tags              = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "influxdb_from_auditor" {
  count                        = local.influxdb_sink ? 1 : 0
  security_group_id            = var.influxdb_security_group_id
  description                  = "InfluxDB API from the filetrail auditor"
  ip_protocol                  = "tcp"
  from_port                    = var.influxdb_port
  to_port                      = var.influxdb_port
  referenced_security_group_id = aws_security_group.auditor[0].id
  tags                         = var.tags
}
