# ---------------------------------------------------------------------------------------------
# With sink = "influxdb" the recorder runs in influxdb_subnet_ids and calls Secrets Manager (its
# token, at start-up) and SQS (dead letters) from there. Subnets with a NAT gateway need nothing
# more; otherwise create_vpc_endpoints = true adds interface endpoints for the two services,
# reachable on 443 from the recorder's security group only. Private DNS makes an endpoint serve
# the whole VPC, and a VPC can have only one per service with private DNS: leave it false when
# the VPC already has them (and allow the recorder's group on their security group).
# ---------------------------------------------------------------------------------------------

locals {
  vpc_endpoint_services = var.sink == "influxdb" && var.create_vpc_endpoints ? toset(["secretsmanager", "sqs"]) : toset([])
}

resource "aws_security_group" "vpc_endpoints" {
  count       = length(local.vpc_endpoint_services) > 0 ? 1 : 0
  name        = "${var.name_prefix}-vpc-endpoints"
  description = "Secrets Manager and SQS interface endpoints: 443 from the filetrail recorder only"
  vpc_id      = var.influxdb_vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "vpc_endpoints_from_recorder" {
  count                        = length(local.vpc_endpoint_services) > 0 ? 1 : 0
  security_group_id            = aws_security_group.vpc_endpoints[0].id
  description                  = "HTTPS from the filetrail recorder"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = module.filetrail.recorder_security_group_id
}

# The auditor reads its token from Secrets Manager through the same endpoint.
resource "aws_vpc_security_group_ingress_rule" "vpc_endpoints_from_auditor" {
  count                        = length(local.vpc_endpoint_services) > 0 ? 1 : 0
  security_group_id            = aws_security_group.vpc_endpoints[0].id
  description                  = "HTTPS from the filetrail auditor"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = module.auditor.auditor_security_group_id
}

resource "aws_vpc_endpoint" "recorder" {
  for_each            = local.vpc_endpoint_services
  vpc_id              = var.influxdb_vpc_id
  service_name        = "com.amazonaws.${var.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = var.influxdb_subnet_ids
  security_group_ids  = [aws_security_group.vpc_endpoints[0].id]
  private_dns_enabled = true
}
