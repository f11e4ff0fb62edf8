# ---------------------------------------------------------------------------------------------
# Naming and tagging
# ---------------------------------------------------------------------------------------------

variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name this module creates (function, role, rule, queue, alarms)."
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
# The mission's buckets (the auditor only lists them)
# ---------------------------------------------------------------------------------------------

variable "mission" {
  type        = string
  description = "Mission name (FILETRAIL_MISSION): instrument buckets are {bucket_prefix}{mission}-{instrument}."
  default     = "hermes"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,30}$", var.mission))
    error_message = "mission must be lower-case letters, digits and '-' (it is part of bucket names)."
  }
}

variable "instruments" {
  type        = list(string)
  description = "Instruments of the mission (FILETRAIL_INSTRUMENTS); one instrument bucket each, all audited."
  default     = ["eea", "nemisis", "merit", "spani"]

  validation {
    condition     = length(var.instruments) > 0 && alltrue([for i in var.instruments : can(regex("^[a-z0-9][a-z0-9-]{0,30}$", i))])
    error_message = "instruments must be a non-empty list of lower-case names (letters, digits, '-')."
  }
}

variable "bucket_prefix" {
  type        = string
  description = "Prefix of the bucket names (FILETRAIL_BUCKET_PREFIX), e.g. \"dev-\"; empty in production."
  default     = ""

  validation {
    condition     = can(regex("^([a-z0-9][a-z0-9.-]{0,20})?$", var.bucket_prefix))
    error_message = "bucket_prefix must be empty or lower-case letters, digits, '.' and '-' (at most 21)."
  }
}

variable "incoming_bucket_name" {
  type        = string
  description = "Bucket files land in (FILETRAIL_INCOMING_BUCKET), audited for stuck files. null = {bucket_prefix}{mission}-incoming."
  default     = null

  validation {
    condition     = var.incoming_bucket_name == null ? true : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.incoming_bucket_name))
    error_message = "incoming_bucket_name must be a valid S3 bucket name."
  }
}

variable "inventory_bucket_name" {
  type        = string
  description = "Bucket holding the S3 Inventory reports the auditor reads (s3:GetObject on its objects, nothing else). null = no inventory: every bucket is listed."
  default     = null

  validation {
    condition     = var.inventory_bucket_name == null ? true : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.inventory_bucket_name))
    error_message = "inventory_bucket_name must be a valid S3 bucket name."
  }
}

variable "inventory_manifests" {
  type        = list(string)
  description = "FILETRAIL_AUDIT_INVENTORY: s3:// URLs of S3 Inventory manifests (manifest.json, one per large bucket, all in inventory_bucket_name) read instead of listing those buckets. [] = list every bucket."
  default     = []

  validation {
    condition     = alltrue([for u in var.inventory_manifests : can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+manifest\\.json$", u))])
    error_message = "inventory_manifests must be s3://bucket/.../manifest.json URLs."
  }
}

# ---------------------------------------------------------------------------------------------
# What an audit checks
# ---------------------------------------------------------------------------------------------

variable "audit_interval_minutes" {
  type        = number
  description = "Minutes between audits (the schedule's rate) and the period of the audit alarms, which alarm after two (stuck, unprocessed) or one (unrecorded) audits with findings."
  default     = 15

  validation {
    condition     = var.audit_interval_minutes >= 5 && var.audit_interval_minutes <= 60 && floor(var.audit_interval_minutes) == var.audit_interval_minutes
    error_message = "audit_interval_minutes must be a whole number between 5 and 60."
  }
}

variable "older_than_minutes" {
  type        = number
  description = "FILETRAIL_AUDIT_OLDER_THAN (`--older-than`): a file waiting longer than this in incoming is stuck, an l0 file without products longer than this is unprocessed."
  default     = 15

  validation {
    condition     = var.older_than_minutes >= 1 && floor(var.older_than_minutes) == var.older_than_minutes
    error_message = "older_than_minutes must be a whole number of at least 1."
  }
}

variable "since_hours" {
  type        = number
  description = "FILETRAIL_AUDIT_SINCE (`--since`): objects of the instrument buckets modified within this many hours are checked for a PUT record."
  default     = 24

  validation {
    condition     = var.since_hours >= 1 && floor(var.since_hours) == var.since_hours
    error_message = "since_hours must be a whole number of at least 1."
  }
}

# ---------------------------------------------------------------------------------------------
# The trail: Timestream (default) or InfluxDB, as the recorder writes it
# ---------------------------------------------------------------------------------------------

variable "sink" {
  type        = string
  description = "Where the trail is read: timestream (Timestream for LiveAnalytics) or influxdb (the filetrail module's InfluxDB instance; the auditor then runs in its VPC)."
  default     = "timestream"

  validation {
    condition     = contains(["timestream", "influxdb"], var.sink)
    error_message = "sink must be timestream or influxdb."
  }
}

variable "timestream_database_name" {
  type        = string
  description = "FILETRAIL_TIMESTREAM_DATABASE (sink = timestream): the filetrail module's timestream_database_name output."
  default     = "sdc_aws_logs"
}

variable "timestream_table_name" {
  type        = string
  description = "FILETRAIL_TIMESTREAM_TABLE (sink = timestream): the filetrail module's timestream_table_name output."
  default     = "sdc_aws_s3_bucket_log_table"
}

variable "timestream_table_arn" {
  type        = string
  description = "ARN of that table (the filetrail module's timestream_table_arn output): the auditor may timestream:Select on it only. Required with sink = timestream."
  default     = null

  validation {
    condition     = var.timestream_table_arn == null ? true : can(regex("^arn:aws[a-zA-Z-]*:timestream:[a-z0-9-]+:[0-9]{12}:database/.+/table/.+$", var.timestream_table_arn))
    error_message = "timestream_table_arn must be a Timestream table ARN."
  }
}

variable "record_layout" {
  type        = string
  description = "FILETRAIL_RECORD_LAYOUT: the layout the recorder writes (seed or multi), which the auditor's queries read."
  default     = "seed"

  validation {
    condition     = contains(["seed", "multi"], var.record_layout)
    error_message = "record_layout must be seed or multi."
  }
}

variable "influxdb_url" {
  type        = string
  description = "FILETRAIL_INFLUXDB_URL (sink = influxdb): the filetrail module's influxdb_url output."
  default     = null
}

variable "influxdb_organization" {
  type        = string
  description = "FILETRAIL_INFLUXDB_ORG (sink = influxdb): the filetrail module's influxdb_organization output."
  default     = null
}

variable "influxdb_bucket" {
  type        = string
  description = "FILETRAIL_INFLUXDB_BUCKET (sink = influxdb): the filetrail module's influxdb_bucket output."
  default     = null
}

variable "influxdb_measurement" {
  type        = string
  description = "FILETRAIL_INFLUXDB_MEASUREMENT (sink = influxdb): the recorder's measurement."
  default     = "file_moved"
}

variable "influxdb_token_secret_arn" {
  type        = string
  description = "Secrets Manager secret with an InfluxDB API token that may read the bucket (sink = influxdb; not the recorder's write-only token). The auditor reads this one secret at start-up."
  default     = null

  validation {
    condition     = var.influxdb_token_secret_arn == null ? true : can(regex("^arn:aws[a-zA-Z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$", var.influxdb_token_secret_arn))
    error_message = "influxdb_token_secret_arn must be a Secrets Manager secret ARN (with its 6-character suffix)."
  }
}

variable "influxdb_vpc_id" {
  type        = string
  description = "VPC of the InfluxDB instance, where the auditor runs (sink = influxdb)."
  default     = null
}

variable "influxdb_subnet_ids" {
  type        = list(string)
  description = "Private subnets the auditor runs in (sink = influxdb): the instance's. They need a route to S3 and Secrets Manager (endpoints or a NAT gateway)."
  default     = []

  validation {
    condition     = alltrue([for s in var.influxdb_subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))])
    error_message = "influxdb_subnet_ids must be subnet ids (subnet-...)."
  }
}

