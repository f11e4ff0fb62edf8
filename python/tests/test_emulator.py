"""Against the emulator (moto_server, via AWS_ENDPOINT_URL): the package publishes to a bus
whose rule routes to a queue, the message is the envelope the recorder reads, and the real
``filetrail-recorder`` binary records it. A Python Lambda-style stage using
``log_to_timestream`` ends with one record per move, retried or not.
"""

import json
import os
import uuid
from collections import defaultdict
from typing import Any, Dict, List

import boto3
import pytest
import sorting_stage
from lambda_harness import ROOT, Function, drain_queue, timestream_records

from filetrail import Publisher, file_moved, log_to_timestream, validate
from filetrail.contract import canonical, parse_occurred_at
from filetrail.publisher import ENV_EVENT_BUS, ENV_EVENT_SOURCE

#: The deployed FileMoved rule's event pattern, read from the Terraform module's own file (as the
#: Rust test kit does, crates/filetrail-testkit/src/pipeline.rs).
RULE_PATTERN = json.loads((ROOT / "infra/modules/filetrail/file-moved-pattern.json").read_text())
S3_EVENT_FIXTURE = ROOT / "crates/filetrail-testkit/fixtures/s3-event.json"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class Route:
    """A bus, a rule matching FileMoved, and the queue it targets, uniquely named."""

    def __init__(self, events: Any, sqs: Any) -> None:
        self.bus = unique("ft-py-bus")
        events.create_event_bus(Name=self.bus)
        self.queue_url = sqs.create_queue(QueueName=f"{self.bus}-q")["QueueUrl"]
        self.queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        rule = f"{self.bus}-rule"
        events.put_rule(Name=rule, EventBusName=self.bus, EventPattern=json.dumps(RULE_PATTERN))
        events.put_targets(Rule=rule, EventBusName=self.bus, Targets=[{"Id": "queue", "Arn": self.queue_arn}])


@pytest.fixture
def clients(endpoint: str) -> Dict[str, Any]:
    return {
        "events": boto3.client("events"),
        "sqs": boto3.client("sqs"),
        "s3": boto3.client("s3"),
        # Timestream's endpoint discovery ignores AWS_ENDPOINT_URL; an explicit URL turns it off.
        "timestream": boto3.client("timestream-write", endpoint_url=endpoint),
    }


@pytest.fixture
def route(clients: Dict[str, Any]) -> Route:
    return Route(clients["events"], clients["sqs"])


def receive_all(sqs: Any, queue_url: str, expected: int) -> List[Dict[str, Any]]:
    """Receive (without deleting) until ``expected`` messages arrived and one more poll is empty."""
    got: Dict[str, Dict[str, Any]] = {}
    empty = 0
    for _ in range(120):
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=300).get("Messages", [])
        for m in batch:
            got[m["MessageId"]] = m
        empty = empty + 1 if not batch else 0
        if len(got) >= expected and empty:
            break
    return list(got.values())


def test_published_events_reach_the_queue_as_the_envelope_the_recorder_reads(clients, route):
    publisher = Publisher(route.bus, "sdc.python-test")
    events = [
        file_moved(
            "PUT",
            f"hermes_eea_l0_2024001-{i:06d}_v01.bin",
            new_file_key=f"l0/2024/hermes_eea_l0_2024001-{i:06d}_v01.bin",
            source_bucket="hermes-incoming",
            destination_bucket="hermes-eea",
            stage="sdc.sorter",
        )
        for i in range(25)
    ]
    report = publisher.publish(events)
    assert (len(report.delivered), report.calls, report.retried) == (25, 3, 0)

    messages = receive_all(clients["sqs"], route.queue_url, 25)
    assert len(messages) == 25
    by_id = {e["event_id"]: e for e in events}
    envelope_ids = {d.event_id: d.envelope_id for d in report.delivered}
    for m in messages:
        envelope = json.loads(m["Body"])
        # The EventBridge envelope, as an SQS target of the rule receives it, with what the
        # recorder reads of it (crates/filetrail-contract/src/inbound.rs): detail, detail-type,
        # id, source. (moto leaves out the envelope's "account".)
        assert {"version", "id", "detail-type", "source", "time", "region", "resources", "detail"} <= set(envelope)
        assert (envelope["detail-type"], envelope["source"]) == ("FileMoved", "sdc.python-test")
        detail = envelope["detail"]
        validate(detail)
        assert detail == canonical(by_id[detail["event_id"]])
        assert envelope["id"] == envelope_ids[detail["event_id"]]
    assert {json.loads(m["Body"])["detail"]["event_id"] for m in messages} == set(by_id)


def seed_record(detail: Dict[str, Any]) -> Dict[str, Any]:
    """The record the recorder's seed layout writes for ``detail`` (as moto stores it)."""
    ms = parse_occurred_at(detail["occurred_at"])
    assert ms is not None
    na = lambda v: v if v is not None else "N/A"  # noqa: E731
    return {
        "dimensions": {
            "action_type": detail["action_type"],
            "source_bucket": na(detail["source_bucket"]),
            "destination_bucket": na(detail["destination_bucket"]),
            "file_key": detail["file_key"],
            "new_file_key": na(detail["new_file_key"]),
            "event_id": detail["event_id"],
        },
        "time": str(ms),
        "measure_value": f"{ms // 1000}.{ms % 1000:03d}",
    }


def stored(record: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "dimensions": {d["Name"]: d["Value"] for d in record["Dimensions"]},
        "time": record["Time"],
        "measure_value": record["MeasureValue"],
    }


