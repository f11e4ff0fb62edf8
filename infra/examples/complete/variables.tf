variable "region" {
  type        = string
  description = "AWS region to deploy to (with sink = timestream, one where Timestream for LiveAnalytics is available to the account)."
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "name_prefix" {
  type        = string
  description = "Prefix of the filetrail resource names (bus, queues, functions, alarms)."
  default     = "filetrail"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,30}$", var.name_prefix))
    error_message = "name_prefix must be 2-31 characters of a-z, 0-9 and '-'."
  }
}

variable "mission" {
  type        = string
  description = "Mission name: buckets are {bucket_prefix}{mission}-incoming and {bucket_prefix}{mission}-{instrument}."
  default     = "hermes"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,30}$", var.mission))
    error_message = "mission must be lower-case letters, digits and '-'."
  }
}

variable "instruments" {
  type        = list(string)
  description = "Instruments of the mission, one bucket each."
  default     = ["eea", "nemisis", "merit", "spani"]

  validation {
    condition     = length(var.instruments) > 0
    error_message = "instruments must not be empty."
  }
}

variable "bucket_prefix" {
  type        = string
  description = "Prefix of every bucket name, e.g. \"dev-\". Bucket names are global: pick one nobody else uses."
  default     = "dev-"

  validation {
    condition     = can(regex("^([a-z0-9][a-z0-9.-]{0,20})?$", var.bucket_prefix))
    error_message = "bucket_prefix must be empty or lower-case letters, digits, '.' and '-' (at most 21)."
  }
}

variable "timestream_database_name" {
  type        = string
  description = "Timestream database; the seed name is sdc_aws_logs (development: dev-sdc_aws_logs)."
  default     = "dev-sdc_aws_logs"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{3,256}$", var.timestream_database_name))
    error_message = "timestream_database_name must be 3-256 characters of a-z, A-Z, 0-9, '_', '.', '-'."
  }
}

variable "timestream_table_name" {
  type        = string
  description = "Timestream table; the seed name is sdc_aws_s3_bucket_log_table (development: dev-sdc_aws_s3_bucket_log_table)."
  default     = "dev-sdc_aws_s3_bucket_log_table"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{3,256}$", var.timestream_table_name))
    error_message = "timestream_table_name must be 3-256 characters of a-z, A-Z, 0-9, '_', '.', '-'."
  }
}

variable "architecture" {
  type        = string
  description = "Instruction set the zips were built for: arm64 (`make package`) or x86_64 (`make package LAMBDA_ARCH=--x86-64`)."
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "lambda_zip_dir" {
  type        = string
  description = "Directory holding filetrail-{recorder,sorter,processor,auditor}/bootstrap.zip, as `make package` leaves them (relative to this directory)."
  default     = "../../../target/lambda"
}

variable "processor_process_command" {
  type        = string
  description = "FILETRAIL_PROCESS_COMMAND: the mission's processing command; layers land under /opt."
  default     = "/opt/bin/process"
}

variable "processor_layer_arns" {
  type        = list(string)
  description = "Lambda layer versions holding the processing command (see the README's Deploy section for a layer made from the example command)."
  default     = []
}

variable "extra_publisher_role_arns" {
  type        = list(string)
  description = "Roles besides the stages that may publish to the bus (e.g. the role of a host running `filetrail publish` or `filetrail replay --to-bus`), of this account or another; each needs events:PutEvents on the bus in its own role policy."
  default     = []
}

variable "alarm_email" {
  type        = string
  description = "Address subscribed to the alarm topic (confirm the e-mail AWS sends). null = no subscription."
  default     = null
}

variable "sink" {
  type        = string
  description = "Where the recorder writes: timestream (Timestream for LiveAnalytics) or influxdb (a Timestream for InfluxDB instance in influxdb_vpc_id, for accounts without LiveAnalytics)."
  default     = "timestream"

  validation {
    condition     = contains(["timestream", "influxdb"], var.sink)
    error_message = "sink must be timestream or influxdb."
  }
}

variable "create_timestream" {
  type        = bool
  description = "Create (or keep) the Timestream database, table and rejected-data bucket. null = only with sink = timestream. Set true before switching an existing deployment to influxdb: otherwise the apply destroys the table and every record in it."
  default     = null
}

variable "force_destroy" {
  type        = bool
  description = "Let `terraform destroy` delete the mission buckets and the rejected-data bucket with all their objects and versions, and the InfluxDB token secret without a recovery window, so the example can be destroyed and applied again under the same names. Development only: with true, a destroy deletes every science file in the buckets. false keeps them (the destroy then stops at the first non-empty bucket)."
  default     = false
}

variable "recorder_enabled" {
  type        = bool
  description = "Whether the recorder consumes the events queue. With influxdb, apply first with false, put the API token into the token secret, then apply with true (README)."
  default     = true
}

variable "influxdb_vpc_id" {
  type        = string
  description = "VPC of the InfluxDB instance and the recorder (sink = influxdb)."
  default     = null
}

variable "influxdb_subnet_ids" {
  type        = list(string)
  description = "1-3 private subnets of influxdb_vpc_id, in different AZs (sink = influxdb)."
  default     = []
}

variable "influxdb_client_security_group_ids" {
  type        = list(string)
  description = "Security groups (operator host, Grafana) that may reach InfluxDB on port 8086 besides the recorder."
  default     = []
}

variable "influxdb_token_secret_arn" {
  type        = string
  description = "Existing Secrets Manager secret with the recorder's InfluxDB API token. null = the module creates an empty one to fill after the first apply."
  default     = null
}

variable "create_vpc_endpoints" {
  type        = bool
  description = "With sink = influxdb: create Secrets Manager and SQS interface endpoints (private DNS) in influxdb_subnet_ids. Leave false when the subnets have a NAT gateway or the VPC already has these endpoints."
  default     = false
}

variable "audit_interval_minutes" {
  type        = number
  description = "Minutes between audits by the auditor Lambda (and the period of its alarms)."
  default     = 15
}

variable "audit_older_than_minutes" {
  type        = number
  description = "An incoming file older than this is stuck; an l0 file without products older than this is unprocessed."
  default     = 15
}

variable "audit_since_hours" {
  type        = number
  description = "Objects of the instrument buckets modified within this many hours are checked for a PUT record."
  default     = 24
}

variable "audit_inventory_bucket_name" {
  type        = string
  description = "Bucket with S3 Inventory reports the auditor may read instead of listing large buckets. null = list."
  default     = null
}

variable "audit_inventory_manifests" {
  type        = list(string)
  description = "s3:// URLs of the S3 Inventory manifest.json files the auditor reads instead of listing those buckets (all in audit_inventory_bucket_name). [] = list."
  default     = []
}

variable "auditor_influxdb_token_secret_arn" {
  type        = string
  description = "With sink = influxdb: Secrets Manager secret holding an InfluxDB API token that may read the bucket, for the auditor (README). Required with influxdb."
  default     = null
}
