"""SDK debug logs lose their credentials (covalent_core.redact).

botocore, urllib3 and the Azure SDK are not installed in the core environment, so the
records are logged to their loggers here with the exact messages those SDKs log (the
sites are named on each); executors/aws/tests/test_log_redaction.py does the same with
a real boto3 client against moto's server.
"""

from __future__ import annotations

import logging

import pytest

from covalent_core.redact import MASK

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLE+sessiontoken/value=="
STS_KEY_ID = "ASIAY34FZKBOKMUTVV7A"
SAS_SIG = "Q2hhbmdlZC9zaWduYXR1cmU%3D"
BEARER = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJzdG9yYWdlIn0.c2lnbmF0dXJl"
SECRETS = (KEY_ID, SECRET_KEY, TOKEN, STS_KEY_ID, SAS_SIG, BEARER, "0123abcd" * 8)


class AWSPreparedRequest:
    """What botocore.endpoint logs: its __repr__ is botocore.awsrequest.AWSPreparedRequest's."""

    def __init__(self, headers: dict[str, bytes | str]) -> None:
        self.headers = headers

    def __repr__(self) -> str:
        fmt = "<AWSPreparedRequest stream_output=%s, method=%s, url=%s, headers=%s>"
        return fmt % (False, "POST", "https://batch.us-east-1.amazonaws.com/v1/submitjob",
                      self.headers)


def log_like_the_sdks() -> None:
    """One record per log site of the SDKs that carries credentials at DEBUG."""
    # botocore/endpoint.py, _send_request: the signed request with its headers.
    logging.getLogger("botocore.endpoint").debug("Sending http request: %s", AWSPreparedRequest({
        "Content-Type": b"application/json",
        "X-Amz-Date": b"20240101T000000Z",
        "X-Amz-Security-Token": TOKEN.encode(),
        "Authorization": (f"AWS4-HMAC-SHA256 Credential={KEY_ID}/20240101/us-east-1/batch/"
                          "aws4_request, SignedHeaders=content-type;host;x-amz-date;"
                          f"x-amz-security-token, Signature={'0123abcd' * 8}").encode(),
        "Content-Length": "42",
    }))
    # botocore/auth.py, SigV4Auth.add_auth: the canonical request, one header a line.
    logging.getLogger("botocore.auth").debug(
        "CanonicalRequest:\n%s",
        "POST\n/v1/submitjob\n\ncontent-type:application/json\nhost:batch.us-east-1."
        f"amazonaws.com\nx-amz-date:20240101T000000Z\nx-amz-security-token:{TOKEN}\n\n"
        "content-type;host;x-amz-date;x-amz-security-token\ne3b0c44298fc1c149afbf4c8996fb924")
    # botocore/parsers.py, ResponseParser.parse: an STS AssumeRole response body.
    logging.getLogger("botocore.parsers").debug("Response body:\n%r", (
        "<AssumeRoleResponse><AssumeRoleResult><Credentials>"
        f"<AccessKeyId>{STS_KEY_ID}</AccessKeyId><SecretAccessKey>{SECRET_KEY}"
        f"</SecretAccessKey><SessionToken>{TOKEN}</SessionToken>"
        "<Expiration>2024-01-01T01:00:00Z</Expiration></Credentials>").encode())
    # urllib3/connectionpool.py, _make_request: the URL with its query (presigned S3, SAS).
    pool = logging.getLogger("urllib3.connectionpool")
    pool.debug('%s://%s:%s "%s %s %s" %s %s', "https", "bucket.s3.amazonaws.com", 443, "GET",
               f"/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={KEY_ID}%2F20240101%2F"
               f"us-east-1%2Fs3%2Faws4_request&X-Amz-Security-Token={TOKEN}&X-Amz-Signature="
               f"{'0123abcd' * 8}", "HTTP/1.1", 200, 5)
    pool.debug('%s://%s:%s "%s %s %s" %s %s', "https", "acct.blob.core.windows.net", 443, "GET",
               f"/covalent/d/0/package?se=2024-01-01T01%3A00%3A00Z&sp=r&sv=2024-08-04&sr=b"
               f"&sig={SAS_SIG}", "HTTP/1.1", 200, 5)
    # azure/storage/blob/_shared/policies.py, StorageLoggingPolicy: one header a record.
    logging.getLogger("azure.storage.blob._shared.policies").debug(
        "    %r: %r", "Authorization", f"Bearer {BEARER}")


def test_sdk_debug_records_lose_every_credential_and_keep_the_rest(caplog):
    with caplog.at_level(logging.DEBUG):
        log_like_the_sdks()
    text = caplog.text
    leaked = [s for s in SECRETS if s in text]
    assert not leaked, text
    assert len(caplog.records) == 6 and all(MASK in r.getMessage() for r in caplog.records)
    # What a reader needs to debug stays: the endpoint, the header names, the SAS expiry.
    for kept in ("https://batch.us-east-1.amazonaws.com/v1/submitjob", "'X-Amz-Date': "
                 "b'20240101T000000Z'", "x-amz-date:20240101T000000Z", "se=2024-01-01T01%3A00",
                 "<Expiration>2024-01-01T01:00:00Z</Expiration>", "'Authorization': "):
        assert kept in text


@pytest.mark.parametrize("message", [
    "password=hunter2 user=bob", '{"client_secret": "hunter2"}', "passphrase: hunter2",
    "Authorization: Bearer hunter2",
    "https://bob:hunter2@proxy.example.org:3128",
    "-----BEGIN OPENSSH PRIVATE KEY-----\nhunter2\n-----END OPENSSH PRIVATE KEY-----",
])
def test_passwords_secrets_and_key_material_are_masked(caplog, message):
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("asyncssh").debug("%s", message)
    assert "hunter2" not in caplog.text and MASK in caplog.text


def test_records_of_other_loggers_are_left_as_logged(caplog):
    """Only the SDKs' loggers are rewritten; an application's own records are its own."""
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("myapp").debug("token=%s", "abc")
    assert caplog.records[0].getMessage() == "token=abc"
