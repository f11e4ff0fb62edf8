# Messages in a stage DLQ are S3 notifications (or sweeps) whose invocation failed for good.

resource "aws_cloudwatch_metric_alarm" "sorter_dlq_messages" {
  alarm_name          = "${var.name_prefix}-sorter-dlq-messages"
  alarm_description   = "Sorter invocations failed for good and wait in ${aws_sqs_queue.sorter_dlq.name}. The files stay in the incoming bucket; check the sorter's log group."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.sorter_dlq.name }
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

resource "aws_cloudwatch_metric_alarm" "processor_dlq_messages" {
  alarm_name          = "${var.name_prefix}-processor-dlq-messages"
  alarm_description   = "Processor invocations failed for good and wait in ${aws_sqs_queue.processor_dlq.name}; their input files were not processed. Check the processor's log group."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.processor_dlq.name }
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
