"""The publisher against a real boto3 EventBridge client whose answers are replayed in AWS's
shapes (botocore's Stubber: the request is validated against the service model, the response
parsed as a real one): batching, sizing, partial failures, retries, jitter, the deadline; and
against a local endpoint that never answers: no call outlives the deadline."""

import json
import random
import socket
import threading
import time

import boto3
import pytest
from botocore.stub import ANY, Stubber

from conftest import ROOT

import filetrail.publisher as publisher_module
from filetrail import BackoffSettings, Publisher, PublishError, client_config, entry_size, file_moved, pack_batches
from filetrail.limits import MAX_ENTRIES_PER_CALL, MAX_REQUEST_BYTES, RETRYABLE_ENTRY_CODES

FAST = BackoffSettings(min_delay_s=0.001, max_delay_s=0.01)
BUS = "filetrail-test"


def client(**kw):
    return boto3.client("events", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing", **kw)


def events(n, tag="e"):
    return [
        file_moved("PUT", f"{tag}/hermes_eea_l0_2024001-{i:06d}_v01.bin", source_bucket="hermes-incoming",
                   destination_bucket="hermes-eea", occurred_at="2024-05-01T12:00:00.000Z")
        for i in range(n)
    ]


def entries_for(evs, source="sdc.sorter"):
    return [
        {"Source": source, "DetailType": "FileMoved", "EventBusName": BUS,
         "Detail": json.dumps(e, separators=(",", ":"), ensure_ascii=False)}
        for e in evs
    ]


def ok(n, start=0):
    return {"FailedEntryCount": 0, "Entries": [{"EventId": f"env-{start + i}"} for i in range(n)]}


def publisher(c, deadline_s=5.0):
    return Publisher(BUS, "sdc.sorter", client=c, deadline_s=deadline_s, backoff=FAST, rng=random.Random(1))


def test_25_events_take_three_calls_of_10_10_and_5_in_order():
    c = client()
    evs = events(25)
    with Stubber(c) as stub:
        for lo, hi in [(0, 10), (10, 20), (20, 25)]:
            stub.add_response("put_events", ok(hi - lo, lo), {"Entries": entries_for(evs[lo:hi])})
        report = publisher(c).publish(evs)
        stub.assert_no_pending_responses()
    assert (report.calls, report.retried) == (3, 0)
    assert [(d.event_id, d.envelope_id) for d in report.delivered] == [(e["event_id"], f"env-{i}") for i, e in enumerate(evs)]


def test_only_throttled_and_internal_failures_are_sent_again():
    c = client()
    evs = events(6)
    first = {
        "FailedEntryCount": 3,
        "Entries": [
            {"EventId": "env-0"},
            {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"},
            {"EventId": "env-2"},
            {"ErrorCode": "InternalFailure", "ErrorMessage": "internal"},
            {"ErrorCode": "InvalidArgument", "ErrorMessage": "Parameter Detail is not valid."},
            {"EventId": "env-5"},
        ],
    }
    with Stubber(c) as stub:
        stub.add_response("put_events", first, {"Entries": entries_for(evs)})
        stub.add_response("put_events", ok(2, 10), {"Entries": entries_for([evs[1], evs[3]])})
        with pytest.raises(PublishError) as err:
            publisher(c).publish(evs)
        stub.assert_no_pending_responses()
    failures = err.value.failures
    assert [(f.event_id, f.code) for f in failures] == [(evs[4]["event_id"], "InvalidArgument")]
    report = err.value.report
    assert (report.calls, report.retried, len(report.delivered)) == (2, 2, 5)
    assert {d.event_id for d in report.delivered} == {e["event_id"] for i, e in enumerate(evs) if i != 4}


def test_retryable_codes_are_the_rust_publishers():
    """The call and entry codes retried are the Rust classifier's (the JSON both languages'
    tests read), and per entry exactly AWS's two retryable ErrorCodes."""
    shared = json.loads((ROOT / "crates/filetrail-aws/eventbridge-retryable-codes.json").read_text())
    assert publisher_module.RETRYABLE_CALL_CODES == frozenset(shared["call"])
    assert list(RETRYABLE_ENTRY_CODES) == shared["entry"] == ["ThrottlingException", "InternalFailure"]


def test_an_entry_is_sent_again_only_with_a_retryable_entry_code():
    """Codes that make a whole call retryable are final when an entry carries them."""
    c = client()
    evs = events(2)
    answer = {
        "FailedEntryCount": 2,
        "Entries": [{"ErrorCode": "InternalException", "ErrorMessage": "m"}, {"ErrorCode": "ServiceUnavailable", "ErrorMessage": "m"}],
    }
    with Stubber(c) as stub:
        stub.add_response("put_events", answer, {"Entries": entries_for(evs)})
        with pytest.raises(PublishError) as err:
            publisher(c).publish(evs)
        stub.assert_no_pending_responses()
    assert [f.code for f in err.value.failures] == ["InternalException", "ServiceUnavailable"]
    assert (err.value.report.calls, err.value.report.retried) == (1, 0)


@pytest.mark.parametrize(
    "code,status,retried",
    [("ThrottlingException", 400, True), ("InternalFailure", 500, True), ("InternalException", 500, True),
     ("ServiceUnavailable", 503, True), ("AccessDeniedException", 400, False), ("ValidationException", 400, False)],
)
def test_whole_call_errors_are_retried_only_when_transient(code, status, retried):
    c = client()
    evs = events(3)
    with Stubber(c) as stub:
        stub.add_client_error("put_events", service_error_code=code, service_message="m", http_status_code=status)
        if retried:
            stub.add_response("put_events", ok(3), {"Entries": entries_for(evs)})
            report = publisher(c).publish(evs)
            assert (report.calls, report.retried, len(report.delivered)) == (2, 3, 3)
        else:
            with pytest.raises(PublishError) as err:
                publisher(c).publish(evs)
            assert [f.code for f in err.value.failures] == [code] * 3
            assert err.value.report.calls == 1
        stub.assert_no_pending_responses()


def test_retries_end_at_the_deadline_with_every_entry_reported():
    c = client()
    evs = events(2)
    throttled = {"FailedEntryCount": 2, "Entries": [{"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}] * 2}
    with Stubber(c) as stub:
        for _ in range(200):
            stub.add_response("put_events", throttled, {"Entries": ANY})
        start = time.monotonic()
        with pytest.raises(PublishError) as err:
            Publisher(BUS, "sdc.sorter", client=c, deadline_s=0.3, backoff=BackoffSettings(0.01, 0.05)).publish(evs)
        elapsed = time.monotonic() - start
    assert elapsed < 0.3 + 0.2, "no delay runs past the deadline"
    assert [f.event_id for f in err.value.failures] == [e["event_id"] for e in evs]
    assert all(f.code == "ThrottlingException" and "publish deadline" in f.message for f in err.value.failures)
    assert err.value.report.calls >= 3 and err.value.report.delivered == []


def test_an_invalid_event_is_reported_unsent_and_holds_back_no_neighbour():
    c = client()
    good = events(2)
    forged = dict(good[0], event_id="0" * 32)
    with Stubber(c) as stub:
        stub.add_response("put_events", ok(2), {"Entries": entries_for(good)})
        with pytest.raises(PublishError) as err:
            publisher(c).publish([good[0], forged, good[1]])
        stub.assert_no_pending_responses()
    assert [(f.event_id, f.code) for f in err.value.failures] == [("0" * 32, "InvalidEvent")]
    assert err.value.failures[0].message.startswith("event_id: ")
    assert len(err.value.report.delivered) == 2


def test_a_response_describing_other_entries_is_retried():
    c = client()
    evs = events(2)
    with Stubber(c) as stub:
        stub.add_response("put_events", ok(1), {"Entries": ANY})
        stub.add_response("put_events", ok(2), {"Entries": entries_for(evs)})
        report = publisher(c).publish(evs)
    assert (report.calls, len(report.delivered)) == (2, 2)


def test_entries_are_sized_as_aws_documents():
    # Source + DetailType + Detail in UTF-8 bytes (no Time, no Resources).
    assert entry_size("sdc.sorter", '{"k":"é"}') == len("sdc.sorter") + len("FileMoved") + len('{"k":"é"}'.encode())
    rng = random.Random(7)
    for _ in range(200):
        sizes = [rng.choice([1, 100, 30_000, 100_000, 200_000, MAX_REQUEST_BYTES]) for _ in range(rng.randrange(1, 40))]
        batches = pack_batches(range(len(sizes)), lambda i: sizes[i])
        assert [i for b in batches for i in b] == list(range(len(sizes))), "every entry once, in order"
        for b in batches:
            assert 1 <= len(b) <= MAX_ENTRIES_PER_CALL
            assert sum(sizes[i] for i in b) <= MAX_REQUEST_BYTES
        for prev, nxt in zip(batches, batches[1:]):
            # A new batch starts only when the next entry does not fit the previous one.
            assert len(prev) == MAX_ENTRIES_PER_CALL or sum(sizes[i] for i in prev) + sizes[nxt[0]] > MAX_REQUEST_BYTES


def test_configuration_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("FILETRAIL_EVENT_BUS", raising=False)
    with pytest.raises(ValueError, match="FILETRAIL_EVENT_BUS"):
        Publisher(client=client())
    monkeypatch.setenv("FILETRAIL_EVENT_BUS", "bus-a")
    monkeypatch.setenv("FILETRAIL_EVENT_SOURCE", "aws.s3")
    with pytest.raises(ValueError, match="FILETRAIL_EVENT_SOURCE"):
        Publisher(client=client())
    monkeypatch.setenv("FILETRAIL_EVENT_SOURCE", "sdc.sorter")
    monkeypatch.setenv("FILETRAIL_PUBLISH_DEADLINE_MS", "2500")
    # The signature's default is the deadline of Publisher(...); from_env reads all three
    # variables, as the Rust PublisherConfig::from_env (log_to_timestream uses it).
    p = Publisher(client=client())
    assert (p.bus, p.source, p.deadline_s) == ("bus-a", "sdc.sorter", 10.0)
    p = Publisher.from_env(client=client())
    assert (p.bus, p.source, p.deadline_s) == ("bus-a", "sdc.sorter", 2.5)
    monkeypatch.setenv("FILETRAIL_PUBLISH_DEADLINE_MS", "soon")
    with pytest.raises(ValueError, match="FILETRAIL_PUBLISH_DEADLINE_MS"):
        Publisher.from_env(client=client())
    monkeypatch.delenv("FILETRAIL_PUBLISH_DEADLINE_MS")
    assert Publisher.from_env(client=client()).deadline_s == 10.0


def test_boto3_retries_and_timeouts_are_the_rust_sdk_settings(monkeypatch):
    # crates/filetrail-aws/src/sdk.rs: standard mode, 3 attempts, connect 3.1 s, 10 s an attempt.
    monkeypatch.delenv("AWS_RETRY_MODE", raising=False)
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    config = client_config()
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert (config.connect_timeout, config.read_timeout) == (3.1, 10.0)
    # The publisher's own client is made with it.
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    made = Publisher(BUS, "sdc.sorter").client.meta.config
    assert (made.retries, made.connect_timeout, made.read_timeout) == (config.retries, 3.1, 10.0)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "5")
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    assert client_config().retries == {"mode": "adaptive", "total_max_attempts": 5}
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "many")
    with pytest.raises(ValueError, match="AWS_MAX_ATTEMPTS"):
        client_config()


def test_backoff_is_jittered_by_the_rng(monkeypatch):
    """Each delay is the backon shape's d_n = min(min * 2^n, max) times (1 + U[0, 1)) drawn from
    the publisher's RNG: seeded, the delays are exactly those draws; without jitter (or with
    another source of randomness) they would not be."""
    slept = []
    monkeypatch.setattr(publisher_module.time, "sleep", slept.append)
    settings = BackoffSettings(min_delay_s=0.05, max_delay_s=0.4)
    throttled = {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}]}

    def delays(seed):
        slept.clear()
        c = client()
        with Stubber(c) as stub:
            for _ in range(6):
                stub.add_response("put_events", throttled, {"Entries": ANY})
            stub.add_response("put_events", ok(1), {"Entries": ANY})
            Publisher(BUS, "sdc.sorter", client=c, deadline_s=60, backoff=settings, rng=random.Random(seed)).publish(events(1))
            stub.assert_no_pending_responses()
        return list(slept)

    bases = [0.05, 0.1, 0.2, 0.4, 0.4, 0.4]
    draws = random.Random(11)
    assert delays(11) == pytest.approx([b * (1 + draws.random()) for b in bases], rel=1e-12)
    assert delays(11) == delays(11), "the same seed, the same delays"
    other = delays(12)
    assert other != delays(11)
    assert all(b <= d < 2 * b for b, d in zip(bases, other)) and other != bases


def test_backoff_jitter_spreads_over_its_whole_range():
    """Unseeded, 2,000 first delays cover [d, 2d): no constant delay, no narrow band."""
    firsts = [
        publisher_module._Backoff(BackoffSettings(min_delay_s=0.05), time.monotonic() + 60, random.Random()).next_delay()
        for _ in range(2000)
    ]
    assert all(d is not None and 0.05 <= d < 0.1 for d in firsts)
    assert min(firsts) < 0.05 * 1.05 and max(firsts) > 0.1 * 0.95, (min(firsts), max(firsts))
    assert len(set(firsts)) > 1900
    assert 0.07 < sum(firsts) / len(firsts) < 0.08


class SilentEndpoint:
    """A local HTTP endpoint that takes every request and never answers it."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.requests = 0
        self.received = threading.Condition()
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn):
        data = b""
        while b"\r\n\r\n" not in data:
            try:
                chunk = conn.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            data += chunk
        with self.received:
            self.requests += 1
            self.received.notify_all()

    def wait_for(self, n, timeout=10):
        with self.received:
            assert self.received.wait_for(lambda: self.requests >= n, timeout), f"{self.requests} of {n} requests arrived"

    def close(self):
        self.listener.close()
        for c in self.conns:
            c.close()


@pytest.fixture
def silent():
    endpoint = SilentEndpoint()
    yield endpoint
    endpoint.close()


def test_a_call_that_never_answers_is_cut_at_the_deadline(silent):
    """The client is client_config()'s (10 s to answer, 3 attempts): publish still returns at
    its 0.5 s deadline, every entry failed as possibly delivered; the second batch of 11
    entries is never sent, since the deadline came first."""
    c = client(endpoint_url=silent.url, config=client_config())
    evs = events(11)
    start = time.monotonic()
    with pytest.raises(PublishError) as err:
        Publisher(BUS, "sdc.sorter", client=c, deadline_s=0.5, backoff=FAST).publish(evs)
    elapsed = time.monotonic() - start
    silent.wait_for(1)
    assert 0.5 <= elapsed < 0.5 + 0.3, elapsed
    assert err.value.report.calls == 1 and err.value.report.delivered == []
    failures = {f.event_id: f for f in err.value.failures}
    assert list(failures) == [e["event_id"] for e in evs]
    for e in evs[:10]:
        f = failures[e["event_id"]]
        assert f.code == "Timeout" and "did not answer before the publish deadline; the entries may have been delivered" in f.message
        assert "gave up after 1 attempts" in f.message
    last = failures[evs[10]["event_id"]]
    assert last.code == "Timeout" and "before the call was sent; not delivered" in last.message
    assert "gave up after 0 attempts" in last.message
    assert silent.requests == 1
