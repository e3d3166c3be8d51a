"""boto3 against a running Cosync server; run by test/clients/boto3-cli.test.ts.

Reads COSYNC_ENDPOINT, COSYNC_POOL_ID and COSYNC_IDENTITY_ID from the environment (credentials and region come
from the standard AWS_* variables), exercises Cognito Sync and Cognito Identity as a boto3 user would, and prints
one JSON object with what it saw. Exits non-zero only when something unexpected is raised.
"""
import datetime
import json
import os
import sys

import boto3
import botocore
from botocore.config import Config

endpoint = os.environ["COSYNC_ENDPOINT"]
pool_id = os.environ["COSYNC_POOL_ID"]
identity_id = os.environ["COSYNC_IDENTITY_ID"]
# One attempt: error cases must show exactly one request's answer.
config = Config(retries={"max_attempts": 1, "mode": "standard"})
sync = boto3.client("cognito-sync", endpoint_url=endpoint, config=config)
identity = boto3.client("cognito-identity", endpoint_url=endpoint, config=config)
ref = {"IdentityPoolId": pool_id, "IdentityId": identity_id, "DatasetName": "boto3_profile"}
out = {"boto3": boto3.__version__, "botocore": botocore.__version__}


def when(value):
    return value.timestamp() if isinstance(value, datetime.datetime) else value


def records(response):
    return [
        {
            "Key": r["Key"],
            "Value": r.get("Value"),
            "SyncCount": r["SyncCount"],
            "LastModifiedDate": when(r.get("LastModifiedDate")),
            "DeviceLastModifiedDate": when(r.get("DeviceLastModifiedDate")),
        }
        for r in response.get("Records", [])
    ]


def client_error(err):
    return {
        "code": err.response["Error"]["Code"],
        "message": err.response["Error"]["Message"],
        "status": err.response["ResponseMetadata"]["HTTPStatusCode"],
        "requestId": err.response["ResponseMetadata"].get("RequestId"),
        "class": type(err).__name__,
    }


# ListRecords on a new dataset, then UpdateRecords with its token (non-ASCII value, integer epoch timestamp).
first = sync.list_records(LastSyncCount=0, **ref)
out["first"] = {
    "Count": first["Count"],
    "DatasetSyncCount": first["DatasetSyncCount"],
    "DatasetExists": first["DatasetExists"],
    "hasToken": bool(first.get("SyncSessionToken")),
}
updated = sync.update_records(
    SyncSessionToken=first["SyncSessionToken"],
    DeviceId="boto3-device",
    ClientContext="boto3-context",
    RecordPatches=[
        {
            "Op": "replace",
            "Key": "name",
            "Value": "v1 \u00fc",
            "SyncCount": 0,
            "DeviceLastModifiedDate": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
        },
        {"Op": "replace", "Key": "empty", "Value": "", "SyncCount": 0},
    ],
    **ref,
)
out["updated"] = records(updated)
listed = sync.list_records(LastSyncCount=0, MaxResults=10, **ref)
out["listed"] = {"Count": listed["Count"], "DatasetSyncCount": listed["DatasetSyncCount"], "Records": records(listed)}

# A stale SyncCount: the modeled exception class.
try:
    token = sync.list_records(**ref)["SyncSessionToken"]
    sync.update_records(
        SyncSessionToken=token,
        RecordPatches=[{"Op": "replace", "Key": "name", "Value": "stale", "SyncCount": 0}],
        **ref,
    )
    out["conflict"] = None
except sync.exceptions.ResourceConflictException as err:
    out["conflict"] = client_error(err)

# A dataset name the service refuses (botocore itself checks no pattern).
try:
    sync.list_records(IdentityPoolId=pool_id, IdentityId=identity_id, DatasetName="bad name!")
    out["invalidParameter"] = None
except sync.exceptions.InvalidParameterException as err:
    out["invalidParameter"] = client_error(err)

# ListDatasets, DescribeDataset, DeleteDataset, then the deleted dataset's ListRecords.
datasets = sync.list_datasets(IdentityPoolId=pool_id, IdentityId=identity_id, MaxResults=10)
out["datasets"] = [
    {"DatasetName": d["DatasetName"], "NumRecords": d.get("NumRecords"), "CreationDate": when(d.get("CreationDate"))}
    for d in datasets["Datasets"]
]
described = sync.describe_dataset(**ref)["Dataset"]
out["described"] = {"DatasetName": described["DatasetName"], "NumRecords": described["NumRecords"], "DataStorage": described["DataStorage"]}
deleted = sync.delete_dataset(**ref)
out["deleted"] = {"DatasetName": deleted["Dataset"]["DatasetName"]}
after = sync.list_records(LastSyncCount=1, **ref)
out["afterDelete"] = {
    "DatasetExists": after["DatasetExists"],
    "DatasetDeletedAfterRequestedSyncCount": after["DatasetDeletedAfterRequestedSyncCount"],
}
try:
    sync.describe_dataset(**ref)
    out["describeDeleted"] = None
except sync.exceptions.ResourceNotFoundException as err:
    out["describeDeleted"] = client_error(err)

# Cognito Identity (awsJson1_1): boto3 reads only the body __type for its errors.
out["getId"] = identity.get_id(IdentityPoolId=pool_id)["IdentityId"]
try:
    identity.describe_identity_pool(IdentityPoolId="us-east-1:00000000-0000-0000-0000-000000000000")
    out["identityNotFound"] = None
except identity.exceptions.ResourceNotFoundException as err:
    out["identityNotFound"] = client_error(err)

json.dump(out, sys.stdout)
