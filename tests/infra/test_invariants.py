"""Every wiring invariant holds on the real infra/ tree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from invariants import CHECKS
from tfmodel import Infra, all_blocks, as_list, text_of


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_invariant_holds(infra: Infra, name: str) -> None:
    problems = CHECKS[name](infra)
    assert problems == [], f"invariant {name} is broken:\n  " + "\n  ".join(problems)


def test_model_sees_the_whole_deployment(infra: Infra) -> None:
    """Guards against checks passing vacuously because the model found nothing to check."""
    assert set(infra.modules) == {"modules/filetrail", "modules/filetrail-stages", "modules/filetrail-auditor", "examples/complete"}
    functions = sorted(name for _, name, _ in infra.all_resources("aws_lambda_function"))
    assert functions == ["auditor", "processor", "recorder", "sorter"]
    assert len(list(infra.all_resources("aws_lambda_event_source_mapping"))) == 1
    assert len(list(infra.all_resources("aws_timestreamwrite_table"))) == 1
    assert len(list(infra.all_resources("aws_timestreaminfluxdb_db_instance"))) == 1
    assert len(list(infra.all_resources("aws_cloudwatch_event_target"))) == 3
    assert len(list(infra.all_resources("aws_sqs_queue_policy"))) == 5
    assert len(list(infra.all_resources("aws_s3_bucket_notification"))) == 3
    assert len(list(infra.all_resources("aws_cloudwatch_event_bus_policy"))) == 1
    assert len(list(infra.all_resources("aws_cloudwatch_metric_alarm"))) == 14
    # Five role policies, four trust policies' shared documents, five queue and one bus policy.
    assert len(list(infra.policy_documents())) >= 12


def test_describe_calls_are_the_only_stars(infra: Infra) -> None:
    """The '*' resources exist, and they are DescribeEndpoints (Timestream sink) and the two
    EC2 Describe calls of the VPC attachment (InfluxDB sink), each alone in its statement, for
    the recorder and the auditor."""
    stars = sorted(
        (mod.rel, name, tuple(st.get("actions")))
        for mod, name, doc in infra.policy_documents()
        for st in all_blocks(doc, "statement")
        if "*" in as_list(st.get("resources"))
    )
    assert stars == [
        ("modules/filetrail", "recorder", ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")),
        ("modules/filetrail", "recorder", ("timestream:DescribeEndpoints",)),
        ("modules/filetrail-auditor", "auditor", ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")),
        ("modules/filetrail-auditor", "auditor", ("timestream:DescribeEndpoints",)),
    ]


def test_example_deploys_what_make_package_builds(infra: Infra) -> None:
    """The zips the example deploys are exactly the binaries `make package` builds."""
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    m = re.search(r"^LAMBDA_BINS\s*:?=\s*(.+)$", makefile, re.M)
    assert m, "Makefile has no LAMBDA_BINS"
    built = set(m.group(1).split())
    zips = infra.modules["examples/complete"].locals["zip"]
    deployed = {re.search(r"(filetrail-[a-z]+)/bootstrap\.zip$", text_of(v)).group(1) for v in zips.values()}
    assert deployed == built
