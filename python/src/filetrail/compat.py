"""A drop-in for ``sdc_aws_utils.aws.log_to_timestream``: publish a FileMoved instead.

The mission's stages call ``log_to_timestream(timestream_client, action_type, file_key,
new_file_key=None, source_bucket=None, destination_bucket=None, environment=...)`` after every
move. Changing the import to ``from filetrail import log_to_timestream`` makes the same call
publish one FileMoved event to the filetrail bus; the recorder writes the Timestream record
(seed layout: the same database, table, dimensions and measure the dashboards read).

The signature has no time, and the event's time is part of its ``event_id``. So that a
retried stage publishes the same event and the recorder keeps one record (Lambda runs a failed
asynchronous invocation two more times, and may deliver the same event twice even without an
error: https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html), the
time is read from S3, not the clock: the ``Last-Modified`` of the object the move started from
(``source_bucket``/``file_key``), else of the object it wrote (``destination_bucket``/
``new_file_key`` or ``file_key``), else now. The mission's stages copy again on every retry,
which gives the written object a new ``Last-Modified``; the source's stays the same. So the
record's time is when the move's input arrived where the stage read it, not when the stage
moved it: differences between records measure the stage before (the README's "Migrating a
Python stage" says what that does to the dashboard's stage-time panels). Pass
``occurred_at=`` when the stage has a time of its own that a retry reproduces.

A stage must call it *before* it deletes the source. Once the source is gone, the time falls
back to the written object's ``Last-Modified``, which a retried copy renews: the retry publishes
a second event (another ``event_id``, a second record). Logging first, the source is deleted
only after a publish that succeeded, so a retry that copies again still finds it and publishes
the same event. No other time in S3 survives a re-copy, so this order is the stage's to keep;
the fallback logs a warning.

One deadline covers the whole call, HeadObject calls included: the publisher's ``deadline_s``
(``FILETRAIL_PUBLISH_DEADLINE_MS``, 10 s), or less when the caller passes its Lambda context
(``lambda_context=context``): then the call also ends :data:`LAMBDA_RESERVE_S` before the
invocation's own end. Each HeadObject runs in a worker thread waited for only until the
deadline, as the publisher's PutEvents calls are; one cut there raises ``TimeoutError`` and
nothing is published.
"""

import logging
import os
import threading
import time
from datetime import datetime
from typing import Any, Dict, Optional, Tuple, Union, overload

from .contract import file_moved
from .publisher import ENV_EVENT_BUS, ENV_EVENT_SOURCE, ENV_PUBLISH_DEADLINE_MS, Publisher, _Cut, _run_until

__all__ = ["LAMBDA_RESERVE_S", "log_to_timestream", "object_time"]

#: With ``lambda_context=``, how long before the invocation's end ``log_to_timestream`` gives up,
#: so that the handler can still return (or raise) before Lambda stops it.
LAMBDA_RESERVE_S = 0.5

log = logging.getLogger("filetrail")

#: HTTP statuses of a HeadObject that mean "no such object here": 404, or 403 when the caller
#: lacks s3:ListBucket (S3 then answers 403 for a missing object), or the object is not readable.
#: https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html
_NOT_THERE = (403, 404)

_lock = threading.Lock()
_publishers: Dict[Tuple[str, ...], Publisher] = {}
_s3: Dict[str, Any] = {}


def _default_publisher() -> Publisher:
    key = tuple(os.environ.get(v, "") for v in (ENV_EVENT_BUS, ENV_EVENT_SOURCE, ENV_PUBLISH_DEADLINE_MS))
    with _lock:
        publisher = _publishers.get(key)
        if publisher is None:
            publisher = _publishers[key] = Publisher.from_env()
        return publisher


def _default_s3() -> Any:
    with _lock:
        client = _s3.get("client")
        if client is None:
            import boto3

            from .publisher import client_config

            client = _s3["client"] = boto3.client("s3", config=client_config())
        return client


def object_time(s3_client: Any, bucket: str, key: str) -> Optional[datetime]:
    """``Last-Modified`` of an object (HeadObject), or ``None`` when it is not there or not
    readable (HTTP 404 or 403). Any other error is raised.
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html"""
    from botocore.exceptions import ClientError

    try:
        response = s3_client.head_object(Bucket=bucket, Key=key)
    except ClientError as err:
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status in _NOT_THERE:
            return None
        raise
    modified = response.get("LastModified")
    return modified if isinstance(modified, datetime) else None


def _deadline(start: float, budget_s: float, lambda_context: Any) -> float:
    """The instant (``time.monotonic()``) the whole call must end by: ``budget_s`` after
    ``start``, or earlier when the caller's Lambda invocation ends sooner."""
    deadline = start + budget_s
    if lambda_context is not None:
        remaining = getattr(lambda_context, "get_remaining_time_in_millis", None)
        if not callable(remaining):
            raise TypeError("lambda_context: expected the handler's context (with get_remaining_time_in_millis())")
        deadline = min(deadline, start + float(remaining()) / 1000 - LAMBDA_RESERVE_S)
    return deadline


def _head_time(s3_client: Any, bucket: str, key: str, deadline: float, budget_s: float) -> Optional[datetime]:
    """:func:`object_time`, waited for until ``deadline`` at most; ``TimeoutError`` after."""
    cut = TimeoutError(
        f"HeadObject of s3://{bucket}/{key} did not answer within log_to_timestream's deadline "
        f"({budget_s:.3g}s); nothing was published"
    )
    if time.monotonic() >= deadline:
        raise cut
    try:
        return _run_until(deadline, lambda: object_time(s3_client, bucket, key), "filetrail-head-object")
    except _Cut:
        raise cut from None


