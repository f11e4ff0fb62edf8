"""The stand-in providers themselves: the recovered schema says what hashicorp/aws's schema
says for the arguments this project uses, plans leave computed attributes unknown, applies fill
them, and aws_iam_policy_document renders as the provider does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tf.types import Unknown

from standin.behaviour import Aws, render_policy_document
from standin.values import fill, plan_create
from tfrun import STANDIN


@pytest.fixture(scope="module")
def aws_schema() -> dict:
    (path,) = sorted((STANDIN / "schemas").glob("aws-*.json"))
    doc = json.loads(path.read_text())
    assert doc["provider_version"].startswith("6."), doc["provider_version"]
    return doc["provider_schemas"]["registry.terraform.io/hashicorp/aws"]


def test_schema_has_every_resource_type(aws_schema: dict) -> None:
    assert len(aws_schema["resource_schemas"]) > 1500 and len(aws_schema["data_source_schemas"]) > 600


def test_schema_keeps_required_computed_and_nesting(aws_schema: dict) -> None:
    fn = aws_schema["resource_schemas"]["aws_lambda_function"]["block"]
    assert fn["attributes"]["function_name"] == {"required": True, "type": "string"}
    assert fn["attributes"]["arn"] == {"computed": True, "type": "string"}
    assert fn["attributes"]["architectures"]["type"] == ["list", "string"]
    vpc = fn["block_types"]["vpc_config"]
    assert vpc["nesting_mode"] == "list" and vpc["max_items"] == 1
    assert vpc["block"]["attributes"]["subnet_ids"] == {"required": True, "type": ["set", "string"]}
    assert vpc["block"]["attributes"]["vpc_id"] == {"computed": True, "type": "string"}
    assert fn["block_types"]["timeouts"]["nesting_mode"] == "single"
    table = aws_schema["resource_schemas"]["aws_timestreamwrite_table"]["block"]
    assert table["block_types"]["retention_properties"]["block"]["attributes"]["memory_store_retention_period_in_hours"]["required"]
    doc = aws_schema["data_source_schemas"]["aws_iam_policy_document"]["block"]
    st = doc["block_types"]["statement"]
    assert st["nesting_mode"] == "list"
    assert st["block"]["block_types"]["principals"]["nesting_mode"] == "set"
    assert st["block"]["block_types"]["condition"]["block"]["attributes"]["values"]["type"] == ["list", "string"]


def test_plan_leaves_computed_unknown_and_apply_fills_it(aws_schema: dict) -> None:
    block = aws_schema["resource_schemas"]["aws_sqs_queue"]["block"]
    aws = Aws()
    aws.configure({"region": "eu-west-1", "default_tags": [{"tags": {"project": "filetrail"}}]})
    proposed = {k: None for k in block["attributes"]}
    proposed.update(name="q", tags={"a": "b"})
    planned = plan_create(block, proposed, aws.special("aws_sqs_queue"))
    assert planned["arn"] is Unknown and planned["url"] is Unknown and planned["id"] is Unknown
    assert planned["region"] == "eu-west-1"
    assert planned["tags_all"] == {"project": "filetrail", "a": "b"}
    assert planned["delay_seconds"] is None  # left out, optional: no invented default
    new = fill(block, planned, aws.generator("aws_sqs_queue", planned))
    assert new["arn"] == "arn:aws:sqs:eu-west-1:123456789012:q"
    assert new["url"] == new["id"] == "https://sqs.eu-west-1.amazonaws.com/123456789012/q"
    assert new == fill(block, planned, aws.generator("aws_sqs_queue", planned)), "apply must be deterministic"


def test_bucket_notification_to_a_queue(aws_schema: dict) -> None:
    """aws_s3_bucket_notification (the rejected-data bucket's, the example's): the queue block as
    hashicorp/aws declares it, and the id of the notification is its bucket's name, as the
    provider sets it."""
    block = aws_schema["resource_schemas"]["aws_s3_bucket_notification"]["block"]
    assert block["attributes"]["bucket"] == {"required": True, "type": "string"}
    queue = block["block_types"]["queue"]
    assert queue["nesting_mode"] == "list"
    assert queue["block"]["attributes"]["queue_arn"] == {"required": True, "type": "string"}
    assert queue["block"]["attributes"]["events"] == {"required": True, "type": ["set", "string"]}
    aws = Aws()
    aws.configure({"region": "eu-west-1"})
    proposed = {k: None for k in block["attributes"]}
    entry = {k: None for k in queue["block"]["attributes"]}
    entry.update(id="reports", queue_arn="arn:aws:sqs:eu-west-1:123456789012:q", events=["s3:ObjectCreated:*"])
    proposed.update(bucket="b", queue=[entry], lambda_function=[], topic=[])
    planned = plan_create(block, proposed, aws.special("aws_s3_bucket_notification"))
    assert planned["id"] is Unknown and planned["queue"][0]["queue_arn"] == entry["queue_arn"]
    new = fill(block, planned, aws.generator("aws_s3_bucket_notification", planned))
    assert new["id"] == "b"
    assert new["queue"] == [{**entry, "filter_prefix": None, "filter_suffix": None}]


def _statement(**kw) -> dict:
    base = {k: None for k in ("sid", "effect", "actions", "not_actions", "resources", "not_resources")}
    base.update(principals=[], not_principals=[], condition=[])
    base.update(kw)
    return base


def test_policy_document_renders_as_hashicorp_aws() -> None:
    """The provider's own acceptance-test document (policy_document_data_source_test.go,
    testAccAWSIAMPolicyDocumentConfig), with the current model's omitted empty Sid."""
    config = {
        "policy_id": "policy_id",
        "version": None,
        "statement": [
            _statement(sid="1", actions=["s3:ListAllMyBuckets", "s3:GetBucketLocation"], resources=["arn:aws:s3:::*"]),
            _statement(
                actions=["s3:ListBucket"],
                resources=["arn:aws:s3:::foo"],
                condition=[{"test": "StringLike", "variable": "s3:prefix", "values": ["home/", "", "home/&{aws:username}/"]}],
                not_principals=[{"type": "AWS", "identifiers": ["arn:blahblah:example"]}],
            ),
            _statement(
                actions=["s3:*"],
                resources=["arn:aws:s3:::foo/home/&{aws:username}", "arn:aws:s3:::foo/home/&{aws:username}/*"],
                principals=[{"type": "AWS", "identifiers": ["arn:blahblah:example"]}],
            ),
            _statement(effect="Deny", not_actions=["s3:*"], not_resources=["arn:aws:s3:::*"]),
            _statement(effect="Allow", actions=["kinesis:*"], principals=[{"type": "AWS", "identifiers": ["*"]}]),
            _statement(effect="Allow", actions=["firehose:*"], principals=[{"type": "*", "identifiers": ["*"]}]),
        ],
    }
    expected = """{
  "Version": "2012-10-17",
  "Id": "policy_id",
  "Statement": [
    {
      "Sid": "1",
      "Effect": "Allow",
      "Action": [
        "s3:ListAllMyBuckets",
        "s3:GetBucketLocation"
      ],
      "Resource": "arn:aws:s3:::*"
    },
    {
      "Effect": "Allow",
      "Action": "s3:ListBucket",
      "Resource": "arn:aws:s3:::foo",
      "NotPrincipal": {
        "AWS": "arn:blahblah:example"
      },
      "Condition": {
        "StringLike": {
          "s3:prefix": [
            "home/",
            "",
            "home/${aws:username}/"
          ]
        }
      }
    },
    {
      "Effect": "Allow",
      "Action": "s3:*",
      "Resource": [
        "arn:aws:s3:::foo/home/${aws:username}/*",
        "arn:aws:s3:::foo/home/${aws:username}"
      ],
      "Principal": {
        "AWS": "arn:blahblah:example"
      }
    },
    {
      "Effect": "Deny",
      "NotAction": "s3:*",
      "NotResource": "arn:aws:s3:::*"
    },
    {
      "Effect": "Allow",
      "Action": "kinesis:*",
      "Principal": {
        "AWS": "*"
      }
    },
    {
      "Effect": "Allow",
      "Action": "firehose:*",
      "Principal": "*"
    }
  ]
}"""
    out = render_policy_document(config)
    assert out["json"] == expected
    assert json.loads(out["minified_json"]) == json.loads(expected) and "\n" not in out["minified_json"]


def test_launchers_run_this_python_from_the_mirror() -> None:
    launchers = sorted(p for p in (STANDIN / "mirror").rglob("terraform-provider-*") if p.is_file())
    assert {p.name.split("_v")[0] for p in launchers} == {"terraform-provider-aws", "terraform-provider-random"}
    for p in launchers:
        assert p.stat().st_mode & 0o111, f"{p} is not executable"
        assert "-m standin serve" in p.read_text()
    # The commands tests start once and attach to (tfrun.Providers) are the launchers' own.
    commands = json.loads((STANDIN / "providers.json").read_text())
    assert len(commands) == len(launchers)
    for c, p in zip(sorted(commands, key=lambda c: c["source"]), launchers):
        assert p.parent.parts[-3:-1] == (c["source"].rsplit("/", 1)[-1], c["version"])
        assert " ".join(f'"{a}"' if a.startswith("/") else a for a in c["command"]) in p.read_text()
    assert 'filesystem_mirror' in (STANDIN / "terraformrc").read_text()
    assert Path(STANDIN / "terraformrc").read_text().count("direct") == 0, "no registry download may be configured"
