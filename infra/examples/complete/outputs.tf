output "event_bus_name" {
  description = "FILETRAIL_EVENT_BUS for `filetrail publish` / `filetrail replay --to-bus`."
  value       = module.filetrail.event_bus_name
}

output "events_queue_url" {
  description = "The recorder's queue (`filetrail replay --to-queue`)."
  value       = module.filetrail.events_queue_url
}

output "recorder_dlq_url" {
  description = "The recorder DLQ (`filetrail dlq`, `filetrail replay --from`)."
  value       = module.filetrail.recorder_dlq_url
}

output "target_dlq_url" {
  description = "The EventBridge target DLQ (`filetrail replay --from`)."
  value       = module.filetrail.target_dlq_url
}

output "sorter_dlq_url" {
  description = "The sorter's async-invocation DLQ."
  value       = module.stages.sorter_dlq_url
}

output "processor_dlq_url" {
  description = "The processor's async-invocation DLQ."
  value       = module.stages.processor_dlq_url
}

output "incoming_bucket" {
  description = "Drop science files here."
  value       = local.incoming_bucket_name
}

output "instrument_buckets" {
  description = "Instrument buckets by instrument."
  value       = local.instrument_bucket_names
}

output "timestream_database_name" {
  description = "Grafana dashboard variable $database."
  value       = module.filetrail.timestream_database_name
}

output "timestream_table_name" {
  description = "Grafana dashboard variable $table."
  value       = module.filetrail.timestream_table_name
}

output "recorder_log_group_name" {
  description = "Log group the dashboard's dead-lettered-by-reason panel queries."
  value       = module.filetrail.recorder_log_group_name
}

output "alarm_topic_arn" {
  description = "SNS topic of every alarm."
  value       = aws_sns_topic.alarms.arn
}

output "influxdb_url" {
  description = "InfluxDB API URL (FILETRAIL_INFLUXDB_URL for `filetrail history`); null with sink = timestream."
  value       = module.filetrail.influxdb_url
}

output "influxdb_auth_parameters_secret_arn" {
  description = "Secret with the InfluxDB admin username and password (the token step); null with sink = timestream."
  value       = module.filetrail.influxdb_auth_parameters_secret_arn
}

output "influxdb_token_secret_arn" {
  description = "Secret the recorder reads its InfluxDB API token from; null with sink = timestream."
  value       = module.filetrail.influxdb_token_secret_arn
}

output "auditor_function_name" {
  description = "The auditor Lambda (the `function` dimension of its stuck_files, unprocessed_files, unrecorded_files and audited_objects metrics)."
  value       = module.auditor.auditor_function_name
}

output "auditor_log_group_name" {
  description = "Log group with the auditor's findings, one JSON line each."
  value       = module.auditor.auditor_log_group_name
}
