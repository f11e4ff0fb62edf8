output "sorter_function_name" {
  description = "Name of the sorter Lambda."
  value       = aws_lambda_function.sorter.function_name
}

output "sorter_function_arn" {
  description = "ARN of the sorter Lambda (target of the incoming bucket's notification)."
  value       = aws_lambda_function.sorter.arn
}

output "sorter_role_arn" {
  description = "ARN of the sorter's execution role (a publisher on the bus)."
  value       = aws_iam_role.sorter.arn
}

output "processor_function_name" {
  description = "Name of the processor Lambda."
  value       = aws_lambda_function.processor.function_name
}

output "processor_function_arn" {
  description = "ARN of the processor Lambda (target of the instrument buckets' notifications)."
  value       = aws_lambda_function.processor.arn
}

output "processor_role_arn" {
  description = "ARN of the processor's execution role (a publisher on the bus)."
  value       = aws_iam_role.processor.arn
}

output "incoming_bucket_name" {
  description = "The incoming bucket the sorter sorts from."
  value       = local.incoming_bucket_name
}

output "instrument_bucket_names" {
  description = "Instrument bucket names by instrument, as the sorter derives them."
  value       = local.instrument_bucket_names
}

output "processor_input_prefix" {
  description = "Key prefix the caller's instrument-bucket notifications must filter on."
  value       = var.processor_input_prefix
}

output "sorter_dlq_url" {
  description = "URL of the sorter's async-invocation DLQ."
  value       = aws_sqs_queue.sorter_dlq.url
}

output "processor_dlq_url" {
  description = "URL of the processor's async-invocation DLQ."
  value       = aws_sqs_queue.processor_dlq.url
}

output "sweep_rule_arn" {
  description = "ARN of the sorter's sweep schedule rule."
  value       = aws_cloudwatch_event_rule.sweep.arn
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms this module creates."
  value = [
    aws_cloudwatch_metric_alarm.sorter_dlq_messages.alarm_name,
    aws_cloudwatch_metric_alarm.processor_dlq_messages.alarm_name,
  ]
}
