# ---------------------------------------------------------------------------------------------
# Naming and tagging
# ---------------------------------------------------------------------------------------------

variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name this module creates (bus, rule, queues, function, alarms)."
  default     = "filetrail"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,30}$", var.name_prefix))
    error_message = "name_prefix must be 2-31 characters of a-z, 0-9 and '-', starting with a letter or digit."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every taggable resource (on top of the provider's default_tags)."
  default     = {}
}

# ---------------------------------------------------------------------------------------------
# Where the recorder writes
# ---------------------------------------------------------------------------------------------

variable "sink" {
  type        = string
  description = "Store the recorder writes to (FILETRAIL_SINK): `timestream` (Timestream for LiveAnalytics, the default) or `influxdb` (a Timestream for InfluxDB instance this module creates in your VPC; see the influxdb_* inputs)."
  default     = "timestream"

  validation {
    condition     = contains(["timestream", "influxdb"], var.sink)
    error_message = "sink must be timestream or influxdb."
  }
}

variable "create_timestream" {
  type        = bool
  description = "Create (or keep) the Timestream database, table and rejected-data bucket (with the queue and alarm that watch it). null = only when sink is timestream. Set true when switching an existing deployment to influxdb, or Terraform destroys the table and the records in it."
  default     = null
}

variable "force_destroy" {
  type        = bool
  description = "Let `terraform destroy` delete the rejected-data bucket with every report (and every version) in it, and the InfluxDB token secret without Secrets Manager's recovery window, so the same names can be created again at once. For development deployments; false keeps both (S3 refuses to delete a bucket that holds objects, and a deleted secret's name stays taken for 30 days)."
  default     = false
}

# ---------------------------------------------------------------------------------------------
# EventBridge: bus, archive, rule, target
# ---------------------------------------------------------------------------------------------

variable "publisher_role_arns" {
  type        = list(string)
  description = "IAM role ARNs allowed to put events on the bus (the stage roles, plus any operator or CLI host role); each needs events:PutEvents on the bus in its own role policy. The bus policy denies every other principal and allows only the roles of other accounts (cross-account access needs both sides)."

  validation {
    condition = length(var.publisher_role_arns) > 0 && alltrue([
      for a in var.publisher_role_arns : can(regex("^arn:aws[a-zA-Z-]*:iam::[0-9]{12}:role/.+$", a))
    ])
    error_message = "publisher_role_arns must list at least one IAM role ARN (arn:aws:iam::123456789012:role/...); wildcards and other principal kinds are not accepted."
  }
}

variable "archive_retention_days" {
  type        = number
  description = "Days the bus archive keeps FileMoved events for replay (0 = indefinitely)."
  default     = 30

  validation {
    condition     = var.archive_retention_days >= 0 && floor(var.archive_retention_days) == var.archive_retention_days
    error_message = "archive_retention_days must be a whole number >= 0."
  }
}

variable "target_maximum_retry_attempts" {
  type        = number
  description = "How often EventBridge retries delivering an event to the queue before it goes to the target DLQ."
  default     = 185

  validation {
    condition     = var.target_maximum_retry_attempts >= 1 && var.target_maximum_retry_attempts <= 185
    error_message = "target_maximum_retry_attempts must be between 1 and 185 (EventBridge's limit)."
  }
}

variable "target_maximum_event_age_seconds" {
  type        = number
  description = "How long EventBridge keeps retrying an undelivered event before it goes to the target DLQ."
  default     = 86400

  validation {
    condition     = var.target_maximum_event_age_seconds >= 60 && var.target_maximum_event_age_seconds <= 86400
    error_message = "target_maximum_event_age_seconds must be between 60 and 86400 (EventBridge's limits)."
  }
}

# ---------------------------------------------------------------------------------------------
# SQS
# ---------------------------------------------------------------------------------------------

variable "events_queue_message_retention_seconds" {
  type        = number
  description = "How long the events queue keeps an undelivered event. Kept below the DLQs' 14 days so a message moved to a DLQ (which keeps its original enqueue time) still has days to be replayed."
  default     = 345600

  validation {
    condition     = var.events_queue_message_retention_seconds >= 60 && var.events_queue_message_retention_seconds <= 864000
    error_message = "events_queue_message_retention_seconds must be between 60 and 864000 (10 days, leaving at least 4 days in the 14-day DLQs)."
  }
}

