"""Each invariant's check notices when the invariant is broken.

Every mutation edits one file of a scratch copy of infra/ (the pattern must match exactly once,
so a mutation that no longer applies fails loudly instead of testing nothing), reloads the copy,
and expects the named check to report at least one problem. Every check has at least one
mutation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from invariants import CHECKS
from tfmodel import Infra


@dataclass(frozen=True)
class Mutation:
    check: str
    file: str
    pattern: str
    replacement: str
    why: str
    regex: bool = False

    @property
    def id(self) -> str:
        return f"{self.check}:{self.why}"

    def apply(self, root: Path) -> None:
        path = root / self.file
        text = path.read_text()
        pattern = self.pattern if self.regex else re.escape(self.pattern)
        replacement = self.replacement if self.regex else self.replacement.replace("\\", "\\\\")
        new, n = re.subn(pattern, replacement, text)
        assert n == 1, f"mutation {self.id!r} must match exactly once in {self.file}, matched {n} times"
        path.write_text(new)


CORE = "modules/filetrail"
STAGES = "modules/filetrail-stages"
EXAMPLE = "examples/complete"
AUDITOR = "modules/filetrail-auditor"

MUTATIONS = [
    # Files and versions
    Mutation("every_file_parses", f"{CORE}/bus.tf", 'resource "aws_cloudwatch_event_bus" "this" {', 'resource "aws_cloudwatch_event_bus" "this" {{', "syntax error"),
    Mutation("versions_pinned", f"{STAGES}/versions.tf", 'version = "~> 6.0"', 'version = ">= 5.0"', "provider unpinned"),
    Mutation("versions_pinned", f"{EXAMPLE}/versions.tf", 'required_version = ">= 1.6.0, < 2.0.0"', 'required_version = ">= 1.0"', "terraform unpinned"),
    # Packaging
    Mutation("lambda_packaging", f"{CORE}/recorder.tf", 'log_format            = "JSON"', 'log_format            = "Text"', "text logs"),
    Mutation("lambda_packaging", f"{STAGES}/processor.tf", "source_code_hash = filebase64sha256(var.processor_zip_path)", "", "no source_code_hash"),
    Mutation("lambda_packaging", f"{STAGES}/sorter.tf", 'runtime          = "provided.al2023"', 'runtime          = "provided.al2"', "old runtime"),
    Mutation("lambda_packaging", f"{CORE}/variables.tf", 'default     = "arm64"', 'default     = "x86_64"', "x86 by default"),
    Mutation("function_environment", f"{STAGES}/processor.tf", "      FILETRAIL_MISSION         = var.mission\n", "", "processor without mission"),
    Mutation(
        "function_environment",
        f"{CORE}/recorder.tf",
        "FILETRAIL_DEAD_LETTER_QUEUE_URL = aws_sqs_queue.recorder_dlq.url",
        "FILETRAIL_DEAD_LETTER_QUEUE_URL = aws_sqs_queue.target_dlq.url",
        "recorder dead-letters into the target DLQ",
    ),
    Mutation(
        "function_environment",
        f"{CORE}/recorder.tf",
        '    FILETRAIL_SINK                      = "influxdb"\n',
        "",
        "InfluxDB settings without FILETRAIL_SINK (the recorder would write to Timestream)",
    ),
    Mutation(
        "infra_never_builds_rust",
        f"{CORE}/main.tf",
        'data "aws_region" "current" {}',
        'data "aws_region" "current" {}\n\nresource "terraform_data" "build" {\n  provisioner "local-exec" {\n    command = "cargo lambda build --release --arm64 --output-format zip"\n  }\n}\n',
        "terraform builds the zip",
    ),
    Mutation(
        "infra_never_builds_rust",
        f"{EXAMPLE}/main.tf",
        'recorder  = "${var.lambda_zip_dir}/filetrail-recorder/bootstrap.zip"',
        'recorder  = "${path.module}/build/recorder.zip"',
        "zip not from cargo-lambda",
    ),
    # EventBridge
    Mutation("rule_matches_file_moved", f"{CORE}/file-moved-pattern.json", '["FileMoved"]', '["FileCopied"]', "wrong detail-type"),
    Mutation(
        "rule_matches_file_moved",
        f"{CORE}/file-moved-pattern.json",
        '{"detail-type": ["FileMoved"]}',
        '{"detail-type": ["FileMoved"], "source": ["sdc.sorter", "sdc.processor"]}',
        "only some sources routed",
    ),
    Mutation(
        "rule_matches_file_moved",
        f"{CORE}/main.tf",
        'file_moved_pattern = jsonencode(jsondecode(file("${path.module}/file-moved-pattern.json")))',
        'file_moved_pattern = jsonencode({ "detail-type" = ["FileMoved"], source = ["sdc.sorter"] })',
        "pattern written inline",
    ),
    Mutation(
        "rule_matches_file_moved",
        f"{CORE}/bus.tf",
        "  event_source_arn = aws_cloudwatch_event_bus.this.arn\n  event_pattern    = local.file_moved_pattern\n",
        '  event_source_arn = aws_cloudwatch_event_bus.this.arn\n  event_pattern    = jsonencode({ "detail-type" = ["FileMoved"], source = ["sdc.sorter"] })\n',
        "the archive keeps only the sorter's events",
    ),
    Mutation(
        "rule_matches_file_moved",
        f"{CORE}/bus.tf",
        "  event_source_arn = aws_cloudwatch_event_bus.this.arn\n  event_pattern    = local.file_moved_pattern\n",
        "  event_source_arn = aws_cloudwatch_event_bus.this.arn\n",
        "the archive keeps every event on the bus",
    ),
    Mutation(
        "target_has_dlq_and_retry_policy",
        f"{CORE}/bus.tf",
        r"\n  dead_letter_config \{\n    arn = aws_sqs_queue\.target_dlq\.arn\n  \}\n",
        "\n",
        "target without DLQ",
        regex=True,
    ),
    Mutation(
        "target_has_dlq_and_retry_policy",
        f"{STAGES}/sorter.tf",
        r"\n  retry_policy \{\n    maximum_retry_attempts       = 3\n    maximum_event_age_in_seconds = 600\n  \}\n",
        "\n",
        "sweep target without retry policy",
        regex=True,
    ),
    Mutation(
        "target_has_dlq_and_retry_policy",
        f"{CORE}/variables.tf",
        "var.target_maximum_retry_attempts >= 1 &&",
        "var.target_maximum_retry_attempts >= 0 &&",
        "zero retries allowed",
    ),
    Mutation("bus_policy_only_publishers", f"{CORE}/bus.tf", "identifiers = statement.value", 'identifiers = ["*"]', "anyone may publish"),
    Mutation(
        "bus_policy_only_publishers",
        f"{CORE}/bus.tf",
        "identifiers = statement.value",
        "identifiers = var.publisher_role_arns",
        "same-account roles allowed (invalid principal on a first apply)",
    ),
    Mutation(
        "bus_policy_only_publishers",
        f"{CORE}/bus.tf",
        'if split(":", arn)[4] != data.aws_caller_identity.current.account_id',
        "if arn != \"\"",
        "cross-account filter keeps this account's roles",
    ),
    Mutation("bus_policy_only_publishers", f"{CORE}/bus.tf", 'test     = "StringNotEquals"', 'test     = "StringEquals"', "no deny of others"),
    Mutation(
        "bus_policy_only_publishers",
        f"{EXAMPLE}/main.tf",
        "[module.stages.sorter_role_arn, module.stages.processor_role_arn]",
        "[module.stages.sorter_role_arn, module.stages.processor_role_arn, module.filetrail.recorder_role_arn]",
        "recorder may publish",
    ),
    Mutation("bus_policy_only_publishers", f"{CORE}/variables.tf", '"^arn:aws[a-zA-Z-]*:iam::[0-9]{12}:role/.+$"', '".*"', "publishers unvalidated"),
    # SQS and the mapping
    Mutation("mapping_reports_batch_item_failures", f"{CORE}/recorder.tf", 'function_response_types = ["ReportBatchItemFailures"]', "function_response_types = []", "no partial batch response"),
    Mutation("mapping_reports_batch_item_failures", f"{CORE}/recorder.tf", "    maximum_concurrency = var.maximum_concurrency\n", "", "no maximum concurrency"),
    Mutation("mapping_reports_batch_item_failures", f"{CORE}/recorder.tf", "batch_size                         = var.batch_size", "batch_size                         = 10", "batch size hard-coded"),
    Mutation(
        "visibility_timeout_covers_recorder",
        f"{CORE}/queues.tf",
        "local.events_queue_visibility_timeout_seconds >= 6 * var.recorder_timeout_seconds",
        "local.events_queue_visibility_timeout_seconds >= 2 * var.recorder_timeout_seconds",
        "precondition too weak",
    ),
    Mutation("visibility_timeout_covers_recorder", f"{CORE}/main.tf", "6 * var.recorder_timeout_seconds)", "2 * var.recorder_timeout_seconds)", "default too small"),
    Mutation(
        "visibility_timeout_covers_recorder",
        f"{CORE}/queues.tf",
        r"\n  lifecycle \{\n    precondition \{\n      condition     = local\.events_queue_visibility_timeout_seconds[^\n]*\n[^\n]*\n    \}\n  \}\n",
        "\n",
        "no precondition",
        regex=True,
    ),
    Mutation("redrive_to_recorder_dlq", f"{CORE}/queues.tf", "maxReceiveCount     = var.max_receive_count", "maxReceiveCount     = 3", "three receives"),
    Mutation("redrive_to_recorder_dlq", f"{CORE}/variables.tf", "var.max_receive_count >= 5 &&", "var.max_receive_count >= 1 &&", "validation allows 1"),
    Mutation("redrive_to_recorder_dlq", f"{CORE}/queues.tf", "deadLetterTargetArn = aws_sqs_queue.recorder_dlq.arn", 'deadLetterTargetArn = "arn:aws:sqs:us-east-1:123456789012:elsewhere"', "redrive elsewhere"),
    Mutation("queues_encrypted", f"{STAGES}/sorter.tf", "sqs_managed_sse_enabled   = true", "sqs_managed_sse_enabled   = false", "unencrypted DLQ"),
    Mutation(
        "queue_policies_only_rules_and_buckets",
        f"{STAGES}/sorter.tf",
        'variable = "aws:SourceArn"\n      values   = [aws_cloudwatch_event_rule.sweep.arn]',
        'variable = "aws:SourceAccount"\n      values   = ["123456789012"]',
        "any rule of the account",
    ),
    Mutation(
        "queue_policies_only_rules_and_buckets",
        f"{CORE}/queues.tf",
        'sid       = "OnlyTheFileMovedRuleSends"\n    effect    = "Allow"\n    actions   = ["sqs:SendMessage"]',
        'sid       = "OnlyTheFileMovedRuleSends"\n    effect    = "Allow"\n    actions   = ["sqs:SendMessage", "sqs:ReceiveMessage"]',
        "rule may receive",
    ),
    Mutation(
        "queue_policies_only_rules_and_buckets",
        f"{CORE}/queues.tf",
        r'resource "aws_sqs_queue_policy" "events" \{[^}]*\}\n',
        "",
        "events queue without policy",
        regex=True,
    ),
    Mutation(
        "queue_policies_only_rules_and_buckets",
        f"{CORE}/queues.tf",
        r'(sid       = "OnlyTheFileMovedRuleDeadLetters"[\s\S]*?identifiers = )\["events\.amazonaws\.com"\]',
        r'\1["*"]',
        "anyone may dead-letter",
        regex=True,
    ),
    Mutation(
        "queue_policies_only_rules_and_buckets",
        f"{CORE}/timestream.tf",
        r'\n    condition \{\n      test     = "StringEquals"\n      variable = "aws:SourceAccount"\n[^}]*\}\n',
        "\n",
        "S3 may send for a bucket of that name in any account",
        regex=True,
    ),
    Mutation(
        "queue_policies_only_rules_and_buckets",
        f"{CORE}/timestream.tf",
        "values   = [aws_s3_bucket.rejected_data[0].arn]",
        'values   = ["arn:aws:s3:::*"]',
        "any bucket may notify the rejected queue",
    ),
    Mutation(
        "queue_policies_only_rules_and_buckets",
        f"{CORE}/timestream.tf",
        'identifiers = ["s3.amazonaws.com"]',
        'identifiers = ["s3.amazonaws.com", "sns.amazonaws.com"]',
        "SNS may send to the rejected queue",
    ),
    Mutation(
        "queue_policies_only_rules_and_buckets",
        f"{CORE}/timestream.tf",
        'identifiers = ["s3.amazonaws.com"]',
        'identifiers = ["events.amazonaws.com"]',
        "EventBridge allowed on behalf of a bucket",
    ),
    Mutation(
        "queue_policies_only_rules_and_buckets",
        f"{CORE}/timestream.tf",
        "resources = [aws_sqs_queue.timestream_rejected[0].arn]",
        'resources = ["arn:aws:sqs:*:*:*"]',
        "the policy names every queue",
    ),
    Mutation(
        "queue_policies_only_rules_and_buckets",
        f"{CORE}/timestream.tf",
        r'resource "aws_s3_bucket_notification" "rejected_data" \{[\s\S]*?\n\}\n',
        "",
        "S3 may send for a bucket that notifies nothing",
        regex=True,
    ),
    Mutation(
        "queue_policies_only_rules_and_buckets",
        f"{CORE}/timestream.tf",
        r'resource "aws_sqs_queue_policy" "timestream_rejected" \{[^}]*\}\n',
        "",
        "the bucket notifies a queue without a policy (S3 refuses the configuration)",
        regex=True,
    ),
    # Timestream
    Mutation("magnetic_store_writes", f"{CORE}/timestream.tf", "enable_magnetic_store_writes = true", "enable_magnetic_store_writes = false", "magnetic writes off"),
    Mutation("magnetic_store_writes", f"{CORE}/timestream.tf", "bucket_name       = aws_s3_bucket.rejected_data[0].bucket\n", "", "no rejected-data bucket"),
    Mutation(
        "magnetic_store_writes",
        f"{CORE}/timestream.tf",
        "magnetic_store_retention_period_in_days = var.magnetic_store_retention_days",
        "magnetic_store_retention_period_in_days = 1",
        "retention hard-coded",
    ),
    Mutation(
        "magnetic_store_rejections_alarmed",
        f"{CORE}/timestream.tf",
        'events    = ["s3:ObjectCreated:*"]',
        'events    = ["s3:ObjectRemoved:*"]',
        "the notification sends deletions, not new reports",
    ),
    Mutation(
        "magnetic_store_rejections_alarmed",
        f"{CORE}/timestream.tf",
        'events    = ["s3:ObjectCreated:*"]',
        'events    = ["s3:ObjectCreated:*"]\n    filter_suffix = ".csv"',
        "only some report names are sent",
    ),
    Mutation(
        "magnetic_store_rejections_alarmed",
        f"{CORE}/timestream.tf",
        r'resource "aws_s3_bucket_notification" "rejected_data" \{[\s\S]*?\n\}\n',
        "",
        "nothing notifies on the rejected-data bucket",
        regex=True,
    ),
    Mutation(
        "magnetic_store_rejections_alarmed",
        f"{CORE}/timestream.tf",
        "\n  depends_on = [aws_sqs_queue_policy.timestream_rejected]\n",
        "\n",
        "the notification may be put before the queue policy",
    ),
    Mutation(
        "magnetic_store_rejections_alarmed",
        f"{CORE}/alarms.tf",
        "dimensions          = { QueueName = aws_sqs_queue.timestream_rejected[0].name }",
        "dimensions          = { QueueName = aws_sqs_queue.recorder_dlq.name }",
        "no alarm watches the rejected queue",
    ),
    Mutation(
        "magnetic_store_rejections_alarmed",
        f"{CORE}/alarms.tf",
        r'("timestream_rejected" \{[\s\S]*?threshold\s+= )0',
        r"\g<1>10",
        "ten rejections before anyone is told",
        regex=True,
    ),
    Mutation(
        "magnetic_store_rejections_alarmed",
        f"{CORE}/alarms.tf",
        "names a report object in s3://${aws_s3_bucket.rejected_data[0].bucket}/",
        "names a report object",
        "the alarm does not say where the reports are",
    ),
    Mutation(
        "magnetic_store_rejections_alarmed",
        f"{CORE}/timestream.tf",
        'resource "aws_s3_bucket_notification" "rejected_data" {\n  count  = local.create_timestream ? 1 : 0',
        'resource "aws_s3_bucket_notification" "rejected_data" {\n  count  = local.timestream_sink ? 1 : 0',
        "the watch goes while create_timestream keeps the table",
    ),
    # IAM
    Mutation("no_wildcard_actions", f"{STAGES}/processor.tf", 'actions   = ["s3:GetObject", "s3:PutObject"]', 'actions   = ["s3:*"]', "s3:*"),
    Mutation("no_wildcard_actions", f"{CORE}/recorder.tf", 'actions   = ["timestream:WriteRecords"]', 'actions   = ["timestream:Write*"]', "timestream:Write*"),
    Mutation("no_wildcard_resources", f"{CORE}/recorder.tf", "resources = [aws_timestreamwrite_table.this[0].arn]", 'resources = ["*"]', "WriteRecords on *"),
    Mutation(
        "no_wildcard_resources",
        f"{CORE}/recorder.tf",
        'actions   = ["timestream:DescribeEndpoints"]',
        'actions   = ["timestream:DescribeEndpoints", "timestream:WriteRecords"]',
        "more than DescribeEndpoints on *",
    ),
    Mutation("no_wildcard_resources", f"{STAGES}/sorter.tf", "resources = [local.incoming_bucket_arn]", 'resources = ["arn:aws:s3:::*"]', "every bucket"),
    Mutation(
        "no_wildcard_resources",
        f"{CORE}/recorder.tf",
        'actions   = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]',
        'actions   = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:CreateNetworkInterface"]',
        "creating network interfaces on *",
    ),
    Mutation(
        "no_wildcard_resources",
        f"{CORE}/recorder.tf",
        r'(dynamic "statement" \{\n    for_each = )local\.influxdb_sink \? \[1\] : \[\](\n    content \{\n      sid       = "DescribeVpcNetworkInterfaces")',
        r"\1[1]\2",
        "EC2 describe on * without a VPC",
        regex=True,
    ),
    Mutation(
        "sorter_s3_grants",
        f"{STAGES}/sorter.tf",
        'actions   = ["s3:PutObject", "s3:PutObjectTagging", "s3:GetObject", "s3:AbortMultipartUpload"]',
        'actions   = ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"]',
        "tagged copies refused (no s3:PutObjectTagging)",
    ),
    Mutation(
        "sorter_s3_grants",
        f"{STAGES}/sorter.tf",
        'actions   = ["s3:GetObject", "s3:GetObjectTagging", "s3:DeleteObject"]',
        'actions   = ["s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectVersionTagging", "s3:DeleteObject"]',
        "a version action no call uses",
    ),
    Mutation(
        "sorter_s3_grants",
        f"{STAGES}/sorter.tf",
        'actions   = ["s3:GetObject", "s3:GetObjectTagging", "s3:DeleteObject"]',
        'actions   = ["s3:GetObject", "s3:DeleteObject"]',
        "source tags unreadable (the 403 of issue 12)",
    ),
    Mutation("one_role_per_function", f"{STAGES}/processor.tf", "role             = aws_iam_role.processor.arn", "role             = aws_iam_role.sorter.arn", "shared role"),
    Mutation(
        "one_role_per_function",
        f"{CORE}/recorder.tf",
        'resource "aws_iam_role_policy" "recorder" {',
        'resource "aws_iam_role_policy_attachment" "basic" {\n  role       = aws_iam_role.recorder.name\n  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"\n}\n\nresource "aws_iam_role_policy" "recorder" {',
        "managed policy",
    ),
    Mutation(
        "one_role_per_function",
        f"{CORE}/recorder.tf",
        'identifiers = ["lambda.amazonaws.com"]',
        'identifiers = ["lambda.amazonaws.com", "ec2.amazonaws.com"]',
        "EC2 may assume",
    ),
    # The InfluxDB sink
    Mutation(
        "influxdb_sink_is_optional",
        f"{CORE}/timestream.tf",
        "moved {\n  from = aws_timestreamwrite_table.this\n  to   = aws_timestreamwrite_table.this[0]\n}\n",
        "",
        "existing table re-created on upgrade",
    ),
    Mutation(
        "influxdb_sink_is_optional",
        f"{CORE}/timestream.tf",
        'resource "aws_sqs_queue" "timestream_rejected" {',
        'moved {\n  from = aws_sqs_queue.timestream_rejected\n  to   = aws_sqs_queue.timestream_rejected[0]\n}\n\nresource "aws_sqs_queue" "timestream_rejected" {',
        "a moved block for a resource created with its count",
    ),
    Mutation(
        "influxdb_sink_is_optional",
        f"{CORE}/influxdb.tf",
        'resource "aws_timestreaminfluxdb_db_instance" "this" {\n  count                  = local.influxdb_sink ? 1 : 0',
        'resource "aws_timestreaminfluxdb_db_instance" "this" {\n  count                  = 1',
        "instance with the default sink",
    ),
    Mutation(
        "influxdb_sink_is_optional",
        f"{CORE}/variables.tf",
        'default     = "timestream"\n\n  validation {\n    condition     = contains(["timestream", "influxdb"], var.sink)',
        'default     = "influxdb"\n\n  validation {\n    condition     = contains(["timestream", "influxdb"], var.sink)',
        "influxdb by default",
    ),
    Mutation(
        "influxdb_recorder_in_vpc",
        f"{CORE}/recorder.tf",
        r'(dynamic "vpc_config" \{\n    for_each = )local\.influxdb_sink \? \[1\] : \[\]',
        r"\1[]",
        "recorder outside the VPC",
        regex=True,
    ),
    Mutation(
        "influxdb_recorder_in_vpc",
        f"{CORE}/recorder.tf",
        "security_group_ids = [aws_security_group.recorder[0].id]",
        "security_group_ids = [aws_security_group.influxdb[0].id]",
        "recorder shares the instance's security group",
    ),
    Mutation(
        "influxdb_recorder_in_vpc",
        f"{CORE}/influxdb.tf",
        "  from_port         = 443\n  to_port           = 443\n",
        "  from_port         = 0\n  to_port           = 65535\n",
        "recorder sends anywhere on any port",
    ),
    Mutation("influxdb_instance_private", f"{CORE}/influxdb.tf", "publicly_accessible    = false", "publicly_accessible    = true", "public instance"),
    Mutation(
        "influxdb_instance_private",
        f"{CORE}/influxdb.tf",
        "vpc_subnet_ids         = var.influxdb_subnet_ids",
        'vpc_subnet_ids         = ["subnet-0123456789abcdef0"]',
        "instance outside the given subnets",
    ),
    Mutation("influxdb_instance_private", f"{CORE}/influxdb.tf", '"https://${aws_timestreaminfluxdb_db_instance', '"http://${aws_timestreaminfluxdb_db_instance', "token sent in clear text"),
    Mutation(
        "influxdb_port_only_from_recorder",
        f"{CORE}/influxdb.tf",
        "referenced_security_group_id = aws_security_group.recorder[0].id",
        'cidr_ipv4                    = "10.0.0.0/8"',
        "instance open to a CIDR",
    ),
    Mutation(
        "influxdb_port_only_from_recorder",
        f"{CORE}/influxdb.tf",
        r'("influxdb_from_clients" \{[^}]*?from_port\s+= )local\.influxdb_port',
        r"\g<1>0",
        "clients on every port",
        regex=True,
    ),
    Mutation(
        "influxdb_token_from_secrets_manager",
        f"{CORE}/recorder.tf",
        "    FILETRAIL_INFLUXDB_MEASUREMENT      = var.influxdb_measurement\n",
        "    FILETRAIL_INFLUXDB_MEASUREMENT      = var.influxdb_measurement\n    FILETRAIL_INFLUXDB_TOKEN            = var.influxdb_username\n",
        "token in the environment",
    ),
    Mutation(
        "influxdb_token_from_secrets_manager",
        f"{CORE}/recorder.tf",
        "FILETRAIL_INFLUXDB_TOKEN_SECRET_ARN = local.influxdb_token_secret_arn",
        "FILETRAIL_INFLUXDB_TOKEN_SECRET_ARN = one(aws_timestreaminfluxdb_db_instance.this[*].influx_auth_parameters_secret_arn)",
        "recorder pointed at the admin credentials",
    ),
    Mutation(
        "influxdb_token_from_secrets_manager",
        f"{CORE}/variables.tf",
        '"^arn:aws[a-zA-Z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$"',
        '"^arn:.*$"',
        "any ARN accepted as the token secret",
    ),
    Mutation(
        "influxdb_secret_read_scoped",
        f"{CORE}/recorder.tf",
        "resources = [local.influxdb_token_secret_arn]",
        "resources = [local.influxdb_token_secret_arn, one(aws_timestreaminfluxdb_db_instance.this[*].influx_auth_parameters_secret_arn)]",
        "admin credentials readable",
    ),
    Mutation(
        "influxdb_secret_read_scoped",
        f"{CORE}/recorder.tf",
        'actions   = ["secretsmanager:GetSecretValue"]',
        'actions   = ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"]',
        "recorder may overwrite the token",
    ),
    Mutation(
        "influxdb_sink_has_no_timestream_access",
        f"{CORE}/recorder.tf",
        r'(for_each = )local\.timestream_sink( \? \[1\] : \[\]\n    content \{\n      sid       = "WriteRecords")',
        r"\1local.create_timestream\2",
        "WriteRecords while the table is kept",
        regex=True,
    ),
    Mutation(
        "influxdb_sink_has_no_timestream_access",
        f"{CORE}/recorder.tf",
        r'(for_each = )local\.timestream_sink \? \[1\] : \[\](\n    content \{\n      sid       = "DiscoverTimestreamEndpoints")',
        r"\1[1]\2",
        "endpoint discovery with every sink",
        regex=True,
    ),
    # Alarms
    Mutation(
        "alarms_cover_dlqs_age_and_errors",
        f"{CORE}/alarms.tf",
        "dimensions          = { QueueName = aws_sqs_queue.target_dlq.name }",
        "dimensions          = { QueueName = aws_sqs_queue.events.name }",
        "target DLQ unwatched",
    ),
    Mutation(
        "alarms_cover_dlqs_age_and_errors",
        f"{STAGES}/alarms.tf",
        "dimensions          = { QueueName = aws_sqs_queue.processor_dlq.name }",
        "dimensions          = { QueueName = aws_sqs_queue.sorter_dlq.name }",
        "processor DLQ unwatched",
    ),
    Mutation("alarms_cover_dlqs_age_and_errors", f"{CORE}/alarms.tf", 'metric_name         = "ApproximateAgeOfOldestMessage"', 'metric_name         = "NumberOfMessagesSent"', "no age alarm"),
    Mutation("alarms_cover_dlqs_age_and_errors", f"{CORE}/alarms.tf", 'metric_name         = "Errors"', 'metric_name         = "Throttles"', "no errors alarm"),
    Mutation(
        "alarms_cover_dlqs_age_and_errors",
        f"{CORE}/alarms.tf",
        r'("recorder_errors"[\s\S]*?alarm_actions\s*=\s*)\[var\.alarm_topic_arn\]',
        r"\1[]",
        "errors alarm notifies nobody",
        regex=True,
    ),
    Mutation(
        "alarms_cover_dlqs_age_and_errors",
        f"{EXAMPLE}/main.tf",
        "alarm_topic_arn           = aws_sns_topic.alarms.arn",
        'alarm_topic_arn           = "arn:aws:sns:us-east-1:123456789012:somewhere"',
        "stages alarms to a foreign topic",
    ),
    # What the alarms read is what the code emits (infra/emf-metrics.json)
    Mutation(
        "alarms_query_emitted_metrics",
        "emf-metrics.json",
        '"binary": "filetrail-recorder",',
        '"binary": "filetrail-recorder",\n      "dimension_value": "filetrail-recorder",',
        "the code emits a constant name, as on main before issue 12",
    ),
    Mutation(
        "alarms_query_emitted_metrics",
        f"{CORE}/alarms.tf",
        'metric_name         = "failed"',
        'metric_name         = "failed_records"',
        "a metric no code emits",
    ),
    Mutation(
        "alarms_query_emitted_metrics",
        f"{CORE}/alarms.tf",
        r'("recorder_failed_records" \{[\s\S]*?)dimensions          = \{ function = aws_lambda_function\.recorder\.function_name \}',
        r'\g<1>dimensions          = { function = "filetrail-recorder" }',
        "a hard-coded function name",
        regex=True,
    ),
    Mutation(
        "alarms_query_emitted_metrics",
        f"{CORE}/alarms.tf",
        r'("recorder_failed_records" \{[\s\S]*?)dimensions          = \{ function = aws_lambda_function\.recorder\.function_name \}',
        r"\g<1>dimensions          = { FunctionName = aws_lambda_function.recorder.function_name }",
        "a dimension the metric does not have",
        regex=True,
    ),
    Mutation(
        "alarms_query_emitted_metrics",
        f"{CORE}/alarms.tf",
        'metric_name         = "recording_lag_p50_ms"',
        'metric_name         = "recording_lag_ms"',
        "a lag metric the recorder does not emit",
    ),
    # Metrics and log levels
    Mutation(
        "metrics_survive_every_log_level",
        f"{STAGES}/sorter.tf",
        "application_log_level = local.lambda_log_level",
        "application_log_level = var.log_level",
        "Lambda filters the sorter at WARN and drops its EMF lines",
    ),
    Mutation(
        "metrics_survive_every_log_level",
        f"{CORE}/main.tf",
        'WARN = "warn", ERROR = "error"',
        'WARN = "info", ERROR = "error"',
        "the recorder logs INFO though WARN was asked for",
    ),
    # Pipeline health: the auditor and the recorder's lag
    Mutation(
        "auditor_grants_exactly",
        f"{AUDITOR}/auditor.tf",
        'actions   = ["s3:ListBucket"]\n    resources = concat([local.incoming_bucket_arn], local.instrument_bucket_arns)',
        'actions   = ["s3:ListBucket", "s3:GetObject"]\n    resources = concat([local.incoming_bucket_arn], local.instrument_bucket_arns)',
        "auditor reads the science files",
    ),
    Mutation(
        "auditor_grants_exactly",
        f"{AUDITOR}/auditor.tf",
        'for_each = var.inventory_bucket_name == null ? [] : [1]',
        "for_each = [1]",
        "inventory readable without an inventory",
    ),
    Mutation(
        "auditor_grants_exactly",
        f"{AUDITOR}/auditor.tf",
        'actions   = ["timestream:Select"]',
        'actions   = ["timestream:Select", "timestream:WriteRecords"]',
        "auditor may write the trail",
    ),
    Mutation(
        "auditor_grants_exactly",
        f"{AUDITOR}/auditor.tf",
        "resources = [var.influxdb_token_secret_arn]",
        'resources = ["arn:aws:secretsmanager:us-east-1:123456789012:secret:*"]',
        "auditor reads every secret",
    ),
    Mutation(
        "auditor_grants_exactly",
        f"{AUDITOR}/main.tf",
        'length(var.inventory_manifests) == 0 ? {} : { FILETRAIL_AUDIT_INVENTORY = join(",", var.inventory_manifests) }',
        '{ FILETRAIL_AUDIT_INVENTORY = join(",", var.inventory_manifests) }',
        "an empty inventory list in the environment",
    ),
    Mutation(
        "audit_schedule_and_alarms",
        f"{AUDITOR}/variables.tf",
        "default     = 15\n\n  validation {\n    condition     = var.audit_interval_minutes",
        "default     = 30\n\n  validation {\n    condition     = var.audit_interval_minutes",
        "audits every 30 minutes",
    ),
    Mutation(
        "audit_schedule_and_alarms",
        f"{AUDITOR}/main.tf",
        'schedule_expression  = "rate(${var.audit_interval_minutes} minutes)"',
        'schedule_expression  = "rate(15 minutes)"',
        "the rate ignores the interval the alarms use",
    ),
    Mutation(
        "audit_schedule_and_alarms",
        f"{AUDITOR}/alarms.tf",
        r'("stuck_files" \{[\s\S]*?evaluation_periods\s+= )2(\n\s+datapoints_to_alarm\s+= )2',
        r"\g<1>1\g<2>1",
        "stuck alarms after one audit",
        regex=True,
    ),
    Mutation(
        "audit_schedule_and_alarms",
        f"{AUDITOR}/alarms.tf",
        r'("unrecorded_files" \{[\s\S]*?evaluation_periods\s+= )1',
        r"\g<1>3",
        "unrecorded waits three audits",
        regex=True,
    ),
    Mutation(
        "audit_schedule_and_alarms",
        f"{AUDITOR}/alarms.tf",
        r'("unprocessed_files" \{[\s\S]*?period\s+= )local\.alarm_period_seconds',
        r"\g<1>300",
        "unprocessed period shorter than an audit",
        regex=True,
    ),
    Mutation(
        "audit_schedule_and_alarms",
        f"{AUDITOR}/alarms.tf",
        r'("unprocessed_files" \{[\s\S]*?treat_missing_data\s+= )"missing"',
        r'\g<1>"notBreaching"',
        "a late audit counts as clean",
        regex=True,
    ),
    Mutation(
        "audit_schedule_and_alarms",
        f"{AUDITOR}/auditor.tf",
        "  source_arn    = aws_cloudwatch_event_rule.audit.arn\n",
        "",
        "any rule may invoke the auditor",
    ),
    Mutation(
        "audit_schedule_and_alarms",
        f"{EXAMPLE}/main.tf",
        "  audit_interval_minutes   = var.audit_interval_minutes\n",
        "  audit_interval_minutes   = 60\n",
        "the example audits hourly",
    ),
    Mutation(
        "audit_schedule_and_alarms",
        f"{CORE}/alarms.tf",
        'metric_name         = "recording_lag_p50_ms"',
        'metric_name         = "written"',
        "no alarm on recording lag",
    ),
    Mutation(
        "alarms_query_emitted_metrics",
        f"{AUDITOR}/alarms.tf",
        'metric_name         = "unrecorded_files"',
        'metric_name         = "UnrecordedObjects"',
        "an audit metric the auditor does not emit",
    ),
    Mutation(
        "function_environment",
        f"{AUDITOR}/main.tf",
        '    FILETRAIL_AUDIT_SINCE      = "${var.since_hours}h"\n',
        "",
        "auditor without its window",
    ),
    # Hygiene
    Mutation("checkov_skips_justified", f"{EXAMPLE}/main.tf", r"(#checkov:skip=CKV_AWS_26:)[^\n]*", r"\1todo", "unjustified skip", regex=True),
    Mutation(
        "variables_typed_and_documented",
        f"{STAGES}/variables.tf",
        'variable "tags" {',
        'variable "undocumented" {\n  type        = string\n  description = "Not in the README."\n  default     = ""\n}\n\nvariable "tags" {',
        "input missing from README",
    ),
    Mutation(
        "variables_typed_and_documented",
        f"{CORE}/outputs.tf",
        '  description = "ARN of the bus."\n',
        "",
        "output without description",
    ),
]


def test_every_check_has_a_mutation() -> None:
    assert set(CHECKS) - {m.check for m in MUTATIONS} == set()
    assert {m.check for m in MUTATIONS} - set(CHECKS) == set()


def test_unmutated_copy_passes(infra_copy: Path) -> None:
    copy = Infra.load(infra_copy)
    failing = {name: problems for name, check in CHECKS.items() if (problems := check(copy))}
    assert failing == {}


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.id)
def test_mutation_breaks_its_invariant(infra_copy: Path, mutation: Mutation) -> None:
    mutation.apply(infra_copy)
    problems = CHECKS[mutation.check](Infra.load(infra_copy))
    assert problems, f"check {mutation.check} did not notice: {mutation.why}"
