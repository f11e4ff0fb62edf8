"""``log_to_timestream`` takes its arguments as every ``sdc_aws_utils`` version names them,
publishing through a real boto3 EventBridge client whose answers botocore's Stubber replays."""

import inspect

import pytest
from botocore.stub import Stubber
from test_publisher import BUS, client, entries_for, ok

from filetrail import Publisher, file_moved, log_to_timestream

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