variable "influxdb_security_group_id" {
  type        = string
  description = "Security group of the InfluxDB instance (the filetrail module's influxdb_security_group_id output); this module adds a rule admitting the auditor on influxdb_port."
  default     = null

  validation {
    condition     = var.influxdb_security_group_id == null ? true : can(regex("^sg-[0-9a-f]+$", var.influxdb_security_group_id))
    error_message = "influxdb_security_group_id must be a security group id (sg-...)."
  }
}

variable "influxdb_port" {
  type        = number
  description = "Port of the InfluxDB API."
  default     = 8086
}

# ---------------------------------------------------------------------------------------------
# The function
# ---------------------------------------------------------------------------------------------

variable "auditor_zip_path" {
  type        = string
  description = "Path of the auditor's deployment zip built by `make package` (target/lambda/filetrail-auditor/bootstrap.zip)."

  validation {
    condition     = endswith(var.auditor_zip_path, ".zip")
    error_message = "auditor_zip_path must point to the bootstrap.zip that cargo-lambda builds."
  }
}

variable "architecture" {
  type        = string
  description = "Instruction set of the Lambda zip: arm64 (`make package`) or x86_64 (`make package LAMBDA_ARCH=--x86-64`)."
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "auditor_timeout_seconds" {
  type        = number
  description = "Auditor timeout: the listings of every bucket and the trail queries must fit."
  default     = 300

  validation {
    condition     = var.auditor_timeout_seconds >= 10 && var.auditor_timeout_seconds <= 900
    error_message = "auditor_timeout_seconds must be between 10 and 900."
  }
}

variable "auditor_memory_mb" {
  type        = number
  description = "Auditor memory: it keeps one page of keys per bucket and the findings."
  default     = 512

  validation {
    condition     = var.auditor_memory_mb >= 128 && var.auditor_memory_mb <= 10240
    error_message = "auditor_memory_mb must be between 128 and 10240."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the auditor's log group (its findings, one JSON line each)."
  default     = 90

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "log_level" {
  type        = string
  description = "Level of the auditor's own logs (RUST_LOG). Lambda's application log level stays at INFO at most (TRACE and DEBUG pass through), since it would drop the level-less EMF metric lines at WARN and above."
  default     = "INFO"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], var.log_level)
    error_message = "log_level must be one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL."
  }
}

# ---------------------------------------------------------------------------------------------
# Alarms
# ---------------------------------------------------------------------------------------------

variable "alarm_topic_arn" {
  type        = string
  description = "SNS topic the audit alarms (and their recovery) notify."

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:[0-9]{12}:.+$", var.alarm_topic_arn))
    error_message = "alarm_topic_arn must be an SNS topic ARN."
  }
}