variable "events_queue_visibility_timeout_seconds" {
  type        = number
  description = "Visibility timeout of the events queue. null = 6 x recorder_timeout_seconds, the minimum AWS recommends for a Lambda event source; a smaller value fails the plan."
  default     = null

  validation {
    condition     = var.events_queue_visibility_timeout_seconds == null ? true : (var.events_queue_visibility_timeout_seconds >= 0 && var.events_queue_visibility_timeout_seconds <= 43200)
    error_message = "events_queue_visibility_timeout_seconds must be between 0 and 43200 (SQS's limit)."
  }
}

variable "max_receive_count" {
  type        = number
  description = "Receives of one message before SQS moves it to the recorder DLQ."
  default     = 5

  validation {
    condition     = var.max_receive_count >= 5 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be between 5 and 1000: fewer receives send messages to the DLQ during ordinary throttling."
  }
}

# ---------------------------------------------------------------------------------------------
# Recorder Lambda and its event source mapping
# ---------------------------------------------------------------------------------------------

variable "recorder_zip_path" {
  type        = string
  description = "Path of the recorder's deployment zip built by `make package` (target/lambda/filetrail-recorder/bootstrap.zip)."

  validation {
    condition     = endswith(var.recorder_zip_path, ".zip")
    error_message = "recorder_zip_path must point to the bootstrap.zip that cargo-lambda builds."
  }
}

variable "architecture" {
  type        = string
  description = "Instruction set of the Lambda zips: arm64 (`make package`) or x86_64 (`make package LAMBDA_ARCH=--x86-64`)."
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "recorder_timeout_seconds" {
  type        = number
  description = "Recorder function timeout. The events queue's visibility timeout follows it (6x)."
  default     = 60

  validation {
    condition     = var.recorder_timeout_seconds >= 5 && var.recorder_timeout_seconds <= 900
    error_message = "recorder_timeout_seconds must be between 5 and 900."
  }
}

variable "recorder_memory_mb" {
  type        = number
  description = "Recorder function memory (also scales its CPU share)."
  default     = 256

  validation {
    condition     = var.recorder_memory_mb >= 128 && var.recorder_memory_mb <= 10240
    error_message = "recorder_memory_mb must be between 128 and 10240."
  }
}

variable "record_layout" {
  type        = string
  description = "FILETRAIL_RECORD_LAYOUT: `seed` keeps the existing dashboards' record shape; `multi` writes one multi-measure record per event."
  default     = "seed"

  validation {
    condition     = contains(["seed", "multi"], var.record_layout)
    error_message = "record_layout must be seed or multi."
  }
}

variable "batch_size" {
  type        = number
  description = "Most SQS messages the event source mapping hands the recorder at once."
  default     = 100

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000
    error_message = "batch_size must be between 1 and 10000."
  }
}

variable "batching_window_seconds" {
  type        = number
  description = "How long the event source mapping gathers messages before invoking (must be >= 1 when batch_size > 10)."
  default     = 5

  validation {
    condition     = var.batching_window_seconds >= 0 && var.batching_window_seconds <= 300
    error_message = "batching_window_seconds must be between 0 and 300."
  }
}

variable "maximum_concurrency" {
  type        = number
  description = "Most concurrent recorder invocations the event source mapping starts (bounds Timestream write load)."
  default     = 5

  validation {
    condition     = var.maximum_concurrency >= 2 && var.maximum_concurrency <= 1000
    error_message = "maximum_concurrency must be between 2 and 1000 (SQS event source limits)."
  }
}

variable "recorder_enabled" {
  type        = bool
  description = "Whether the event source mapping feeds the recorder. false = events wait in the events queue (for the InfluxDB token step after the first apply, or maintenance); the oldest-message alarm tells when they wait too long."
  default     = true
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the recorder's log group."
  default     = 90

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "log_level" {
  type        = string
  description = "Level of the recorder's own logs (RUST_LOG). Lambda's application log level stays at INFO at most (TRACE and DEBUG pass through), since it would drop the level-less EMF metric lines at WARN and above."
  default     = "INFO"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], var.log_level)
    error_message = "log_level must be one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL."
  }
}

# ---------------------------------------------------------------------------------------------
# Timestream
# ---------------------------------------------------------------------------------------------

variable "timestream_database_name" {
  type        = string
  description = "Timestream database (seed name; other missions use {mission}_sdc_aws_logs, development a dev- prefix)."
  default     = "sdc_aws_logs"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{3,256}$", var.timestream_database_name))
    error_message = "timestream_database_name must be 3-256 characters of a-z, A-Z, 0-9, '_', '.', '-'."
  }
}

variable "timestream_table_name" {
  type        = string
  description = "Timestream table (seed name; existing Grafana dashboards query it)."
  default     = "sdc_aws_s3_bucket_log_table"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{3,256}$", var.timestream_table_name))
    error_message = "timestream_table_name must be 3-256 characters of a-z, A-Z, 0-9, '_', '.', '-'."
  }
}

