"""Credentials are masked in the log records of the SDKs our executors drive.

At DEBUG, botocore logs each request with its headers (``Authorization``,
``X-Amz-Security-Token``), its canonical request and the response bodies (an STS
``SecretAccessKey``); urllib3 logs URLs with their query (presigned S3 URLs, an Azure
SAS ``sig=``). ``install()`` makes every record of those SDKs' loggers pass through
``redact`` as it is created, so no handler ever sees the credential.

Why a record factory rather than ``Logger.addFilter``: a logger's filters see only the
records logged to that very logger, not those its children pass up, and the SDKs log
from children (``botocore.endpoint``, ``botocore.auth``, ``urllib3.connectionpool``),
many created only when a submodule is first imported; handlers belong to the
application. The record factory sees the records of every logger, however late it was
made.

Why at ``import covalent_core`` rather than when an executor is built: the SDKs are also
driven where no executor is constructed (the far side of a cloud task runs
``covalent_core.remote``; executors are unpickled without ``__init__``; a task calls
boto3 itself), and plugins need not remember to call it. It costs nothing while SDK
logging is off: a logger below DEBUG creates no record.
"""

from __future__ import annotations

import logging
import re
from typing import Any

MASK = "********"

#: Top-level loggers of the SDKs whose records are redacted.
SDK_LOGGERS = frozenset(
    {"botocore", "boto3", "s3transfer", "urllib3", "azure", "msal", "google", "asyncssh"}
)

# A field name that holds a credential: a whole word containing one of these stems, or `sig`.
_NAME = (
    r"(?<![\w-])(?:[\w-]*(?:pass(?:word|wd|phrase)|secret|token|authorization|signature"
    r"|credential|access_?key(?:_?id)?|account_?key|private_?key|api_?key)[\w-]*|sig)"
)
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # PEM private keys, wherever they appear.
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----",
                re.S), MASK),
    # 'X-Amz-Security-Token': b'...', "password": "...", Authorization='...'
    (re.compile(rf"(?P<head>{_NAME}['\"]?\s*[:=]\s*b?(?P<q>['\"]))(?:\\.|(?!(?P=q)).)*(?P=q)",
                re.I | re.S), rf"\g<head>{MASK}\g<q>"),
    # <SecretAccessKey>...</SecretAccessKey> in XML response bodies.
    (re.compile(rf"<(?P<tag>{_NAME})>[^<]*</(?P=tag)>", re.I), rf"<\g<tag>>{MASK}</\g<tag>>"),
    # Authorization: Bearer ..., Basic ..., SharedKey ..., AWS4-HMAC-SHA256 Credential=...
    (re.compile(r"\b(?P<scheme>Bearer|Basic|Digest|SharedKey(?:Lite)?|AWS4-HMAC-SHA256) +"
                r"[^\s'\",]+", re.I), rf"\g<scheme> {MASK}"),
    # x-amz-security-token:... (canonical request), sig=...& (query), AccountKey=...;
    (re.compile(rf"(?P<head>{_NAME}['\"]?\s*[:=]\s*)(?!b?['\"])[^\s'\"&;,<>)\]}}]+", re.I),
     rf"\g<head>{MASK}"),
    # AWS access key ids (a presigned URL's X-Amz-Credential, say).
    (re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|AIDA|AROA|AGPA|ANPA|ANVA|AIPA|ABIA|ACCA)"
                r"[A-Z0-9]{16}(?![A-Z0-9])"), MASK),
    # https://user:password@host
    (re.compile(r"(?P<head>://[^/\s:@'\"]+:)[^/\s@'\"]+@"), rf"\g<head>{MASK}@"),
)


def redact(text: str) -> str:
    """``text`` with every credential it shows replaced by ``MASK``."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed logging call: logging reports it when the record is emitted
        return
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, ()


_installed = False


def install() -> None:
    """Redact every record of the ``SDK_LOGGERS`` (and their children) from now on; once."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.name.partition(".")[0] in SDK_LOGGERS:
            _redact_record(record)
        return record

    logging.setLogRecordFactory(make_record)
    _installed = True
