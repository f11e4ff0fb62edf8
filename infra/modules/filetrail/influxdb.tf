# ---------------------------------------------------------------------------------------------
# Timestream for InfluxDB (sink = "influxdb"): the instance in the caller's private subnets, its
# generated admin password, the recorder's token secret and two security groups. The instance
# admits port 8086 only from the recorder's group (and groups the caller names); the recorder's
# group admits nothing and sends only to the instance on 8086 and to HTTPS (Secrets Manager and
# SQS, through the subnets' interface endpoints or NAT gateway).
#
# Nothing in this file exists with sink = "timestream".
# ---------------------------------------------------------------------------------------------

locals {
  influxdb_port          = 8086
  influxdb_instance_name = coalesce(var.influxdb_instance_name, "${var.name_prefix}-influxdb")
  influxdb_url           = local.influxdb_sink ? "https://${aws_timestreaminfluxdb_db_instance.this[0].endpoint}:${local.influxdb_port}" : null

  # The caller's secret, or the empty one this module creates for the token (filled by hand).
  influxdb_token_secret_arn = var.influxdb_token_secret_arn != null ? var.influxdb_token_secret_arn : one(aws_secretsmanager_secret.influxdb_token[*].arn)

  ec2_arn_prefix         = local.influxdb_sink ? "arn:${data.aws_partition.current[0].partition}:ec2:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}" : null
  network_interfaces_arn = local.influxdb_sink ? "${local.ec2_arn_prefix}:network-interface/*" : null
}

data "aws_partition" "current" {
  count = local.influxdb_sink ? 1 : 0
}

# The initial admin password: letters and digits only (the service's rule), never an input.
# Timestream for InfluxDB itself keeps it, with the user, organization and bucket, in the Secrets
# Manager secret of output influxdb_auth_parameters_secret_arn. Terraform's state holds it too (as
# it holds every `password` argument): keep the state encrypted and private.
resource "random_password" "influxdb_admin" {
  count       = local.influxdb_sink ? 1 : 0
  length      = 32
  special     = false
  min_lower   = 1
  min_upper   = 1
  min_numeric = 1
}