variable "memory_store_retention_hours" {
  type        = number
  description = "Hours a record stays in the memory store. Older records (late or replayed events) go to the magnetic store, which this module always enables."
  default     = 24

  validation {
    condition     = var.memory_store_retention_hours >= 1 && var.memory_store_retention_hours <= 8766
    error_message = "memory_store_retention_hours must be between 1 and 8766."
  }
}

variable "magnetic_store_retention_days" {
  type        = number
  description = "Days a record stays in the magnetic store: the depth of the audit trail, and how late an event may arrive and still be written."
  default     = 3650

  validation {
    condition     = var.magnetic_store_retention_days >= 1 && var.magnetic_store_retention_days <= 73000
    error_message = "magnetic_store_retention_days must be between 1 and 73000."
  }
}

variable "rejected_data_bucket_name" {
  type        = string
  description = "Bucket for Timestream's asynchronous magnetic-store rejection reports. null = {name_prefix}-ts-rejected-{account}-{region}."
  default     = null

  validation {
    condition     = var.rejected_data_bucket_name == null ? true : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.rejected_data_bucket_name))
    error_message = "rejected_data_bucket_name must be a valid S3 bucket name."
  }
}

variable "rejected_data_expiration_days" {
  type        = number
  description = "Days rejection reports are kept in the rejected-data bucket."
  default     = 90

  validation {
    condition     = var.rejected_data_expiration_days >= 1
    error_message = "rejected_data_expiration_days must be at least 1."
  }
}

# ---------------------------------------------------------------------------------------------
# Timestream for InfluxDB (sink = "influxdb")
# ---------------------------------------------------------------------------------------------

variable "influxdb_vpc_id" {
  type        = string
  description = "VPC of the InfluxDB instance and of the recorder (required when sink is influxdb)."
  default     = null

  validation {
    condition     = var.influxdb_vpc_id == null ? true : can(regex("^vpc-[0-9a-f]+$", var.influxdb_vpc_id))
    error_message = "influxdb_vpc_id must be a VPC id (vpc-...)."
  }
}

variable "influxdb_subnet_ids" {
  type        = list(string)
  description = "Private subnets (1 to 3, in influxdb_vpc_id) of the InfluxDB instance and of the recorder's network interfaces; two in different AZs for WITH_MULTIAZ_STANDBY. The recorder reaches Secrets Manager and SQS over HTTPS from them: they need a NAT gateway or interface endpoints for both services."
  default     = []

  validation {
    condition     = length(var.influxdb_subnet_ids) <= 3 && alltrue([for s in var.influxdb_subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))])
    error_message = "influxdb_subnet_ids must list at most 3 subnet ids (subnet-...)."
  }
}

variable "influxdb_client_security_group_ids" {
  type        = list(string)
  description = "Security groups whose members may also reach the instance on port 8086 besides the recorder: the operators' host for the token step and `filetrail history`, Grafana. Never a CIDR."
  default     = []

  validation {
    condition     = alltrue([for g in var.influxdb_client_security_group_ids : can(regex("^sg-[0-9a-f]+$", g))])
    error_message = "influxdb_client_security_group_ids must list security group ids (sg-...)."
  }
}

variable "influxdb_token_secret_arn" {
  type        = string
  description = "Full ARN (with its 6-character suffix) of a Secrets Manager secret holding the recorder's InfluxDB API token (the bare token, or JSON {\"token\": \"...\"}), encrypted with aws/secretsmanager or a key that lets the recorder's role decrypt. null = the module creates an empty secret {name_prefix}/influxdb-token for you to fill after the first apply (see README)."
  default     = null

  validation {
    condition     = var.influxdb_token_secret_arn == null ? true : can(regex("^arn:aws[a-zA-Z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$", var.influxdb_token_secret_arn))
    error_message = "influxdb_token_secret_arn must be the full ARN of one Secrets Manager secret, with its 6-character suffix (IAM matches full ARNs; no wildcards)."
  }
}

variable "influxdb_instance_name" {
  type        = string
  description = "Name of the Timestream for InfluxDB instance (3-40 characters, a letter first, no double hyphens). null = {name_prefix}-influxdb."
  default     = null
}

variable "influxdb_instance_type" {
  type        = string
  description = "Instance type of the InfluxDB instance (db.influx.medium ... db.influx.16xlarge)."
  default     = "db.influx.medium"

  validation {
    condition     = can(regex("^db\\.influx\\.[0-9a-z]+$", var.influxdb_instance_type))
    error_message = "influxdb_instance_type must be a db.influx.* instance type."
  }
}

