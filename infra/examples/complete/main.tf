# A complete filetrail deployment for one mission: the buckets and their notifications, the
# alarm topic, the filetrail core (bus -> queue -> recorder -> Timestream, or a Timestream for
# InfluxDB instance in your VPC with sink = "influxdb") and the two stages.
#
#   make package                                  # builds target/lambda/*/bootstrap.zip
#   terraform -chdir=infra/examples/complete init
#   terraform -chdir=infra/examples/complete apply

data "aws_caller_identity" "current" {}

locals {
  zip = {
    recorder  = "${var.lambda_zip_dir}/filetrail-recorder/bootstrap.zip"
    sorter    = "${var.lambda_zip_dir}/filetrail-sorter/bootstrap.zip"
    processor = "${var.lambda_zip_dir}/filetrail-processor/bootstrap.zip"
    auditor   = "${var.lambda_zip_dir}/filetrail-auditor/bootstrap.zip"
  }

  # Bucket names come from the stages module, which derives them exactly as the sorter does.
  incoming_bucket_name    = module.stages.incoming_bucket_name
  instrument_bucket_names = module.stages.instrument_bucket_names
  all_bucket_names        = merge({ incoming = local.incoming_bucket_name }, local.instrument_bucket_names)

  # The stages publish with these sources; the rule routes every FileMoved whatever its source.
  sorter_event_source    = "sdc.sorter"
  processor_event_source = "sdc.processor"
}

# ---------------------------------------------------------------------------------------------
# Alarm notifications
# ---------------------------------------------------------------------------------------------

