"""A Python sorting stage written the way the mission's are (sdc_aws_sorting_lambda's FileSorter
in miniature): copy each new file to its instrument bucket, then log the move. Moving it to
filetrail changed one line, the import.
"""

import json
import os
import urllib.parse

import boto3

from filetrail import log_to_timestream  # was: from sdc_aws_utils.aws import log_to_timestream


def notify(new_file_key):
    """What the mission's stage does after logging (a Slack message); tests make it fail."""


def destination(file_key):
    """``hermes_EEA_l0_2022259-030002_v01.bin`` -> (``hermes-eea``, ``l0/2022/hermes_EEA_...``)."""
    name = file_key.rsplit("/", 1)[-1]
    mission, instrument, level, when = name.split("_")[:4]
    prefix = os.environ.get("BUCKET_PREFIX", "")
    return f"{prefix}{mission}-{instrument.lower()}", f"{level}/{when[:4]}/{name}"


def handler(event, context):
    s3 = boto3.client("s3")
    timestream_client = boto3.client("timestream-write")  # the mission's stages still make one
    for record in event["Records"]:
        bucket = record["s3"]["bucket"]["name"]
        file_key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        destination_bucket, new_file_key = destination(file_key)
        s3.copy_object(
            CopySource={"Bucket": bucket, "Key": file_key}, Bucket=destination_bucket, Key=new_file_key
        )
        log_to_timestream(
            timestream_client=timestream_client,
            action_type="PUT",
            file_key=file_key,
            new_file_key=new_file_key,
            source_bucket=bucket,
            destination_bucket=destination_bucket,
            environment=os.getenv("LAMBDA_ENVIRONMENT", "DEVELOPMENT"),
        )
        notify(new_file_key)
    return {"statusCode": 200, "body": json.dumps("Success Sorting File")}
