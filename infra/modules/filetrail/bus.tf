# ---------------------------------------------------------------------------------------------
# The bus the stages publish to, its archive, and who may publish.
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_event_bus" "this" {
  name = var.name_prefix
  tags = var.tags
}

# Keeps every FileMoved event so a lost stretch can be replayed into the bus; the recorder's
# idempotency absorbs what was already written.
resource "aws_cloudwatch_event_archive" "file_moved" {
  name             = "${var.name_prefix}-file-moved"
  description      = "FileMoved events of the ${var.name_prefix} bus, for replay."
  event_source_arn = aws_cloudwatch_event_bus.this.arn
  event_pattern    = local.file_moved_pattern
  retention_days   = var.archive_retention_days
}

data "aws_iam_policy_document" "bus" {
  statement {
    sid       = "PublishersPutEvents"
    effect    = "Allow"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.this.arn]

    principals {
      type        = "AWS"
      identifiers = var.publisher_role_arns
    }
  }

  # An Allow in a bus policy does not stop other principals of the account whose identity
  # policies allow events:PutEvents; this Deny does. AWS services (none publish here) are left
  # alone so the policy never blocks the service's own machinery.
  statement {
    sid       = "NobodyElsePutsEvents"
    effect    = "Deny"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.this.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "StringNotEquals"
      variable = "aws:PrincipalArn"
      values   = var.publisher_role_arns
    }

    condition {
      test     = "Bool"
      variable = "aws:PrincipalIsAWSService"
      values   = ["false"]
    }
  }
}

resource "aws_cloudwatch_event_bus_policy" "this" {
  event_bus_name = aws_cloudwatch_event_bus.this.name
  policy         = data.aws_iam_policy_document.bus.json
}

# ---------------------------------------------------------------------------------------------
# The rule and its target: FileMoved events into the recorder's queue.
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_event_rule" "file_moved" {
  name           = "${var.name_prefix}-file-moved"
  description    = "Every FileMoved event on the bus, from any publisher the bus policy admits, to the recorder's queue."
  event_bus_name = aws_cloudwatch_event_bus.this.name
  event_pattern  = local.file_moved_pattern
  state          = "ENABLED"
  tags           = var.tags
}

resource "aws_cloudwatch_event_target" "events_queue" {
  rule           = aws_cloudwatch_event_rule.file_moved.name
  event_bus_name = aws_cloudwatch_event_bus.this.name
  target_id      = "recorder-queue"
  arn            = aws_sqs_queue.events.arn

  # The whole envelope goes to the queue (no input transformer): the recorder reads the detail
  # through the contract crate, which knows the envelope.
  retry_policy {
    maximum_retry_attempts       = var.target_maximum_retry_attempts
    maximum_event_age_in_seconds = var.target_maximum_event_age_seconds
  }

  # What EventBridge still cannot deliver lands here with RULE_ARN / TARGET_ARN / ERROR_CODE /
  # ERROR_MESSAGE attributes; `filetrail replay` re-delivers it.
  dead_letter_config {
    arn = aws_sqs_queue.target_dlq.arn
  }
}