resource "aws_sns_topic" "alarms" {
  #checkov:skip=CKV_AWS_26:Alarm notifications carry only alarm names, states and metric values. CloudWatch cannot publish to a topic encrypted with the AWS-managed aws/sns key, and a customer-managed key needs a key policy whose Resource must be "*", which this project's IAM invariant keeps out.
  name = "${var.name_prefix}-alarms"
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count     = var.alarm_email == null ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# ---------------------------------------------------------------------------------------------
# filetrail
# ---------------------------------------------------------------------------------------------

module "filetrail" {
  source = "../../modules/filetrail"

  name_prefix              = var.name_prefix
  publisher_role_arns      = concat([module.stages.sorter_role_arn, module.stages.processor_role_arn], var.extra_publisher_role_arns)
  recorder_zip_path        = local.zip.recorder
  architecture             = var.architecture
  timestream_database_name = var.timestream_database_name
  timestream_table_name    = var.timestream_table_name
  alarm_topic_arn          = aws_sns_topic.alarms.arn

  # Timestream for InfluxDB instead (sink = "influxdb"; see influxdb.tf and the README).
  sink                               = var.sink
  create_timestream                  = var.create_timestream
  force_destroy                      = var.force_destroy
  recorder_enabled                   = var.recorder_enabled
  influxdb_vpc_id                    = var.influxdb_vpc_id
  influxdb_subnet_ids                = var.influxdb_subnet_ids
  influxdb_client_security_group_ids = var.influxdb_client_security_group_ids
  influxdb_token_secret_arn          = var.influxdb_token_secret_arn
}

module "stages" {
  source = "../../modules/filetrail-stages"

  name_prefix               = var.name_prefix
  event_bus_name            = module.filetrail.event_bus_name
  event_bus_arn             = module.filetrail.event_bus_arn
  sorter_event_source       = local.sorter_event_source
  processor_event_source    = local.processor_event_source
  mission                   = var.mission
  instruments               = var.instruments
  bucket_prefix             = var.bucket_prefix
  sorter_zip_path           = local.zip.sorter
  processor_zip_path        = local.zip.processor
  processor_process_command = var.processor_process_command
  processor_layer_arns      = var.processor_layer_arns
  architecture              = var.architecture
  alarm_topic_arn           = aws_sns_topic.alarms.arn
}

# The auditor lists the buckets the stages use and reads the trail the recorder writes; with
# sink = "influxdb" it joins the instance's subnets and reads with its own token (a read token:
# the recorder's is write-only).
module "auditor" {
  source = "../../modules/filetrail-auditor"

  name_prefix              = var.name_prefix
  mission                  = var.mission
  instruments              = var.instruments
  bucket_prefix            = var.bucket_prefix
  incoming_bucket_name     = local.incoming_bucket_name
  auditor_zip_path         = local.zip.auditor
  architecture             = var.architecture
  alarm_topic_arn          = aws_sns_topic.alarms.arn
  audit_interval_minutes   = var.audit_interval_minutes
  older_than_minutes       = var.audit_older_than_minutes
  since_hours              = var.audit_since_hours
  inventory_bucket_name    = var.audit_inventory_bucket_name
  inventory_manifests      = var.audit_inventory_manifests
  sink                     = var.sink
  timestream_database_name = module.filetrail.timestream_database_name
  timestream_table_name    = module.filetrail.timestream_table_name
  timestream_table_arn     = module.filetrail.timestream_table_arn

  influxdb_url               = module.filetrail.influxdb_url
  influxdb_organization      = module.filetrail.influxdb_organization
  influxdb_bucket            = module.filetrail.influxdb_bucket
  influxdb_token_secret_arn  = var.auditor_influxdb_token_secret_arn
  influxdb_vpc_id            = var.influxdb_vpc_id
  influxdb_subnet_ids        = var.influxdb_subnet_ids
  influxdb_security_group_id = module.filetrail.influxdb_security_group_id
}

# ---------------------------------------------------------------------------------------------
# The mission's buckets: private, versioned, encrypted, old versions expire.
# ---------------------------------------------------------------------------------------------

resource "aws_s3_bucket" "mission" {
  #checkov:skip=CKV_AWS_18:Every move is recorded in the Timestream audit trail, which is what this project is for; server access logs would need another bucket and duplicate it.
  #checkov:skip=CKV_AWS_144:Cross-region replication is a mission-level disaster-recovery choice, outside this example.
  #checkov:skip=CKV_AWS_145:SSE-S3 (AES256) encrypts at rest; SSE-KMS would add kms:Decrypt/GenerateDataKey to both stage roles for no narrower access.
  for_each = local.all_bucket_names
  bucket   = each.value

  # Versioned buckets are deleted only once empty of every version and delete marker; with
  # force_destroy (development) Terraform empties them first. Off by default: science data.
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_public_access_block" "mission" {
  for_each                = aws_s3_bucket.mission
  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "mission" {
  for_each = aws_s3_bucket.mission
  bucket   = each.value.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "mission" {
  for_each = aws_s3_bucket.mission
  bucket   = each.value.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "mission" {
  for_each = aws_s3_bucket.mission
  bucket   = each.value.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

# The sorter deletes what it sorted: in a versioned bucket that leaves a noncurrent version,
# kept 30 days as a safety net and then expired.
resource "aws_s3_bucket_lifecycle_configuration" "mission" {
  for_each = aws_s3_bucket.mission
  bucket   = each.value.id

  rule {
    id     = "expire-old-versions"
    status = "Enabled"
    filter {}

    noncurrent_version_expiration {
      noncurrent_days = 30
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.mission]
}

# ---------------------------------------------------------------------------------------------
# Notifications: incoming -> sorter; {processor_input_prefix} in each instrument bucket ->
# processor (products go under other prefixes, so the processor never triggers itself).
# ---------------------------------------------------------------------------------------------

resource "aws_lambda_permission" "sorter_from_incoming" {
  statement_id   = "AllowIncomingBucket"
  action         = "lambda:InvokeFunction"
  function_name  = module.stages.sorter_function_name
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.mission["incoming"].arn
  source_account = data.aws_caller_identity.current.account_id
}

resource "aws_s3_bucket_notification" "incoming" {
  bucket = aws_s3_bucket.mission["incoming"].id

  lambda_function {
    lambda_function_arn = module.stages.sorter_function_arn
    events              = ["s3:ObjectCreated:*"]
  }

  depends_on = [aws_lambda_permission.sorter_from_incoming]
}

resource "aws_lambda_permission" "processor_from_instrument" {
  for_each       = local.instrument_bucket_names
  statement_id   = "AllowInstrumentBucket-${each.key}"
  action         = "lambda:InvokeFunction"
  function_name  = module.stages.processor_function_name
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.mission[each.key].arn
  source_account = data.aws_caller_identity.current.account_id
}

resource "aws_s3_bucket_notification" "instrument" {
  for_each = local.instrument_bucket_names
  bucket   = aws_s3_bucket.mission[each.key].id

  lambda_function {
    lambda_function_arn = module.stages.processor_function_arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = module.stages.processor_input_prefix
  }

  depends_on = [aws_lambda_permission.processor_from_instrument]
}
