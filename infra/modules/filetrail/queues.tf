# Encryption of every queue: SSE-SQS (sqs_managed_sse_enabled). EventBridge can deliver to an
# SSE-SQS queue without KMS grants, which it cannot do with the AWS-managed aws/sqs key; a
# customer-managed key would add a key policy and per-call KMS cost without narrowing who can
# read or send, which the queue policies and the recorder's role already restrict.

# ---------------------------------------------------------------------------------------------
# The events queue: the rule's target, the recorder's event source.
# ---------------------------------------------------------------------------------------------

resource "aws_sqs_queue" "events" {
  name                       = "${var.name_prefix}-events"
  sqs_managed_sse_enabled    = true
  message_retention_seconds  = var.events_queue_message_retention_seconds
  visibility_timeout_seconds = local.events_queue_visibility_timeout_seconds
  receive_wait_time_seconds  = 20

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.recorder_dlq.arn
    maxReceiveCount     = var.max_receive_count
  })

  tags = var.tags

  lifecycle {
    precondition {
      condition     = local.events_queue_visibility_timeout_seconds >= 6 * var.recorder_timeout_seconds
      error_message = "The events queue's visibility timeout must be at least 6 x recorder_timeout_seconds, or messages in flight are redelivered while the recorder still works on them."
    }
  }
}

data "aws_iam_policy_document" "events_queue" {
  statement {
    sid       = "OnlyTheFileMovedRuleSends"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.events.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.file_moved.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "events" {
  queue_url = aws_sqs_queue.events.id
  policy    = data.aws_iam_policy_document.events_queue.json
}

# ---------------------------------------------------------------------------------------------
# The recorder DLQ: redrive target of the events queue (after max_receive_count receives) and
# where the recorder itself sends what can never be written, with filetrail.reason attributes.
# ---------------------------------------------------------------------------------------------

resource "aws_sqs_queue" "recorder_dlq" {
  name                      = "${var.name_prefix}-recorder-dlq"
  sqs_managed_sse_enabled   = true
  message_retention_seconds = local.dead_letter_retention_seconds
  tags                      = var.tags
}

resource "aws_sqs_queue_redrive_allow_policy" "recorder_dlq" {
  queue_url = aws_sqs_queue.recorder_dlq.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.events.arn]
  })
}

# ---------------------------------------------------------------------------------------------
# The EventBridge target DLQ: events the rule could not deliver to the events queue.
# ---------------------------------------------------------------------------------------------

resource "aws_sqs_queue" "target_dlq" {
  name                      = "${var.name_prefix}-target-dlq"
  sqs_managed_sse_enabled   = true
  message_retention_seconds = local.dead_letter_retention_seconds
  tags                      = var.tags
}

data "aws_iam_policy_document" "target_dlq" {
  statement {
    sid       = "OnlyTheFileMovedRuleDeadLetters"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.target_dlq.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.file_moved.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "target_dlq" {
  queue_url = aws_sqs_queue.target_dlq.id
  policy    = data.aws_iam_policy_document.target_dlq.json
}
