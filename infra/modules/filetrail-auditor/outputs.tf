output "auditor_function_name" {
  description = "Name of the auditor Lambda (the `function` dimension of its EMF metrics)."
  value       = aws_lambda_function.auditor.function_name
}

output "auditor_function_arn" {
  description = "ARN of the auditor Lambda."
  value       = aws_lambda_function.auditor.arn
}

output "auditor_role_arn" {
  description = "ARN of the auditor's execution role."
  value       = aws_iam_role.auditor.arn
}

output "auditor_log_group_name" {
  description = "Log group holding the auditor's findings (one JSON line each)."
  value       = aws_cloudwatch_log_group.auditor.name
}

output "schedule_rule_arn" {
  description = "ARN of the rule that runs the auditor every audit_interval_minutes."
  value       = aws_cloudwatch_event_rule.audit.arn
}

output "schedule_dlq_url" {
  description = "URL of the DLQ of schedule events EventBridge could not deliver to the auditor."
  value       = aws_sqs_queue.auditor_schedule_dlq.url
}

output "auditor_security_group_id" {
  description = "Security group of the auditor's network interfaces (sink = influxdb: allow it 443 on your S3 and Secrets Manager endpoints); null with sink = timestream."
  value       = one(aws_security_group.auditor[*].id)
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms this module creates."
  value = [
    aws_cloudwatch_metric_alarm.stuck_files.alarm_name,
    aws_cloudwatch_metric_alarm.unprocessed_files.alarm_name,
    aws_cloudwatch_metric_alarm.unrecorded_files.alarm_name,
    aws_cloudwatch_metric_alarm.auditor_errors.alarm_name,
    aws_cloudwatch_metric_alarm.auditor_schedule_dlq_messages.alarm_name,
  ]
}
