# ---------------------------------------------------------------------------------------------
# The Timestream database and table, with magnetic-store writes so late and replayed events
# (older than the memory store's retention) are written instead of rejected.
#
# Existing seed deployments already have the database and table: import them instead of
# creating new ones (see this module's README).
#
# All of it exists only with local.create_timestream (sink = "timestream", or create_timestream =
# true to keep a table after switching to InfluxDB). The `moved` blocks carry state from before
# the resources were counted to index [0], so an existing deployment plans no change.
# ---------------------------------------------------------------------------------------------

moved {
  from = aws_timestreamwrite_database.this
  to   = aws_timestreamwrite_database.this[0]
}

moved {
  from = aws_timestreamwrite_table.this
  to   = aws_timestreamwrite_table.this[0]
}

moved {
  from = aws_s3_bucket.rejected_data
  to   = aws_s3_bucket.rejected_data[0]
}

moved {
  from = aws_s3_bucket_public_access_block.rejected_data
  to   = aws_s3_bucket_public_access_block.rejected_data[0]
}

moved {
  from = aws_s3_bucket_ownership_controls.rejected_data
  to   = aws_s3_bucket_ownership_controls.rejected_data[0]
}

moved {
  from = aws_s3_bucket_versioning.rejected_data
  to   = aws_s3_bucket_versioning.rejected_data[0]
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.rejected_data
  to   = aws_s3_bucket_server_side_encryption_configuration.rejected_data[0]
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.rejected_data
  to   = aws_s3_bucket_lifecycle_configuration.rejected_data[0]
}

resource "aws_timestreamwrite_database" "this" {
  #checkov:skip=CKV_AWS_160:Timestream always encrypts at rest (AWS-managed aws/timestream key); a CMK adds a key policy to maintain without narrowing access, which the recorder's role already limits to WriteRecords on this table.
  count         = local.create_timestream ? 1 : 0
  database_name = var.timestream_database_name
  tags          = var.tags
}

resource "aws_timestreamwrite_table" "this" {
  count         = local.create_timestream ? 1 : 0
  database_name = aws_timestreamwrite_database.this[0].database_name
  table_name    = var.timestream_table_name

  retention_properties {
    memory_store_retention_period_in_hours  = var.memory_store_retention_hours
    magnetic_store_retention_period_in_days = var.magnetic_store_retention_days
  }

  magnetic_store_write_properties {
    enable_magnetic_store_writes = true

    # Magnetic-store writes are asynchronous: what Timestream rejects later is reported here.
    magnetic_store_rejected_data_location {
      s3_configuration {
        bucket_name       = aws_s3_bucket.rejected_data[0].bucket
        object_key_prefix = "${var.timestream_database_name}/${var.timestream_table_name}/"
        encryption_option = "SSE_S3"
      }
    }
  }

  tags = var.tags
}

# ---------------------------------------------------------------------------------------------
# The rejected-data bucket.
# ---------------------------------------------------------------------------------------------

resource "aws_s3_bucket" "rejected_data" {
  #checkov:skip=CKV_AWS_18:Holds only Timestream's own rejection reports, written by the service; access logging would need a second bucket with the same question.
  #checkov:skip=CKV_AWS_144:Reports are diagnostics that expire after var.rejected_data_expiration_days; cross-region replication protects nothing worth its cost.
  #checkov:skip=CKV_AWS_145:SSE-S3 (AES256) encrypts at rest, matching the table's encryption_option = SSE_S3; SSE-KMS would need Timestream key grants for no narrower access.
  count  = local.create_timestream ? 1 : 0
  bucket = local.rejected_data_bucket_name
  tags   = var.tags

  # A versioned bucket is deleted only once every object version and delete marker is gone
  # (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html): force_destroy lets
  # Terraform delete them first.
  force_destroy = var.force_destroy

  lifecycle {
    precondition {
      condition     = length(local.rejected_data_bucket_name) <= 63
      error_message = "The rejected-data bucket name is longer than 63 characters; set rejected_data_bucket_name or a shorter name_prefix."
    }
  }
}

