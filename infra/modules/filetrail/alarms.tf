# ---------------------------------------------------------------------------------------------
# Alarms: every DLQ that holds messages, Timestream's asynchronous rejections, the age of the
# oldest queued event, recorder errors.
# All notify var.alarm_topic_arn, on alarm and on recovery.
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "recorder_dlq_messages" {
  alarm_name          = "${var.name_prefix}-recorder-dlq-messages"
  alarm_description   = "Events the recorder could never write wait in ${aws_sqs_queue.recorder_dlq.name}. Inspect with `filetrail dlq`, fix the cause, replay with `filetrail replay`."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.recorder_dlq.name }
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

resource "aws_cloudwatch_metric_alarm" "target_dlq_messages" {
  alarm_name          = "${var.name_prefix}-target-dlq-messages"
  alarm_description   = "EventBridge could not deliver FileMoved events to the events queue; they wait in ${aws_sqs_queue.target_dlq.name} with ERROR_CODE attributes. Replay with `filetrail replay`."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.target_dlq.name }
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

# Timestream's asynchronous magnetic-store rejections (timestream.tf): each new report object in
# the rejected-data bucket is a message in the rejected queue, which nothing consumes. The alarm
# stays on until an operator deletes the messages (or they expire after 14 days).
resource "aws_cloudwatch_metric_alarm" "timestream_rejected" {
  count               = local.create_timestream ? 1 : 0
  alarm_name          = "${var.name_prefix}-timestream-rejected"
  alarm_description   = "Timestream's magnetic store reported records it rejected after WriteRecords had accepted them (the recorder counted them written). Not always a loss: AWS rejects there every magnetic-store update whose version is not above the stored record's, so an identical re-write of a stored record (a retry, a duplicate, a replay) is reported too. Each message in ${aws_sqs_queue.timestream_rejected[0].name} names a report object in s3://${aws_s3_bucket.rejected_data[0].bucket}/ (Records[].s3.object.key). Read the report's reason first (module README, runbook): check with `filetrail history` whether the record is stored; replay only the events it names that replaying can store (`filetrail publish`), never an archive window (it re-sends every event and brings more reports); then delete the message. An s3:TestEvent message is S3 testing the notification after an apply: delete it."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.timestream_rejected[0].name }
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

resource "aws_cloudwatch_metric_alarm" "events_oldest_message_age" {
  alarm_name          = "${var.name_prefix}-events-oldest-message-age"
  alarm_description   = "The oldest event in ${aws_sqs_queue.events.name} is older than ${var.oldest_message_alarm_seconds} s: the recorder is failing or not keeping up."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.events.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.oldest_message_alarm_seconds
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "recorder_errors" {
  alarm_name          = "${var.name_prefix}-recorder-errors"
  alarm_description   = "Invocations of ${aws_lambda_function.recorder.function_name} failed as a whole (bad configuration, crash, timeout). Check its log group."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.recorder.function_name }
  statistic           = "Sum"
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

# The recorder's own EMF count of messages it handed back to SQS for redelivery
# (batchItemFailures: store throttling or outage). They are not lost, but three 5-minute
# periods in a row with such messages mean the store is not taking writes.
resource "aws_cloudwatch_metric_alarm" "recorder_failed_records" {
  alarm_name          = "${var.name_prefix}-recorder-failed-records"
  alarm_description   = "${aws_lambda_function.recorder.function_name} keeps handing records back to SQS (EMF metric filetrail/failed): ${local.store_name} is throttling or unavailable."
  namespace           = "filetrail"
  metric_name         = "failed"
  dimensions          = { function = aws_lambda_function.recorder.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}

# The recorder's EMF lag metrics (per invocation: occurred_at -> written, p50 and max, ms). The
# median of an invocation, not its maximum: one late event (a retried sort, a replay) must not
# alarm, a trail that falls behind for three 5-minute periods in a row must. No invocation means
# nothing to record (notBreaching); a recorder that stops while events wait is the oldest-message
# alarm's.
resource "aws_cloudwatch_metric_alarm" "recording_lag" {
  alarm_name          = "${var.name_prefix}-recording-lag"
  alarm_description   = "Half the events ${aws_lambda_function.recorder.function_name} wrote were older than ${var.recording_lag_alarm_seconds} s when written (EMF metric filetrail/recording_lag_p50_ms), for 15 minutes: the trail lags the pipeline (queue backlog, ${local.store_name} throttling). A `filetrail replay` or `publish` of old moves raises it too."
  namespace           = "filetrail"
  metric_name         = "recording_lag_p50_ms"
  dimensions          = { function = aws_lambda_function.recorder.function_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.recording_lag_alarm_seconds * 1000
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}