resource "aws_timestreaminfluxdb_db_instance" "this" {
  count                  = local.influxdb_sink ? 1 : 0
  name                   = local.influxdb_instance_name
  db_instance_type       = var.influxdb_instance_type
  db_storage_type        = var.influxdb_storage_type
  allocated_storage      = var.influxdb_allocated_storage_gib
  deployment_type        = var.influxdb_deployment_type
  port                   = local.influxdb_port
  username               = var.influxdb_username
  password               = random_password.influxdb_admin[0].result
  organization           = var.influxdb_organization
  bucket                 = var.influxdb_bucket
  vpc_subnet_ids         = var.influxdb_subnet_ids
  vpc_security_group_ids = [aws_security_group.influxdb[0].id]
  publicly_accessible    = false

  dynamic "log_delivery_configuration" {
    for_each = var.influxdb_log_bucket_name == null ? [] : [var.influxdb_log_bucket_name]
    content {
      s3_configuration {
        bucket_name = log_delivery_configuration.value
        enabled     = true
      }
    }
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.influxdb_vpc_id != null
      error_message = "sink = \"influxdb\" needs influxdb_vpc_id: the instance and the recorder live in that VPC."
    }
    precondition {
      condition     = length(var.influxdb_subnet_ids) >= (var.influxdb_deployment_type == "WITH_MULTIAZ_STANDBY" ? 2 : 1)
      error_message = "sink = \"influxdb\" needs influxdb_subnet_ids: 1 to 3 private subnets of influxdb_vpc_id, at least 2 in different AZs with WITH_MULTIAZ_STANDBY."
    }
    precondition {
      condition     = length(local.influxdb_instance_name) >= 3 && length(local.influxdb_instance_name) <= 40 && can(regex("^[a-zA-Z][a-zA-Z0-9]*(-[a-zA-Z0-9]+)*$", local.influxdb_instance_name))
      error_message = "The InfluxDB instance name must be 3-40 characters, start with a letter and have no double or trailing hyphen; set influxdb_instance_name."
    }
    precondition {
      condition     = var.influxdb_storage_type == "InfluxIOIncludedT1" || var.influxdb_allocated_storage_gib >= 400
      error_message = "InfluxIOIncludedT2 and InfluxIOIncludedT3 need influxdb_allocated_storage_gib >= 400."
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Security groups. No inline rules: each rule is its own resource, so nothing else (and no
# default allow-all egress, which Terraform removes) hides in the groups.
# ---------------------------------------------------------------------------------------------

resource "aws_security_group" "influxdb" {
  #checkov:skip=CKV2_AWS_5:Attached to aws_timestreaminfluxdb_db_instance.this through vpc_security_group_ids, a resource type this graph check does not know; the instance exists exactly when this group does.
  count       = local.influxdb_sink ? 1 : 0
  name        = "${var.name_prefix}-influxdb"
  description = "filetrail InfluxDB instance: port 8086 from the recorder and named client groups only"
  vpc_id      = var.influxdb_vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "influxdb_from_recorder" {
  count                        = local.influxdb_sink ? 1 : 0
  security_group_id            = aws_security_group.influxdb[0].id
  description                  = "InfluxDB API from the filetrail recorder"
  ip_protocol                  = "tcp"
  from_port                    = local.influxdb_port
  to_port                      = local.influxdb_port
  referenced_security_group_id = aws_security_group.recorder[0].id
  tags                         = var.tags
}

# Operators (the token step, `filetrail history`) and Grafana reach the instance from security
# groups the caller names; never from a CIDR.
resource "aws_vpc_security_group_ingress_rule" "influxdb_from_clients" {
  for_each                     = local.influxdb_sink ? toset(var.influxdb_client_security_group_ids) : toset([])
  security_group_id            = aws_security_group.influxdb[0].id
  description                  = "InfluxDB API from an operator or Grafana security group"
  ip_protocol                  = "tcp"
  from_port                    = local.influxdb_port
  to_port                      = local.influxdb_port
  referenced_security_group_id = each.value
  tags                         = var.tags
}

resource "aws_security_group" "recorder" {
  count       = local.influxdb_sink ? 1 : 0
  name        = local.recorder_function_name
  description = "filetrail recorder Lambda: no ingress, egress to InfluxDB on 8086 and to AWS APIs on 443"
  vpc_id      = var.influxdb_vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_egress_rule" "recorder_to_influxdb" {
  count                        = local.influxdb_sink ? 1 : 0
  security_group_id            = aws_security_group.recorder[0].id
  description                  = "InfluxDB API of the filetrail instance"
  ip_protocol                  = "tcp"
  from_port                    = local.influxdb_port
  to_port                      = local.influxdb_port
  referenced_security_group_id = aws_security_group.influxdb[0].id
  tags                         = var.tags
}

# Secrets Manager (the token, at start-up) and SQS (dead letters) over HTTPS. Interface
# endpoints with private DNS resolve to addresses in the VPC, a NAT gateway to public ones: this
# rule serves both. The role, not the network, limits what the recorder may do there.
resource "aws_vpc_security_group_egress_rule" "recorder_to_aws_apis" {
  count             = local.influxdb_sink ? 1 : 0
  security_group_id = aws_security_group.recorder[0].id
  description       = "HTTPS to Secrets Manager and SQS through interface endpoints or a NAT gateway"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
  tags              = var.tags
}

# ---------------------------------------------------------------------------------------------
# The recorder's API token. InfluxDB mints tokens itself, after the instance exists, so Terraform
# cannot: this module creates the secret without a value (Terraform never sees the token), and an
# operator puts the token into it once (see README). Or the caller passes its own secret's ARN.
# ---------------------------------------------------------------------------------------------

resource "aws_secretsmanager_secret" "influxdb_token" {
  #checkov:skip=CKV_AWS_149:Encrypted with the AWS-managed aws/secretsmanager key, which only Secrets Manager uses on the account's behalf; a customer key needs a key policy whose Resource is "*" (kept out by this project's IAM invariant) and narrows no access the recorder's GetSecretValue on this one ARN does not already narrow.
  #checkov:skip=CKV2_AWS_57:The value is an InfluxDB API token that only InfluxDB can mint; a rotation Lambda would need admin credentials and a route into the VPC. Rotate by hand (README): create a new token, put it, restart the recorder, delete the old token.
  count = local.influxdb_sink && var.influxdb_token_secret_arn == null ? 1 : 0
  name  = "${var.name_prefix}/influxdb-token"
  # A deleted secret waits out its recovery window (30 days by default) and its name cannot be
  # used meanwhile; 0 deletes it at once (ForceDeleteWithoutRecovery,
  # https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html).
  recovery_window_in_days = var.force_destroy ? 0 : 30
  description             = "InfluxDB API token (write to bucket ${var.influxdb_bucket}) of the filetrail recorder ${local.recorder_function_name}: the bare token, or JSON {\"token\": \"...\"}."
  tags                    = var.tags
}