variable "influxdb_allocated_storage_gib" {
  type        = number
  description = "Storage of the InfluxDB instance in GiB (20-16384; at least 400 with InfluxIOIncludedT2/T3)."
  default     = 20

  validation {
    condition     = var.influxdb_allocated_storage_gib >= 20 && var.influxdb_allocated_storage_gib <= 16384
    error_message = "influxdb_allocated_storage_gib must be between 20 and 16384."
  }
}

variable "influxdb_storage_type" {
  type        = string
  description = "Storage type of the InfluxDB instance: InfluxIOIncludedT1 (3,000 IOPS), T2 (12,000) or T3 (16,000)."
  default     = "InfluxIOIncludedT1"

  validation {
    condition     = contains(["InfluxIOIncludedT1", "InfluxIOIncludedT2", "InfluxIOIncludedT3"], var.influxdb_storage_type)
    error_message = "influxdb_storage_type must be InfluxIOIncludedT1, InfluxIOIncludedT2 or InfluxIOIncludedT3."
  }
}

variable "influxdb_deployment_type" {
  type        = string
  description = "SINGLE_AZ, or WITH_MULTIAZ_STANDBY (needs two subnets in different AZs)."
  default     = "SINGLE_AZ"

  validation {
    condition     = contains(["SINGLE_AZ", "WITH_MULTIAZ_STANDBY"], var.influxdb_deployment_type)
    error_message = "influxdb_deployment_type must be SINGLE_AZ or WITH_MULTIAZ_STANDBY."
  }
}

variable "influxdb_username" {
  type        = string
  description = "Initial admin user of the instance. Its generated password is in the secret of output influxdb_auth_parameters_secret_arn."
  default     = "admin"

  validation {
    condition     = can(regex("^[a-zA-Z]([a-zA-Z0-9]*(-[a-zA-Z0-9]+)*)?$", var.influxdb_username))
    error_message = "influxdb_username must start with a letter and contain no double or trailing hyphen."
  }
}

variable "influxdb_organization" {
  type        = string
  description = "Initial InfluxDB organization (FILETRAIL_INFLUXDB_ORG)."
  default     = "filetrail"

  validation {
    condition     = length(var.influxdb_organization) >= 1 && length(var.influxdb_organization) <= 64
    error_message = "influxdb_organization must be 1-64 characters."
  }
}

variable "influxdb_bucket" {
  type        = string
  description = "Initial InfluxDB bucket the recorder writes to (FILETRAIL_INFLUXDB_BUCKET); InfluxQL reads it as database of the same name."
  default     = "filetrail"

  validation {
    condition     = can(regex("^[^_\"][^\"]{1,63}$", var.influxdb_bucket))
    error_message = "influxdb_bucket must be 2-64 characters, not starting with '_', without '\"'."
  }
}

variable "influxdb_measurement" {
  type        = string
  description = "Measurement the recorder writes (FILETRAIL_INFLUXDB_MEASUREMENT)."
  default     = "file_moved"

  validation {
    condition     = can(regex("^[A-Za-z0-9.-][A-Za-z0-9_.-]{0,127}$", var.influxdb_measurement))
    error_message = "influxdb_measurement must be 1-128 of A-Z, a-z, 0-9, '_', '.', '-', not starting with '_'."
  }
}

variable "influxdb_log_bucket_name" {
  type        = string
  description = "S3 bucket for the InfluxDB engine logs (its policy must let timestream-influxdb.amazonaws.com put objects). null = no log delivery."
  default     = null
}

# ---------------------------------------------------------------------------------------------
# Alarms
# ---------------------------------------------------------------------------------------------

variable "alarm_topic_arn" {
  type        = string
  description = "SNS topic every alarm (and its recovery) notifies."

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:[0-9]{12}:.+$", var.alarm_topic_arn))
    error_message = "alarm_topic_arn must be an SNS topic ARN."
  }
}

variable "oldest_message_alarm_seconds" {
  type        = number
  description = "Alarm when the oldest message in the events queue is older than this: the recorder is not keeping up or keeps failing."
  default     = 900

  validation {
    condition     = var.oldest_message_alarm_seconds >= 60
    error_message = "oldest_message_alarm_seconds must be at least 60."
  }
}

variable "recording_lag_alarm_seconds" {
  type        = number
  description = "Alarm when, for three 5-minute periods in a row, half the events the recorder wrote in an invocation were older than this (occurred_at to written): the trail lags the pipeline."
  default     = 300

  validation {
    condition     = var.recording_lag_alarm_seconds >= 10
    error_message = "recording_lag_alarm_seconds must be at least 10."
  }
}