def test_a_python_stage_using_log_to_timestream_ends_with_one_record_per_move(
    clients, route, endpoint, recorder_bin, tmp_path, monkeypatch
):
    s3, sqs = clients["s3"], clients["sqs"]
    suffix = uuid.uuid4().hex[:8]
    prefix = f"t{suffix}-"
    incoming = f"{prefix}hermes-incoming"
    for b in (incoming, f"{prefix}hermes-eea", f"{prefix}hermes-merit"):
        s3.create_bucket(Bucket=b)
    database, table = unique("ftdb"), "sdc_aws_s3_bucket_log_table"
    clients["timestream"].create_database(DatabaseName=database)
    clients["timestream"].create_table(DatabaseName=database, TableName=table)

    monkeypatch.setenv(ENV_EVENT_BUS, route.bus)
    monkeypatch.setenv(ENV_EVENT_SOURCE, "sdc.sorter")
    monkeypatch.setenv("BUCKET_PREFIX", prefix)
    files = [
        "hermes_EEA_l0_2022259-030002_v01.bin",
        "hermes_MERIT_l0_2022259-030002_v01.bin",
        "hermes_EEA_l0_2022260-000000_v02.bin",
    ]
    for name in files:
        s3.put_object(Bucket=incoming, Key=name, Body=name.encode())

    def notification(key: str) -> Dict[str, Any]:
        event = json.loads(S3_EVENT_FIXTURE.read_text())
        event["Records"][0]["s3"]["bucket"]["name"] = incoming
        event["Records"][0]["s3"]["object"]["key"] = key
        return event

    # File 0: sorted once. File 1: S3 delivers its notification twice. File 2: the first
    # invocation fails after logging (its notification step raises), Lambda retries it.
    sorting_stage.handler(notification(files[0]), None)
    sorting_stage.handler(notification(files[1]), None)
    sorting_stage.handler(notification(files[1]), None)
    failing = {"left": 1}

    def flaky_notify(new_file_key: str) -> None:
        if failing["left"]:
            failing["left"] -= 1
            raise RuntimeError("Slack is down")

    monkeypatch.setattr(sorting_stage, "notify", flaky_notify)
    with pytest.raises(RuntimeError):
        sorting_stage.handler(notification(files[2]), None)
    assert sorting_stage.handler(notification(files[2]), None)["statusCode"] == 200

    # The real recorder binary, invoked as Lambda's SQS event source mapping does.
    function = Function(
        recorder_bin,
        {"FILETRAIL_TIMESTREAM_DATABASE": database, "FILETRAIL_TIMESTREAM_TABLE": table},
        tmp_path,
    )
    try:
        handled = drain_queue(sqs, route.queue_url, route.queue_arn, function, expected=5)
    finally:
        function.stop()
    assert len(handled) == 5, "five invocations published five messages"
    details = [json.loads(m["Body"])["detail"] for m in handled]
    by_key = defaultdict(set)
    for d in details:
        by_key[d["file_key"]].add(d["event_id"])
    assert all(len(ids) == 1 for ids in by_key.values()), f"a retried stage publishes the same event: {by_key}"

    expected = {json.dumps(seed_record(d), sort_keys=True) for d in details}
    assert len(expected) == 3, "three moves"
    rows = timestream_records(endpoint, database, table)
    # moto appends every write; Timestream keeps one record per identity (dimensions, time,
    # measure), and a re-write of identical values is a plain success.
    distinct = {json.dumps(stored(r), sort_keys=True) for r in rows}
    assert distinct == expected, f"stored {rows}"
    for d in details:
        # The record's time is read from S3: the source's Last-Modified, when the file arrived.
        source = s3.head_object(Bucket=incoming, Key=d["file_key"])["LastModified"]
        assert parse_occurred_at(d["occurred_at"]) == int(source.timestamp() * 1000)


def test_log_to_timestream_refuses_what_the_contract_refuses_and_raises_when_not_published(clients, route, monkeypatch):
    monkeypatch.setenv(ENV_EVENT_BUS, route.bus)
    monkeypatch.setenv(ENV_EVENT_SOURCE, "sdc.sorter")
    # As sdc_aws_utils: a move needs a bucket (a ValueError), here naming the field.
    with pytest.raises(ValueError, match="source_bucket"):
        log_to_timestream(None, "PUT", "k.bin", occurred_at="2024-05-01T12:00:00Z")
    # A bus that does not exist: EventBridge refuses the entries and the error carries them.
    from filetrail import PublishError

    missing = Publisher(unique("no-such-bus"), "sdc.sorter", deadline_s=2)
    with pytest.raises(PublishError) as err:
        log_to_timestream(None, "PUT", "k.bin", source_bucket="hermes-incoming", publisher=missing,
                          occurred_at="2024-05-01T12:00:00Z")
    assert [f.event_id for f in err.value.failures] == [
        file_moved("PUT", "k.bin", source_bucket="hermes-incoming", occurred_at="2024-05-01T12:00:00Z")["event_id"]
    ]
    assert err.value.report.delivered == []
    # Nothing to take the time from: now, to the millisecond.
    detail = log_to_timestream(None, "DELETE", f"gone-{uuid.uuid4().hex}.bin", source_bucket=f"nb{uuid.uuid4().hex[:8]}")
    assert detail["occurred_at"].endswith("Z") and len(detail["occurred_at"]) == 24
    assert os.environ[ENV_EVENT_BUS] == route.bus
