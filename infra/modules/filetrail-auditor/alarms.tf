# ---------------------------------------------------------------------------------------------
# Alarms on the auditor's EMF counts (namespace filetrail, dimension function = the deployed
# function's name, infra/emf-metrics.json), one period per audit. Stuck and unprocessed files
# alarm after two audits in a row (a file sorted or processed between two audits is not a
# finding); one unrecorded file alarms at once (a producer that does not publish leaves a hole
# in the trail that no later move fills). treat_missing_data = "missing": an audit that reports
# a little late leaves one period empty, and CloudWatch then evaluates the datapoints that exist
# instead of counting the gap as good ("does not consider missing data points when evaluating
# whether to change state"); with no audit at all the alarm goes to INSUFFICIENT_DATA, and the
# Errors and schedule DLQ alarms say why
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html).
# All notify var.alarm_topic_arn, on alarm and on recovery.
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "stuck_files" {
  alarm_name          = "${local.auditor_function_name}-stuck-files"
  alarm_description   = "Files have waited in ${local.incoming_bucket_name} longer than ${var.older_than_minutes} minutes for two audits in a row (EMF metric filetrail/stuck_files). Run `filetrail audit` for the list; an unparsable name never sorts, rename or remove it."
  namespace           = "filetrail"
  metric_name         = "stuck_files"
  dimensions          = { function = aws_lambda_function.auditor.function_name }
  statistic           = "Maximum"
  period              = local.alarm_period_seconds
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "missing"
  actions_enabled     = true
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "unprocessed_files" {
  alarm_name          = "${local.auditor_function_name}-unprocessed-files"
  alarm_description   = "Level-0 files older than ${var.older_than_minutes} minutes have no recorded product for two audits in a row (EMF metric filetrail/unprocessed_files): the processing command failed or the processor never ran. Run `filetrail audit`, check the processor's log group and DLQ."
  namespace           = "filetrail"
  metric_name         = "unprocessed_files"
  dimensions          = { function = aws_lambda_function.auditor.function_name }
  statistic           = "Maximum"
  period              = local.alarm_period_seconds
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "missing"
  actions_enabled     = true
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "unrecorded_files" {
  alarm_name          = "${local.auditor_function_name}-unrecorded-files"
  alarm_description   = "Objects written to an instrument bucket in the last ${var.since_hours} hours have no PUT record in the trail (EMF metric filetrail/unrecorded_files): a producer that does not publish, or lost events. Run `filetrail audit`, then `filetrail publish` the moves."
  namespace           = "filetrail"
  metric_name         = "unrecorded_files"
  dimensions          = { function = aws_lambda_function.auditor.function_name }
  statistic           = "Maximum"
  period              = local.alarm_period_seconds
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "missing"
  actions_enabled     = true
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}

# The auditor fails its invocation for errors (configuration, access, the store unreachable),
# never for findings.
resource "aws_cloudwatch_metric_alarm" "auditor_errors" {
  alarm_name          = "${local.auditor_function_name}-errors"
  alarm_description   = "Audits by ${aws_lambda_function.auditor.function_name} failed (configuration, access, ${local.store_name} unreachable, timeout): the audit counts are missing. Check its log group."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.auditor.function_name }
  statistic           = "Sum"
  period              = local.alarm_period_seconds
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "auditor_schedule_dlq_messages" {
  alarm_name          = "${local.auditor_function_name}-schedule-dlq-messages"
  alarm_description   = "EventBridge could not invoke the auditor; the schedule events wait in ${aws_sqs_queue.auditor_schedule_dlq.name} with ERROR_CODE attributes. No audit ran: check the function's permission and state."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.auditor_schedule_dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}
