"""AWS errors turned into messages that say which executor parameter to fix.

botocore has already retried what is transient (throttling, 5xx, connection resets)
by the time an error reaches here, so what remains is a configuration problem or an
exhausted retry budget, and the message says which.
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
)

from covalent_core.errors import CovalentError

#: (needle, hint): the first needle found in "<code> <message>" (case-insensitive) wins.
Hints = list[tuple[str, str]]

_THROTTLED = ("throttl", "toomanyrequests", "requestlimitexceeded", "slowdown", "rate exceeded")

_COMMON: Hints = [
    ("nosuchbucket", "s3_bucket_name {s3_bucket_name!r} does not exist (or is in another "
                     "region): create the bucket or set s3_bucket_name"),
    ("accessdenied", "the credentials in use (profile {profile!r}) may not call {call}: attach "
                     "a policy that allows it, or set profile/credentials to an identity that may"),
    ("unauthorizedoperation", "the credentials in use (profile {profile!r}) may not call {call}"),
    ("expiredtoken", "the AWS session token expired: log in again (aws sso login) or refresh "
                     "the credentials file named by credentials"),
    ("invalidclienttokenid", "the access key is not valid in this account/region: check profile, "
                             "credentials and region"),
    ("limitexceeded", "an AWS quota was reached: request an increase in Service Quotas or ask "
                      "for fewer resources"),
    ("quota", "an AWS quota was reached: request an increase in Service Quotas or ask for "
              "fewer resources"),
]


class AWSExecutorError(CovalentError, RuntimeError):
    """An AWS call failed for a reason a retry will not fix; the message names the fix."""


def explain(
    exc: BaseException, call: str, hints: Hints, fields: dict[str, object]
) -> AWSExecutorError:
    """Describe ``exc`` raised by ``call`` ("batch.SubmitJob"), pointing at the parameter to fix."""
    if isinstance(exc, NoCredentialsError):
        return AWSExecutorError(
            f"{call}: no AWS credentials found. Set profile (and credentials, the path of a "
            "shared credentials file), the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY variables, "
            "or run where an instance role is attached."
        )
    if isinstance(exc, NoRegionError):
        return AWSExecutorError(f"{call}: no AWS region: set region or AWS_DEFAULT_REGION.")
    if isinstance(exc, EndpointConnectionError):
        return AWSExecutorError(
            f"{call}: cannot reach {exc.kwargs.get('endpoint_url', 'the endpoint')} after "
            f"retries: check the network, region and endpoint_url ({exc})."
        )
    if isinstance(exc, ParamValidationError):
        return AWSExecutorError(f"{call}: AWS rejected a parameter before sending it: {exc}")
    if not isinstance(exc, ClientError):
        detail = f"{type(exc).__name__}: {exc}" if isinstance(exc, BotoCoreError) else str(exc)
        return AWSExecutorError(f"{call} failed: {detail}")
    error = exc.response.get("Error", {})
    code, message = str(error.get("Code", "")), str(error.get("Message", ""))
    attempts = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
    text = f"{code} {message}".lower()
    if any(needle in text for needle in _THROTTLED):
        return AWSExecutorError(
            f"{call} was still throttled after {attempts} retries ({code}: {message}); "
            "raise max_api_attempts or poll_freq, or ask AWS for a higher request rate."
        )
    values = {"call": call, **fields}
    for needle, hint in [*hints, *_COMMON]:
        if needle.lower() in text:
            fix = hint.format(**values)
            return AWSExecutorError(f"{call} failed: {code}: {message}. Fix: {fix}.")
    return AWSExecutorError(f"{call} failed: {code}: {message}")