def _move_time(
    s3_client: Any,
    file_key: str,
    new_file_key: Optional[str],
    source_bucket: Optional[str],
    destination_bucket: Optional[str],
    deadline: float,
    budget_s: float,
) -> Optional[datetime]:
    if source_bucket:
        t = _head_time(s3_client, source_bucket, file_key, deadline, budget_s)
        if t is not None:
            return t
    if destination_bucket:
        t = _head_time(s3_client, destination_bucket, new_file_key or file_key, deadline, budget_s)
        if t is not None:
            if source_bucket:
                log.warning(
                    "the source object is gone: the time is the written object's Last-Modified, which a "
                    "retried copy renews (another event_id); call log_to_timestream before deleting the source",
                    extra={"file_key": file_key, "source_bucket": source_bucket, "destination_bucket": destination_bucket},
                )
            return t
    return None


@overload
def log_to_timestream(
    timestream_client: Any,
    action_type: str,
    file_key: str,
    new_file_key: Optional[str] = None,
    source_bucket: Optional[str] = None,
    destination_bucket: Optional[str] = None,
    environment: Optional[str] = None,
    *,
    occurred_at: Union[datetime, str, None] = None,
    publisher: Optional[Publisher] = None,
    s3_client: Any = None,
    lambda_context: Any = None,
) -> Dict[str, Any]: ...


@overload
def log_to_timestream(
    *,
    timesteam_client: Any,
    action_type: str,
    file_key: str,
    new_file_key: Optional[str] = None,
    source_bucket: Optional[str] = None,
    destination_bucket: Optional[str] = None,
    environment: Optional[str] = None,
    occurred_at: Union[datetime, str, None] = None,
    publisher: Optional[Publisher] = None,
    s3_client: Any = None,
    lambda_context: Any = None,
) -> Dict[str, Any]: ...


def log_to_timestream(
    timestream_client: Any = None,
    action_type: Optional[str] = None,
    file_key: Optional[str] = None,
    new_file_key: Optional[str] = None,
    source_bucket: Optional[str] = None,
    destination_bucket: Optional[str] = None,
    environment: Optional[str] = None,
    *,
    timesteam_client: Any = None,
    occurred_at: Union[datetime, str, None] = None,
    publisher: Optional[Publisher] = None,
    s3_client: Any = None,
    lambda_context: Any = None,
) -> Dict[str, Any]:
    """Publish one FileMoved for this move (``sdc_aws_utils.aws.log_to_timestream``'s signature).

    ``timestream_client`` and ``environment`` are accepted and ignored: the recorder owns the
    table. ``timesteam_client`` (sic) is the first parameter's name in an older
    ``sdc_aws_utils``; a call passing it by that name works too. Configuration comes from
    ``FILETRAIL_EVENT_BUS``, ``FILETRAIL_EVENT_SOURCE`` and ``FILETRAIL_PUBLISH_DEADLINE_MS``
    (:meth:`Publisher.from_env`; or ``publisher=``). Returns the published detail. Raises
    :class:`~filetrail.InvalidEvent` (a ``ValueError``, naming the field) for a move the contract
    refuses, :class:`~filetrail.PublishError` when EventBridge did not take it, ``TimeoutError``
    when S3 did not answer a HeadObject within the deadline: nothing is swallowed.

    The publisher's ``deadline_s`` bounds the whole call from its start, HeadObject calls
    included; ``lambda_context=`` (the handler's ``context``) ends it :data:`LAMBDA_RESERVE_S`
    before the invocation's end when that comes sooner. Call it before deleting the source
    (see the module).
    """
    # Both are required (the overloads say so to a type checker); they have defaults here only
    # so that the first parameter may come by either name.
    if action_type is None:
        raise TypeError("log_to_timestream() missing required argument: 'action_type'")
    if file_key is None:
        raise TypeError("log_to_timestream() missing required argument: 'file_key'")
    if timestream_client is not None and timesteam_client is not None:
        raise TypeError("log_to_timestream() got the client twice: timestream_client and timesteam_client")
    del timestream_client, timesteam_client, environment
    start = time.monotonic()
    publisher = publisher or _default_publisher()
    deadline = _deadline(start, publisher.deadline_s, lambda_context)
    budget_s = max(deadline - start, 0.0)
    if occurred_at is None:
        occurred_at = _move_time(
            s3_client or _default_s3(), file_key, new_file_key, source_bucket, destination_bucket, deadline, budget_s
        )
        if occurred_at is None:
            log.warning(
                "no object to take the move's time from; using now (a retry would publish another event; "
                "call log_to_timestream before deleting the source)",
                extra={"file_key": file_key, "source_bucket": source_bucket, "destination_bucket": destination_bucket},
            )
    detail = file_moved(
        action_type,
        file_key,
        new_file_key=new_file_key,
        source_bucket=source_bucket,
        destination_bucket=destination_bucket,
        occurred_at=occurred_at,
        stage=os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or None,
    )
    publisher.publish_one(detail, deadline=deadline)
    log.info("published FileMoved", extra={"event_id": detail["event_id"], "file_key": file_key})
    return detail
