"""``log_to_timestream`` takes its arguments as every ``sdc_aws_utils`` version names them,
publishing through a real boto3 EventBridge client whose answers botocore's Stubber replays."""

import inspect
import logging
import time
from datetime import datetime, timezone

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from test_publisher import BUS, client, entries_for, ok, silent  # noqa: F401 (silent: a fixture)

from filetrail import Publisher, PublishError, client_config, file_moved, log_to_timestream
from filetrail.compat import LAMBDA_RESERVE_S

T = "2024-05-01T12:00:00.000Z"
MOVE = dict(action_type="PUT", file_key="hermes_eea_l0_2024001-000000_v01.bin",
            new_file_key="l0/2024/hermes_eea_l0_2024001-000000_v01.bin",
            source_bucket="hermes-incoming", destination_bucket="hermes-eea")


@pytest.fixture
def publishes(monkeypatch):
    """Calls log_to_timestream with a stubbed publisher; checks the one entry it sent."""
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    expected = file_moved(**MOVE, occurred_at=T)

    def call(*args, **kwargs):
        c = client()
        with Stubber(c) as stub:
            stub.add_response("put_events", ok(1), {"Entries": entries_for([expected])})
            detail = log_to_timestream(*args, **kwargs, publisher=Publisher(BUS, "sdc.sorter", client=c), occurred_at=T)
            stub.assert_no_pending_responses()
        assert detail == expected
        return detail

    return call


def test_the_first_parameter_by_its_name(publishes):
    publishes(timestream_client=object(), **MOVE, environment="PRODUCTION")


def test_the_first_parameter_by_the_misspelled_name_of_an_older_sdc_aws_utils(publishes):
    # An older sdc_aws_utils.aws.log_to_timestream(timesteam_client, action_type, file_key, ...).
    publishes(timesteam_client=object(), **MOVE)


def test_positionally(publishes):
    m = MOVE
    publishes(object(), m["action_type"], m["file_key"], m["new_file_key"], m["source_bucket"], m["destination_bucket"], "DEV")


def test_a_missing_argument_or_the_client_twice_is_a_type_error():
    with pytest.raises(TypeError, match="'action_type'"):
        log_to_timestream(timesteam_client=None, file_key="k.bin")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="'file_key'"):
        log_to_timestream(None, "PUT")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="twice"):
        log_to_timestream(object(), "PUT", "k.bin", timesteam_client=object())  # type: ignore[call-overload]


def test_the_parameters_are_sdc_aws_utils_in_its_order():
    names = list(inspect.signature(log_to_timestream).parameters)
    assert names[:7] == ["timestream_client", "action_type", "file_key", "new_file_key", "source_bucket",
                         "destination_bucket", "environment"]
    assert "timesteam_client" in names


# --- One deadline for the whole call, HeadObject included ------------------------------------

LM_SOURCE = datetime(2024, 5, 1, 11, 59, 58, 123000, tzinfo=timezone.utc)
LM_WRITTEN = datetime(2024, 5, 1, 12, 0, 1, tzinfo=timezone.utc)
LM_RECOPIED = datetime(2024, 5, 1, 12, 5, 0, tzinfo=timezone.utc)


def s3_client(**kw):
    # Path-style, so that a local endpoint's URL is used as it is.
    config = client_config().merge(Config(s3={"addressing_style": "path"}))
    return boto3.client("s3", region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=config, **kw)


class Context:
    """What Lambda's Python runtime passes a handler, as far as log_to_timestream reads it."""

    def __init__(self, remaining_ms):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self):
        return self.remaining_ms


def unsent_publisher():
    """A publisher whose client refuses any call: nothing may be published."""
    c = client()
    Stubber(c).activate()  # no response queued: a put_events would raise UnStubbedResponseError
    return Publisher(BUS, "sdc.sorter", client=c, deadline_s=0.5)


def test_a_head_object_that_never_answers_is_cut_at_the_deadline_and_nothing_is_published(silent):
    """The S3 client is client_config()'s (3 attempts of up to 3.1 s + 10 s each): the call still
    ends at the publisher's 0.5 s deadline, which began before the HeadObject, and the second
    HeadObject (the written object's) is never sent."""
    s3 = s3_client(endpoint_url=silent.url)
    start = time.monotonic()
    with pytest.raises(TimeoutError, match=r"HeadObject of s3://hermes-incoming/.* did not answer .*nothing was published"):
        log_to_timestream(None, **MOVE, s3_client=s3, publisher=unsent_publisher())
    elapsed = time.monotonic() - start
    silent.wait_for(1)
    assert 0.5 <= elapsed < 0.5 + 0.3, elapsed
    assert silent.requests == 1


