"""Publishing FileMoved events to EventBridge: batches, partial-failure retry, every outcome.

The same rules as the Rust publisher (``crates/filetrail-publisher/src/publish.rs``):

- entries are packed in order into PutEvents calls of at most 10 entries and 256 KiB, each
  entry sized as AWS documents (Source + DetailType + Detail, in UTF-8 bytes);
- after each round only the entries whose per-entry ``ErrorCode`` is ``ThrottlingException``
  or ``InternalFailure`` (or whose whole call failed with a retryable error) are sent again,
  after a jittered exponential delay, until the deadline;
- no call outlives the deadline, however many botocore attempts it is in (the Rust side's
  ``tokio::time::timeout_at``): each runs in a worker thread that ``publish`` waits for only
  until the deadline, and none starts after it;
- every event ends exactly once as delivered or as a :class:`FailedEntry` with its last code;
  an invalid event is reported without being sent and never holds back its neighbours.
"""

import json
import os
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, TypeVar

from .contract import InvalidEvent, canonical, validate
from .limits import DETAIL_TYPE, MAX_ENTRIES_PER_CALL, MAX_REQUEST_BYTES, RETRYABLE_ENTRY_CODES

__all__ = [
    "BackoffSettings",
    "Delivered",
    "FailedEntry",
    "PublishError",
    "PublishReport",
    "Publisher",
    "client_config",
    "deadline_from_env",
    "entry_size",
    "pack_batches",
]

#: Bus name or ARN to publish to.
ENV_EVENT_BUS = "FILETRAIL_EVENT_BUS"
#: The ``Source`` of published events, e.g. ``sdc.sorter``.
ENV_EVENT_SOURCE = "FILETRAIL_EVENT_SOURCE"
#: How long one ``publish`` may take, in milliseconds (read by :meth:`Publisher.from_env`).
ENV_PUBLISH_DEADLINE_MS = "FILETRAIL_PUBLISH_DEADLINE_MS"
#: Default budget of one ``publish`` call, in seconds (the Rust ``DEFAULT_DEADLINE``).
DEFAULT_DEADLINE_S = 10.0

#: Codes this package gives entries that never reached EventBridge.
INVALID_EVENT = "InvalidEvent"
#: The entry alone is larger than one PutEvents call may carry.
ENTRY_TOO_LARGE = "EntryTooLarge"
#: The deadline came while a call was unanswered, or before it was sent (the Rust code).
TIMEOUT = "Timeout"
#: Message of an entry whose call was cut at the deadline (the Rust message).
CUT_MESSAGE = "PutEvents did not answer before the publish deadline; the entries may have been delivered"
#: Message of an entry whose call the deadline came before.
NOT_SENT_MESSAGE = "the publish deadline came before the call was sent; not delivered"

#: Whole-call error codes of EventBridge that name a transient failure: the common errors
#: ``ThrottlingException`` (400), ``InternalFailure`` (500) and ``ServiceUnavailable`` (503)
#: (https://docs.aws.amazon.com/eventbridge/latest/APIReference/CommonErrors.html) and PutEvents'
#: own ``InternalException`` (500,
#: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html#API_PutEvents_Errors).
#: The Rust classifier's ``Service::EventBridge`` list (``crates/filetrail-aws/src/classify.rs``);
#: both are pinned by ``crates/filetrail-aws/eventbridge-retryable-codes.json``. Any HTTP 429 or
#: 5xx answer and any connection failure is transient too.
RETRYABLE_CALL_CODES = frozenset({"ThrottlingException", "InternalFailure", "InternalException", "ServiceUnavailable"})

#: boto3's own retries, as the Rust side's SDK clients (``crates/filetrail-aws/src/sdk.rs``):
#: the "standard" mode with 3 attempts in all
#: (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html). boto3's own
#: default is "legacy" with 5 attempts and a narrower list of retried errors
#: (https://docs.aws.amazon.com/boto3/latest/guide/retries.html). AWS_RETRY_MODE and
#: AWS_MAX_ATTEMPTS still override it, as they do for the Rust SDK. botocore's delays between
#: its attempts are its own (standard mode: exponential and jittered, at most 20 s; no setting).
DEFAULT_RETRY_MODE = "standard"
#: Attempts per call in standard mode (the initial one and two retries; ``SDK_MAX_ATTEMPTS``).
DEFAULT_MAX_ATTEMPTS = 3
#: Connect timeout (``CONNECT_TIMEOUT``, 3.1 s).
CONNECT_TIMEOUT_S = 3.1
#: Read timeout: the Rust ``ATTEMPT_TIMEOUT`` (10 s, from sending to the whole response).
#: botocore has no whole-attempt timeout; its read timeout bounds each wait for the socket,
#: which for a PutEvents answer (a few hundred bytes) is the wait for the answer. botocore's
#: default is 60 s.
READ_TIMEOUT_S = 10.0


