output "event_bus_name" {
  description = "Name of the bus the stages publish to (their FILETRAIL_EVENT_BUS)."
  value       = aws_cloudwatch_event_bus.this.name
}

output "event_bus_arn" {
  description = "ARN of the bus."
  value       = aws_cloudwatch_event_bus.this.arn
}

output "event_archive_arn" {
  description = "ARN of the bus archive (replay source for `aws events start-replay`)."
  value       = aws_cloudwatch_event_archive.file_moved.arn
}

output "file_moved_rule_arn" {
  description = "ARN of the rule routing FileMoved events to the events queue."
  value       = aws_cloudwatch_event_rule.file_moved.arn
}

output "events_queue_url" {
  description = "URL of the events queue (the recorder's event source; `filetrail replay --to-queue`)."
  value       = aws_sqs_queue.events.url
}

output "events_queue_arn" {
  description = "ARN of the events queue."
  value       = aws_sqs_queue.events.arn
}

output "recorder_dlq_url" {
  description = "URL of the recorder DLQ (`filetrail replay --from`)."
  value       = aws_sqs_queue.recorder_dlq.url
}

output "recorder_dlq_arn" {
  description = "ARN of the recorder DLQ."
  value       = aws_sqs_queue.recorder_dlq.arn
}

output "target_dlq_url" {
  description = "URL of the EventBridge target DLQ (`filetrail replay --from`)."
  value       = aws_sqs_queue.target_dlq.url
}

output "target_dlq_arn" {
  description = "ARN of the EventBridge target DLQ."
  value       = aws_sqs_queue.target_dlq.arn
}

output "recorder_function_name" {
  description = "Name of the recorder Lambda (the `function` dimension of its EMF metrics)."
  value       = aws_lambda_function.recorder.function_name
}

output "recorder_function_arn" {
  description = "ARN of the recorder Lambda."
  value       = aws_lambda_function.recorder.arn
}

output "recorder_role_arn" {
  description = "ARN of the recorder's execution role."
  value       = aws_iam_role.recorder.arn
}

output "recorder_log_group_name" {
  description = "Log group of the recorder (Grafana's dead-lettered-by-reason panel queries it)."
  value       = aws_cloudwatch_log_group.recorder.name
}

output "timestream_database_name" {
  description = "Timestream database (Grafana's $database)."
  value       = aws_timestreamwrite_database.this.database_name
}

output "timestream_table_name" {
  description = "Timestream table (Grafana's $table)."
  value       = aws_timestreamwrite_table.this.table_name
}

output "timestream_table_arn" {
  description = "ARN of the Timestream table."
  value       = aws_timestreamwrite_table.this.arn
}

output "rejected_data_bucket" {
  description = "Bucket receiving Timestream's magnetic-store rejection reports."
  value       = aws_s3_bucket.rejected_data.bucket
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms this module creates."
  value = [
    aws_cloudwatch_metric_alarm.recorder_dlq_messages.alarm_name,
    aws_cloudwatch_metric_alarm.target_dlq_messages.alarm_name,
    aws_cloudwatch_metric_alarm.events_oldest_message_age.alarm_name,
    aws_cloudwatch_metric_alarm.recorder_errors.alarm_name,
    aws_cloudwatch_metric_alarm.recorder_failed_records.alarm_name,
  ]
}
