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
"""

import logging
import os
import threading
from datetime import datetime
from typing import Any, Dict, Optional, Tuple, Union, overload

from .contract import file_moved
from .publisher import ENV_EVENT_BUS, ENV_EVENT_SOURCE, ENV_PUBLISH_DEADLINE_MS, Publisher

__all__ = ["log_to_timestream", "object_time"]

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


def _move_time(
    s3_client: Any,
    file_key: str,
    new_file_key: Optional[str],
    source_bucket: Optional[str],
    destination_bucket: Optional[str],
) -> Optional[datetime]:
    candidates = []
    if source_bucket:
        candidates.append((source_bucket, file_key))
    if destination_bucket:
        candidates.append((destination_bucket, new_file_key or file_key))
    for bucket, key in candidates:
        t = object_time(s3_client, bucket, key)
        if t is not None:
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
) -> Dict[str, Any]:
    """Publish one FileMoved for this move (``sdc_aws_utils.aws.log_to_timestream``'s signature).

    ``timestream_client`` and ``environment`` are accepted and ignored: the recorder owns the
    table. ``timesteam_client`` (sic) is the first parameter's name in an older
    ``sdc_aws_utils``; a call passing it by that name works too. Configuration comes from
    ``FILETRAIL_EVENT_BUS``, ``FILETRAIL_EVENT_SOURCE`` and ``FILETRAIL_PUBLISH_DEADLINE_MS``
    (:meth:`Publisher.from_env`; or ``publisher=``). Returns the published detail. Raises
    :class:`~filetrail.InvalidEvent` (a ``ValueError``, naming the field) for a move the contract
    refuses and :class:`~filetrail.PublishError` when EventBridge did not take it: nothing is
    swallowed.
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
    if occurred_at is None:
        occurred_at = _move_time(
            s3_client or _default_s3(), file_key, new_file_key, source_bucket, destination_bucket
        )
        if occurred_at is None:
            log.warning(
                "no object to take the move's time from; using now (a retry would publish another event)",
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
    (publisher or _default_publisher()).publish_one(detail)
    log.info("published FileMoved", extra={"event_id": detail["event_id"], "file_key": file_key})
    return detail