def test_a_shorter_remaining_lambda_time_ends_the_call_sooner(silent):
    """lambda_context=: the call ends LAMBDA_RESERVE_S before the invocation does, when that is
    before the publisher's deadline; with no time left it sends nothing."""
    s3 = s3_client(endpoint_url=silent.url)
    publisher = unsent_publisher()
    publisher.deadline_s = 10.0
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        log_to_timestream(None, **MOVE, s3_client=s3, publisher=publisher, lambda_context=Context(1000))
    elapsed = time.monotonic() - start
    assert 1.0 - LAMBDA_RESERVE_S <= elapsed < 1.0 - LAMBDA_RESERVE_S + 0.3, elapsed
    silent.wait_for(1)

    start = time.monotonic()
    with pytest.raises(TimeoutError):
        log_to_timestream(None, **MOVE, s3_client=s3, publisher=publisher, lambda_context=Context(400))
    assert time.monotonic() - start < 0.1
    assert silent.requests == 1, "no HeadObject is started after the deadline"
    with pytest.raises(TypeError, match="lambda_context"):
        log_to_timestream(None, **MOVE, s3_client=s3, publisher=publisher, lambda_context=object())


class SlowS3:
    """An S3 client whose HeadObject answers after `delay` seconds."""

    def __init__(self, delay, modified):
        self.delay, self.modified = delay, modified

    def head_object(self, Bucket, Key):
        time.sleep(self.delay)
        return {"LastModified": self.modified}


def test_the_publish_gets_only_what_the_head_object_left_of_the_deadline(silent):
    """HeadObject takes 0.3 s of a 0.6 s deadline; PutEvents to an endpoint that never answers is
    cut at 0.6 s from the call's start, not 0.6 s after the HeadObject."""
    events_client = client(endpoint_url=silent.url, config=client_config())
    publisher = Publisher(BUS, "sdc.sorter", client=events_client, deadline_s=0.6)
    start = time.monotonic()
    with pytest.raises(PublishError) as err:
        log_to_timestream(None, **MOVE, s3_client=SlowS3(0.3, LM_SOURCE), publisher=publisher)
    elapsed = time.monotonic() - start
    assert 0.6 <= elapsed < 0.6 + 0.3, elapsed
    assert [f.code for f in err.value.failures] == ["Timeout"]


# --- The time: the source's Last-Modified; a stage logs before deleting the source --------------

def stubbed_s3(answers):
    """A real S3 client answering HeadObject in order: a datetime, or an HTTP status error."""
    s3 = s3_client()
    stub = Stubber(s3)
    for bucket, key, answer in answers:
        params = {"Bucket": bucket, "Key": key}
        if isinstance(answer, int):
            stub.add_client_error("head_object", service_error_code=str(answer), http_status_code=answer,
                                  expected_params=params)
        else:
            stub.add_response("head_object", {"LastModified": answer}, params)
    stub.activate()
    return s3, stub


def logged(answers, caplog):
    s3, stub = stubbed_s3(answers)
    c = client()
    with Stubber(c) as events:
        events.add_response("put_events", ok(1))
        with caplog.at_level(logging.WARNING, logger="filetrail"):
            detail = log_to_timestream(None, **MOVE, s3_client=s3, publisher=Publisher(BUS, "sdc.sorter", client=c))
    stub.assert_no_pending_responses()
    return detail


SOURCE = (MOVE["source_bucket"], MOVE["file_key"])
WRITTEN = (MOVE["destination_bucket"], MOVE["new_file_key"])


def test_logged_before_the_source_is_deleted_a_retried_copy_publishes_the_same_event(caplog, monkeypatch):
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    first = logged([(*SOURCE, LM_SOURCE)], caplog)
    retried = logged([(*SOURCE, LM_SOURCE)], caplog)  # the copy again: the written object is newer, unread
    assert first["occurred_at"] == "2024-05-01T11:59:58.123Z"
    assert retried["event_id"] == first["event_id"]
    assert not caplog.records


def test_logged_after_the_source_is_deleted_the_time_is_the_copys_and_a_retry_is_another_event(caplog, monkeypatch):
    """The documented hazard (README, "Migrating a Python stage"): once the source is gone, the
    time is the written object's Last-Modified, which a retried copy renews: a second event_id.
    A warning says what to do."""
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    first = logged([(*SOURCE, 404), (*WRITTEN, LM_WRITTEN)], caplog)
    assert first["occurred_at"] == "2024-05-01T12:00:01.000Z"
    assert "call log_to_timestream before deleting the source" in caplog.records[-1].getMessage()
    retried = logged([(*SOURCE, 404), (*WRITTEN, LM_RECOPIED)], caplog)
    assert retried["event_id"] != first["event_id"]
    # Neither object there (a DELETE logged after the delete): now, and the same warning.
    caplog.clear()
    gone = logged([(*SOURCE, 403), (*WRITTEN, 404)], caplog)
    assert gone["occurred_at"] > "2025"
    assert "call log_to_timestream before deleting the source" in caplog.records[-1].getMessage()
