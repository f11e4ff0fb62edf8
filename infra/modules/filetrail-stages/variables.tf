# ---------------------------------------------------------------------------------------------
# Naming and tagging
# ---------------------------------------------------------------------------------------------

variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name this module creates (functions, roles, queues, rule, alarms)."
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
# Where events go
# ---------------------------------------------------------------------------------------------

variable "event_bus_name" {
  type        = string
  description = "Bus the stages publish FileMoved events to (the filetrail module's event_bus_name output)."
}

variable "event_bus_arn" {
  type        = string
  description = "ARN of that bus (the filetrail module's event_bus_arn output); the stage roles may PutEvents on it only."

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/.+$", var.event_bus_arn))
    error_message = "event_bus_arn must be an EventBridge event bus ARN."
  }
}

variable "sorter_event_source" {
  type        = string
  description = "Source of the sorter's events (FILETRAIL_EVENT_SOURCE); its role may publish with no other."
  default     = "sdc.sorter"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,256}$", var.sorter_event_source)) && !startswith(var.sorter_event_source, "aws.")
    error_message = "sorter_event_source must be a source name (A-Z, a-z, 0-9, '.', '_', '-') not starting with 'aws.'."
  }
}

variable "processor_event_source" {
  type        = string
  description = "Source of the processor's events (FILETRAIL_EVENT_SOURCE); its role may publish with no other."
  default     = "sdc.processor"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,256}$", var.processor_event_source)) && !startswith(var.processor_event_source, "aws.")
    error_message = "processor_event_source must be a source name (A-Z, a-z, 0-9, '.', '_', '-') not starting with 'aws.'."
  }
}

# ---------------------------------------------------------------------------------------------
# The mission's buckets (created by the caller; this module only grants access to them)
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
  description = "Instruments of the mission (FILETRAIL_INSTRUMENTS); one instrument bucket each."
  default     = ["eea", "nemisis", "merit", "spani"]

  validation {
    condition     = length(var.instruments) > 0 && alltrue([for i in var.instruments : can(regex("^[a-z0-9][a-z0-9-]{0,30}$", i))])
    error_message = "instruments must be a non-empty list of lower-case names (letters, digits, '-')."
  }
}

variable "bucket_prefix" {
  type        = string
  description = "Prefix of the instrument bucket names (FILETRAIL_BUCKET_PREFIX), e.g. \"dev-\"; empty in production."
  default     = ""

  validation {
    condition     = can(regex("^([a-z0-9][a-z0-9.-]{0,20})?$", var.bucket_prefix))
    error_message = "bucket_prefix must be empty or lower-case letters, digits, '.' and '-' (at most 21)."
  }
}

variable "incoming_bucket_name" {
  type        = string
  description = "Bucket the sorter sorts from (FILETRAIL_INCOMING_BUCKET). null = {bucket_prefix}{mission}-incoming."
  default     = null

  validation {
    condition     = var.incoming_bucket_name == null ? true : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.incoming_bucket_name))
    error_message = "incoming_bucket_name must be a valid S3 bucket name."
  }
}

variable "processor_input_prefix" {
  type        = string
  description = "Key prefix of the files the processor is triggered by (the caller's S3 notification filter)."
  default     = "l0/"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+/$", var.processor_input_prefix))
    error_message = "processor_input_prefix must be one key segment ending in '/', e.g. \"l0/\"."
  }
}

# ---------------------------------------------------------------------------------------------
# The functions
# ---------------------------------------------------------------------------------------------

variable "sorter_zip_path" {
  type        = string
  description = "Path of the sorter's deployment zip built by `make package` (target/lambda/filetrail-sorter/bootstrap.zip)."

  validation {
    condition     = endswith(var.sorter_zip_path, ".zip")
    error_message = "sorter_zip_path must point to the bootstrap.zip that cargo-lambda builds."
  }
}

variable "processor_zip_path" {
  type        = string
  description = "Path of the processor's deployment zip built by `make package` (target/lambda/filetrail-processor/bootstrap.zip)."

  validation {
    condition     = endswith(var.processor_zip_path, ".zip")
    error_message = "processor_zip_path must point to the bootstrap.zip that cargo-lambda builds."
  }
}

variable "processor_process_command" {
  type        = string
  description = "FILETRAIL_PROCESS_COMMAND: absolute path of the command that turns an input file into products, e.g. /opt/bin/process from a layer in processor_layer_arns. The processor refuses to start unless it is an executable file."

  validation {
    condition     = startswith(var.processor_process_command, "/")
    error_message = "processor_process_command must be an absolute path (/opt/... for a layer, /var/task/... inside the package)."
  }
}

variable "processor_layer_arns" {
  type        = list(string)
  description = "Lambda layer versions added to the processor, e.g. the one holding the mission's processing command (it lands under /opt)."
  default     = []

  validation {
    condition     = length(var.processor_layer_arns) <= 5 && alltrue([for a in var.processor_layer_arns : can(regex("^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$", a))])
    error_message = "processor_layer_arns must be at most 5 Lambda layer version ARNs."
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

variable "sorter_timeout_seconds" {
  type        = number
  description = "Sorter timeout: a sweep of a full incoming bucket, or a multipart copy of a large file, must fit."
  default     = 300

  validation {
    condition     = var.sorter_timeout_seconds >= 10 && var.sorter_timeout_seconds <= 900
    error_message = "sorter_timeout_seconds must be between 10 and 900."
  }
}

variable "sorter_memory_mb" {
  type        = number
  description = "Sorter memory."
  default     = 512

  validation {
    condition     = var.sorter_memory_mb >= 128 && var.sorter_memory_mb <= 10240
    error_message = "sorter_memory_mb must be between 128 and 10240."
  }
}

variable "processor_timeout_seconds" {
  type        = number
  description = "Processor timeout: download, processing command and uploads must fit."
  default     = 900

  validation {
    condition     = var.processor_timeout_seconds >= 10 && var.processor_timeout_seconds <= 900
    error_message = "processor_timeout_seconds must be between 10 and 900."
  }
}

variable "processor_memory_mb" {
  type        = number
  description = "Processor memory."
  default     = 1024

  validation {
    condition     = var.processor_memory_mb >= 128 && var.processor_memory_mb <= 10240
    error_message = "processor_memory_mb must be between 128 and 10240."
  }
}

variable "processor_ephemeral_storage_mb" {
  type        = number
  description = "Size of the processor's /tmp, which holds the input file and its products."
  default     = 2048

  validation {
    condition     = var.processor_ephemeral_storage_mb >= 512 && var.processor_ephemeral_storage_mb <= 10240
    error_message = "processor_ephemeral_storage_mb must be between 512 and 10240."
  }
}

variable "sweep_schedule_expression" {
  type        = string
  description = "When the sorter sweeps the incoming bucket for files no notification delivered (EventBridge schedule expression)."
  default     = "rate(15 minutes)"

  validation {
    condition     = can(regex("^(rate|cron)\\(.+\\)$", var.sweep_schedule_expression))
    error_message = "sweep_schedule_expression must be rate(...) or cron(...)."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the stages' log groups."
  default     = 90

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "log_level" {
  type        = string
  description = "Level of the stages' own logs (RUST_LOG). Lambda's application log level stays at INFO at most (TRACE and DEBUG pass through), since it would drop the level-less EMF metric lines at WARN and above."
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
  description = "SNS topic the stage DLQ alarms (and their recovery) notify."

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:[0-9]{12}:.+$", var.alarm_topic_arn))
    error_message = "alarm_topic_arn must be an SNS topic ARN."
  }
}
