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

# Who may publish. Same-account publishers need no Allow here: within one account a request is
# allowed when the identity policy or the resource policy allows it, and the stage roles'
# identity policies allow PutEvents on this bus
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html,
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-perms.html). An Allow
# naming them as principals would also fail the first apply: AWS resolves a role ARN in a
# Principal element to the role's unique id when the policy is saved and refuses ARNs it cannot
# resolve yet ("invalid principal"), and the roles are created in the same apply
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-roles).
# What restricts publishing is the Deny below, whose aws:PrincipalArn condition is a string
# compared per request, not resolved when the policy is saved. Only roles of other accounts, which
# the cross-account evaluation requires the bus policy to allow, get an Allow (they exist already).
locals {
  cross_account_publisher_arns = [
    for arn in var.publisher_role_arns : arn if split(":", arn)[4] != data.aws_caller_identity.current.account_id
  ]
}

data "aws_iam_policy_document" "bus" {
  dynamic "statement" {
    for_each = length(local.cross_account_publisher_arns) > 0 ? [local.cross_account_publisher_arns] : []
    content {
      sid       = "OtherAccountPublishersPutEvents"
      effect    = "Allow"
      actions   = ["events:PutEvents"]
      resources = [aws_cloudwatch_event_bus.this.arn]

      principals {
        type        = "AWS"
        identifiers = statement.value
      }
    }
  }

  # This Deny restricts publishing: every other principal, even one of this account whose
  # identity policy allows events:PutEvents, is refused (an explicit Deny overrides any Allow).
  # AWS services (none publish here) are left alone so the policy never blocks the service's
  # own machinery.
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
