"""filetrail for Python producers: the FileMoved v1 contract and an EventBridge publisher.

- :func:`file_moved` builds a valid detail with its deterministic ``event_id``;
- :func:`validate` checks every rule of the contract, raising :class:`InvalidEvent`;
- :class:`Publisher` publishes details (batches, partial-failure retry, every outcome);
- :func:`log_to_timestream` is a drop-in for ``sdc_aws_utils.aws.log_to_timestream``.
"""

from .compat import log_to_timestream
from .contract import InvalidEvent, event_id, file_moved, format_occurred_at, parse_occurred_at, validate
from .limits import DETAIL_TYPE, SCHEMA_VERSION
from .publisher import (
    BackoffSettings,
    Delivered,
    FailedEntry,
    PublishError,
    PublishReport,
    Publisher,
    client_config,
    entry_size,
    pack_batches,
)

__all__ = [
    "DETAIL_TYPE",
    "SCHEMA_VERSION",
    "BackoffSettings",
    "Delivered",
    "FailedEntry",
    "InvalidEvent",
    "PublishError",
    "PublishReport",
    "Publisher",
    "client_config",
    "entry_size",
    "event_id",
    "file_moved",
    "format_occurred_at",
    "log_to_timestream",
    "pack_batches",
    "parse_occurred_at",
    "validate",
]

__version__ = "0.1.0"
