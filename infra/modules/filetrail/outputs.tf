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

output "sink" {
  description = "The store the recorder writes to: timestream or influxdb."
  value       = var.sink
}

output "timestream_database_name" {
  description = "Timestream database (Grafana's $database); null without Timestream."
  value       = one(aws_timestreamwrite_database.this[*].database_name)
}

output "timestream_table_name" {
  description = "Timestream table (Grafana's $table); null without Timestream."
  value       = one(aws_timestreamwrite_table.this[*].table_name)
}

output "timestream_table_arn" {
  description = "ARN of the Timestream table; null without Timestream."
  value       = one(aws_timestreamwrite_table.this[*].arn)
}

output "rejected_data_bucket" {
  description = "Bucket receiving Timestream's magnetic-store rejection reports; null without Timestream."
  value       = one(aws_s3_bucket.rejected_data[*].bucket)
}

output "timestream_rejected_queue_url" {
  description = "URL of the queue holding one message per new magnetic-store rejection report (each names its object in the rejected-data bucket; delete a message once its report is handled); null without Timestream."
  value       = one(aws_sqs_queue.timestream_rejected[*].url)
}

output "influxdb_url" {
  description = "InfluxDB API base URL (FILETRAIL_INFLUXDB_URL of the recorder and of `filetrail history`); null with sink = timestream."
  value       = local.influxdb_url
}

output "influxdb_instance_arn" {
  description = "ARN of the Timestream for InfluxDB instance; null with sink = timestream."
  value       = one(aws_timestreaminfluxdb_db_instance.this[*].arn)
}

output "influxdb_organization" {
  description = "InfluxDB organization the recorder writes to (FILETRAIL_INFLUXDB_ORG); null with sink = timestream."
  value       = one(aws_timestreaminfluxdb_db_instance.this[*].organization)
}

output "influxdb_bucket" {
  description = "InfluxDB bucket the recorder writes to (FILETRAIL_INFLUXDB_BUCKET; the database of InfluxQL queries); null with sink = timestream."
  value       = one(aws_timestreaminfluxdb_db_instance.this[*].bucket)
}

output "influxdb_auth_parameters_secret_arn" {
  description = "Secret (created by Timestream for InfluxDB) holding the admin username, password, organization and bucket, for the token step; null with sink = timestream."
  value       = one(aws_timestreaminfluxdb_db_instance.this[*].influx_auth_parameters_secret_arn)
}

output "influxdb_token_secret_arn" {
  description = "Secret the recorder reads its InfluxDB API token from (put the token here after the first apply when the module created it); null with sink = timestream."
  value       = local.influxdb_token_secret_arn
}

output "influxdb_security_group_id" {
  description = "Security group of the InfluxDB instance (port 8086 from the recorder and influxdb_client_security_group_ids only); null with sink = timestream."
  value       = one(aws_security_group.influxdb[*].id)
}

output "recorder_security_group_id" {
  description = "Security group of the recorder's network interfaces (allow it 443 on your Secrets Manager and SQS interface endpoints); null with sink = timestream."
  value       = one(aws_security_group.recorder[*].id)
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms this module creates."
  value = concat([
    aws_cloudwatch_metric_alarm.recorder_dlq_messages.alarm_name,
    aws_cloudwatch_metric_alarm.target_dlq_messages.alarm_name,
    aws_cloudwatch_metric_alarm.events_oldest_message_age.alarm_name,
    aws_cloudwatch_metric_alarm.recorder_errors.alarm_name,
    aws_cloudwatch_metric_alarm.recorder_failed_records.alarm_name,
    aws_cloudwatch_metric_alarm.recording_lag.alarm_name,
  ], aws_cloudwatch_metric_alarm.timestream_rejected[*].alarm_name)
}
