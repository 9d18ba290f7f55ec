"""boto3's DEBUG log of real calls to moto's server shows no credential (covalent_core.redact)."""

from __future__ import annotations

import logging

import boto3
import urllib3
from covalent_testing.aws import REGION, AWSPeer

import covalent_core  # noqa: F401 - importing it installs the redaction

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLE+sessiontoken/value=="


def test_boto3_debug_log_shows_no_credential(peer: AWSPeer, caplog):
    session = boto3.Session(aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET_KEY,
                            aws_session_token=TOKEN, region_name=REGION)
    s3 = session.client("s3", endpoint_url=peer.endpoint_url)
    with caplog.at_level(logging.DEBUG):
        s3.create_bucket(Bucket="redaction-check")
        s3.put_object(Bucket="redaction-check", Key="package", Body=b"payload")
        url = s3.generate_presigned_url(
            "get_object", Params={"Bucket": "redaction-check", "Key": "package"})
        assert urllib3.PoolManager().request("GET", url).data == b"payload"
        session.client("sts", endpoint_url=peer.endpoint_url).get_caller_identity()
    text = caplog.text
    # The SDKs did log the requests, headers and the presigned URL...
    for logged in ("'X-Amz-Security-Token': b'", "'Authorization': b'",
                   "x-amz-security-token:", "GET /redaction-check/package?"):
        assert logged in text
    # ...and none of the credentials they carry.
    for secret in (KEY_ID, SECRET_KEY, TOKEN, TOKEN.replace("+", "%2B").replace("/", "%2F")):
        assert secret not in text