def client_config() -> Any:
    """The botocore ``Config`` the publisher's own EventBridge client uses (see the constants)."""
    from botocore.config import Config

    mode = os.environ.get("AWS_RETRY_MODE") or DEFAULT_RETRY_MODE
    attempts_text = os.environ.get("AWS_MAX_ATTEMPTS") or str(DEFAULT_MAX_ATTEMPTS)
    try:
        attempts = int(attempts_text)
    except ValueError:
        raise ValueError(f"AWS_MAX_ATTEMPTS: expected a whole number; got {attempts_text!r}") from None
    retries: Any = {"mode": mode, "total_max_attempts": attempts}
    return Config(
        retries=retries,
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
    )


@dataclass(frozen=True)
class BackoffSettings:
    """Shape of the backoff between rounds: first delay, cap, growth (the Rust defaults)."""

    min_delay_s: float = 0.05
    max_delay_s: float = 2.0
    factor: float = 2.0


class _Backoff:
    """Delays like the Rust side's (``backon``): ``d = min(min * factor^n, max)``, waited as
    ``d * (1 + U[0, 1))``; none that would end past the deadline."""

    def __init__(self, settings: BackoffSettings, deadline: float, rng: random.Random) -> None:
        self._settings = settings
        self._deadline = deadline
        self._rng = rng
        self._current: Optional[float] = None

    def next_delay(self) -> Optional[float]:
        s = self._settings
        if self._current is None:
            self._current = s.min_delay_s
        elif self._current < s.max_delay_s:
            self._current = min(self._current * s.factor, s.max_delay_s)
        delay = self._current * (1.0 + self._rng.random())
        return delay if time.monotonic() + delay < self._deadline else None


@dataclass(frozen=True)
class Delivered:
    """An event EventBridge accepted."""

    event_id: str
    envelope_id: str


@dataclass(frozen=True)
class FailedEntry:
    """An event that could not be published, with the last error code and message."""

    event_id: str
    code: str
    message: str


@dataclass
class PublishReport:
    """What one ``publish`` did."""

    delivered: List[Delivered] = field(default_factory=list)
    calls: int = 0
    retried: int = 0


class PublishError(Exception):
    """Some events failed for good; ``failures`` lists every one, ``report`` what was delivered."""

    def __init__(self, failures: List[FailedEntry], report: PublishReport) -> None:
        self.failures = failures
        self.report = report
        first = failures[0]
        super().__init__(
            f"{len(failures)} event(s) not published (first: {first.event_id}: {first.code}: {first.message})"
        )


@dataclass(frozen=True)
class _Entry:
    event_id: str
    source: str
    detail: str

    def request(self, bus: str) -> Dict[str, str]:
        return {"Source": self.source, "DetailType": DETAIL_TYPE, "Detail": self.detail, "EventBusName": bus}


def entry_size(source: str, detail: str, detail_type: str = DETAIL_TYPE) -> int:
    """Size of a PutEvents entry as AWS documents it: the UTF-8 bytes of Source, DetailType,
    Detail (and Resources, +14 with Time; filetrail sets neither).
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html"""
    return len(source.encode("utf-8")) + len(detail_type.encode("utf-8")) + len(detail.encode("utf-8"))


def pack_batches(indices: Sequence[int], size_of: Callable[[int], int]) -> List[List[int]]:
    """Pack entries (by index) into calls of at most 10 entries and 256 KiB each, in order;
    every index lands in exactly one batch (the Rust ``pack_batches``)."""
    batches: List[List[int]] = []
    size = 0
    for i in indices:
        n = size_of(i)
        if batches and len(batches[-1]) < MAX_ENTRIES_PER_CALL and size + n <= MAX_REQUEST_BYTES:
            batches[-1].append(i)
        else:
            batches.append([i])
            size = 0
        size += n
    return batches