resource "aws_s3_bucket_public_access_block" "rejected_data" {
  count                   = local.create_timestream ? 1 : 0
  bucket                  = aws_s3_bucket.rejected_data[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "rejected_data" {
  count  = local.create_timestream ? 1 : 0
  bucket = aws_s3_bucket.rejected_data[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "rejected_data" {
  count  = local.create_timestream ? 1 : 0
  bucket = aws_s3_bucket.rejected_data[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "rejected_data" {
  count  = local.create_timestream ? 1 : 0
  bucket = aws_s3_bucket.rejected_data[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "rejected_data" {
  count  = local.create_timestream ? 1 : 0
  bucket = aws_s3_bucket.rejected_data[0].id

  rule {
    id     = "expire-reports"
    status = "Enabled"
    filter {}

    expiration {
      days = var.rejected_data_expiration_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 7
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.rejected_data]
}

# ---------------------------------------------------------------------------------------------
# Every rejection report reaches an operator. With magnetic-store writes, WriteRecords accepts a
# record older than the memory store's retention and the recorder counts it written; what the
# magnetic store rejects later (a conflict included) is only an object in the rejected-data
# bucket (https://docs.aws.amazon.com/timestream/latest/developerguide/API_MagneticStoreRejectedDataLocation.html,
# https://docs.aws.amazon.com/timestream/latest/developerguide/troubleshoot-rejectedrecords.html).
# So every new object there is an S3 event notification to the queue below, whose depth alarms
# (alarms.tf). Nothing consumes the queue: its messages name the report objects, and an operator
# deletes each once its report is handled (the module README's runbook: the reason first; an
# identical re-write of a stored record is reported too).
#
# These resources were created with `count` from the start: no `moved` block.
# ---------------------------------------------------------------------------------------------

resource "aws_sqs_queue" "timestream_rejected" {
  count                     = local.create_timestream ? 1 : 0
  name                      = "${var.name_prefix}-timestream-rejected"
  sqs_managed_sse_enabled   = true
  message_retention_seconds = local.dead_letter_retention_seconds
  tags                      = var.tags
}

# Only S3, only for the rejected-data bucket of this account
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html).
data "aws_iam_policy_document" "timestream_rejected" {
  count = local.create_timestream ? 1 : 0

  statement {
    sid       = "OnlyTheRejectedDataBucketNotifies"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.timestream_rejected[0].arn]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.rejected_data[0].arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_sqs_queue_policy" "timestream_rejected" {
  count     = local.create_timestream ? 1 : 0
  queue_url = aws_sqs_queue.timestream_rejected[0].id
  policy    = data.aws_iam_policy_document.timestream_rejected[0].json
}

# S3 sends a test notification to check that it may send to the queue when the configuration is
# put (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketNotificationConfiguration.html),
# so the queue policy comes first. That s3:TestEvent message stays in the queue: the alarm fires
# once after the first apply (and after a change of this configuration); delete the message
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/how-to-enable-disable-notification-intro.html).
# The policy can take up to 60 s to reach all of SQS
# (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html),
# so a first apply can still fail here with "Unable to validate the following destination
# configurations": apply again (module README; no time_sleep: the offline stand-ins carry no
# hashicorp/time schema).
# This resource is the bucket's whole notification configuration: there must be no other.
resource "aws_s3_bucket_notification" "rejected_data" {
  count  = local.create_timestream ? 1 : 0
  bucket = aws_s3_bucket.rejected_data[0].id

  queue {
    id        = "timestream-rejection-reports"
    queue_arn = aws_sqs_queue.timestream_rejected[0].arn
    events    = ["s3:ObjectCreated:*"]
  }

  depends_on = [aws_sqs_queue_policy.timestream_rejected]
}