def _classify(err: Exception) -> Tuple[bool, str, str]:
    """Whether a failed call may succeed if made again, its code and message."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        code = str(error.get("Code") or "Unknown")
        status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        retryable = code in RETRYABLE_CALL_CODES or status == 429 or status >= 500
        return retryable, code, str(error.get("Message") or err)
    if isinstance(err, (ConnectionError, HTTPClientError)):
        return True, type(err).__name__, str(err)
    return False, type(err).__name__, str(err)


def deadline_from_env() -> float:
    """``FILETRAIL_PUBLISH_DEADLINE_MS`` in seconds, else :data:`DEFAULT_DEADLINE_S`."""
    text = os.environ.get(ENV_PUBLISH_DEADLINE_MS, "").strip()
    if not text:
        return DEFAULT_DEADLINE_S
    try:
        return int(text) / 1000
    except ValueError:
        raise ValueError(f"{ENV_PUBLISH_DEADLINE_MS}: expected a whole number of milliseconds; got {text!r}") from None


class _Cut(Exception):
    """The deadline came while a call was unanswered."""


_T = TypeVar("_T")


def _run_until(deadline: float, call: Callable[[], _T], name: str) -> _T:
    """``call()`` in a daemon worker thread, waited for until ``deadline`` (``time.monotonic()``)
    at most: its result, or its exception raised here, or :class:`_Cut` when the deadline came
    first. A cut call is given up, not stopped: its thread lives on until the client's own
    bounds end it, and its outcome is dropped."""
    done = threading.Event()
    outcome: Dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = call()
        except BaseException as err:  # handed to the waiting thread, which decides
            outcome["error"] = err
        finally:
            done.set()

    threading.Thread(target=run, name=name, daemon=True).start()
    if not done.wait(max(deadline - time.monotonic(), 0.0)):
        raise _Cut()
    if "error" in outcome:
        raise outcome["error"]
    result: _T = outcome["result"]
    return result


class Publisher:
    """Publishes FileMoved details to one EventBridge bus as one ``Source``.

    ``bus`` and ``source`` default to ``FILETRAIL_EVENT_BUS`` and ``FILETRAIL_EVENT_SOURCE``.
    ``deadline_s`` bounds one ``publish``: its retries and every call it makes (10 s; the
    environment's ``FILETRAIL_PUBLISH_DEADLINE_MS`` applies through :meth:`from_env`, which
    ``log_to_timestream`` uses). Without ``client`` an EventBridge client is made with
    :func:`client_config`.

    A call still unanswered at the deadline is given up, not stopped: its entries fail with
    ``Timeout`` ("may have been delivered"), and its worker thread lives on until the client's
    own bounds end it (with :func:`client_config`: 3 attempts of at most 3.1 s to connect and
    10 s to answer, plus botocore's delays between them) and its outcome is dropped. An entry
    delivered that late is one the caller was told failed; publishing it again (a retried
    stage) gives the same ``event_id``, which the recorder stores once.
    """

    def __init__(
        self,
        bus: Optional[str] = None,
        source: Optional[str] = None,
        client: Any = None,
        deadline_s: float = DEFAULT_DEADLINE_S,
        *,
        backoff: BackoffSettings = BackoffSettings(),
        rng: Optional[random.Random] = None,
    ) -> None:
        bus = bus or os.environ.get(ENV_EVENT_BUS, "").strip()
        if not bus:
            raise ValueError(f"{ENV_EVENT_BUS}: must be set (or pass bus=)")
        source = source or os.environ.get(ENV_EVENT_SOURCE, "").strip()
        if not source:
            raise ValueError(f"{ENV_EVENT_SOURCE}: must be set (or pass source=)")
        if len(source) > 256 or source.startswith("aws."):
            raise ValueError(
                f"{ENV_EVENT_SOURCE}: must be 1..=256 characters and must not start with \"aws.\" (reserved by AWS)"
            )
        if client is None:
            import boto3

            client = boto3.client("events", config=client_config())
        #: Bus name or ARN.
        self.bus: str = bus
        #: ``Source`` of every entry.
        self.source: str = source
        #: Budget of one ``publish``, in seconds.
        self.deadline_s: float = float(deadline_s)
        #: The EventBridge client.
        self.client: Any = client
        self._backoff = backoff
        self._rng = rng or random.Random()

    @classmethod
    def from_env(cls, client: Any = None) -> "Publisher":
        """A publisher configured as the Rust ``PublisherConfig::from_env``: bus, source and
        deadline from ``FILETRAIL_EVENT_BUS``, ``FILETRAIL_EVENT_SOURCE`` and
        ``FILETRAIL_PUBLISH_DEADLINE_MS`` (default 10 000)."""
        return cls(client=client, deadline_s=deadline_from_env())

    def _put_events(self, request: List[Dict[str, str]], deadline: float) -> Any:
        """One PutEvents call, waited for until ``deadline`` at most (see the class)."""
        return _run_until(deadline, lambda: self.client.put_events(Entries=request), "filetrail-put-events")

    def publish_one(self, event: Mapping[str, Any], *, deadline: Optional[float] = None) -> PublishReport:
        """Publish one event; see :meth:`publish`."""
        return self.publish([event], deadline=deadline)

    def publish(self, events: Iterable[Mapping[str, Any]], *, deadline: Optional[float] = None) -> PublishReport:
        """Publish events; returns the report when every one was delivered, raises
        :class:`PublishError` carrying every event that failed for good otherwise.

        ``deadline`` (a ``time.monotonic()`` instant) ends this publish earlier than its own
        ``deadline_s`` would: a caller with a budget of its own (``log_to_timestream``, whose
        deadline began before its HeadObject calls) passes it, and the sooner of the two holds.
        """
        report = PublishReport()
        entries: List[Optional[_Entry]] = []
        # Per event: None while pending, else ("delivered", envelope id) or ("failed", FailedEntry).
        outcome: List[Optional[Tuple[str, Any]]] = []
        last: Dict[int, Tuple[str, str]] = {}
        attempts: Dict[int, int] = {}
        for event in events:
            eid = str(event.get("event_id", "")) if isinstance(event, Mapping) else ""
            try:
                validate(event)
            except InvalidEvent as e:
                entries.append(None)
                outcome.append(("failed", FailedEntry(eid, INVALID_EVENT, str(e))))
                continue
            detail = json.dumps(canonical(event), separators=(",", ":"), ensure_ascii=False)
            entry = _Entry(eid, self.source, detail)
            size = entry_size(entry.source, entry.detail)
            entries.append(entry)
            if size > MAX_REQUEST_BYTES:
                message = f"entry is {size} bytes; one PutEvents call carries at most {MAX_REQUEST_BYTES}"
                outcome.append(("failed", FailedEntry(eid, ENTRY_TOO_LARGE, message)))
            else:
                outcome.append(None)

        def size_of(i: int) -> int:
            e = entries[i]
            assert e is not None
            return entry_size(e.source, e.detail)

        def after_failure(i: int, retryable: bool, code: str, message: str) -> None:
            e = entries[i]
            assert e is not None
            if retryable:
                attempts[i] = attempts.get(i, 0) + 1
                last[i] = (code, message)
            else:
                outcome[i] = ("failed", FailedEntry(e.event_id, code, message))

        start = time.monotonic()
        deadline = start + self.deadline_s if deadline is None else min(start + self.deadline_s, deadline)
        budget_s = max(deadline - start, 0.0)
        backoff = _Backoff(self._backoff, deadline, self._rng)
        while True:
            pending = [i for i, o in enumerate(outcome) if o is None]
            if not pending:
                break
            for batch in pack_batches(pending, size_of):
                if time.monotonic() >= deadline:
                    for i in batch:  # not sent: an earlier error stays the one reported
                        last.setdefault(i, (TIMEOUT, NOT_SENT_MESSAGE))
                    continue
                report.calls += 1
                request = [entries[i].request(self.bus) for i in batch]  # type: ignore[union-attr]
                try:
                    response = self._put_events(request, deadline)
                except _Cut:
                    for i in batch:
                        after_failure(i, True, TIMEOUT, CUT_MESSAGE)
                    continue
                except Exception as err:  # every failure is classified, none escapes unreported
                    retryable, code, message = _classify(err)
                    for i in batch:
                        after_failure(i, retryable, code, message)
                    continue
                results = response.get("Entries") or []
                if len(results) != len(batch):
                    for i in batch:
                        message = f"sent {len(batch)} entries, the response described {len(results)}"
                        after_failure(i, True, "MismatchedResponse", message)
                    continue
                for i, result in zip(batch, results):
                    code = result.get("ErrorCode")
                    if code:
                        after_failure(i, code in RETRYABLE_ENTRY_CODES, code, result.get("ErrorMessage") or "")
                    else:
                        outcome[i] = ("delivered", result.get("EventId") or "")
            retry = [i for i, o in enumerate(outcome) if o is None]
            if not retry:
                break
            delay = backoff.next_delay()
            if delay is None:
                for i in retry:
                    code, message = last.get(i, ("", ""))
                    gave_up = entries[i]
                    assert gave_up is not None
                    outcome[i] = (
                        "failed",
                        FailedEntry(
                            gave_up.event_id,
                            code,
                            f"{message} (gave up after {attempts.get(i, 0)} attempts: "
                            f"publish deadline of {budget_s:.3g}s reached)",
                        ),
                    )
                break
            report.retried += len(retry)
            time.sleep(delay)

        failures: List[FailedEntry] = []
        for i, o in enumerate(outcome):
            assert o is not None, "the loop ends with no entry pending"
            kind, value = o
            if kind == "delivered":
                sent = entries[i]
                assert sent is not None
                report.delivered.append(Delivered(sent.event_id, value))
            else:
                failures.append(value)
        if failures:
            raise PublishError(failures, report)
        return report
