"""One boto3 session and its clients per executor, built from the SDK's own credential chain.

Credentials are never handled here beyond passing them to boto3: a profile, a shared
credentials file, explicit keys (kept as ``SecretStr``), environment variables or an
instance role all go through botocore's chain. Throttling and transient errors are
retried by botocore's "standard" retry mode (exponential backoff with jitter), so every
call the executors make is retried the same way.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from pydantic import SecretStr


class AWSConnection:
    """Lazily made clients, shared by the threads that run an executor's API calls."""

    def __init__(
        self,
        *,
        profile: str = "",
        region: str = "",
        credentials_file: str = "",
        endpoint_url: str = "",
        access_key_id: SecretStr | None = None,
        secret_access_key: SecretStr | None = None,
        session_token: SecretStr | None = None,
        max_attempts: int = 8,
    ) -> None:
        self.profile = profile
        self.region = region
        self.credentials_file = credentials_file
        self.endpoint_url = endpoint_url
        self._keys = (access_key_id, secret_access_key, session_token)
        self.max_attempts = max_attempts
        self._lock = threading.Lock()
        self._session: boto3.Session | None = None
        self._clients: dict[str, Any] = {}

    @property
    def session(self) -> boto3.Session:
        with self._lock:
            if self._session is None:
                self._session = self._make_session()
            return self._session

    def _make_session(self) -> boto3.Session:
        core = botocore.session.get_session()
        if self.credentials_file:
            core.set_config_variable("credentials_file", os.path.expanduser(self.credentials_file))
        key_id, secret, token = (k.get_secret_value() if k else None for k in self._keys)
        return boto3.Session(
            botocore_session=core,
            profile_name=self.profile or None,
            region_name=self.region or None,
            aws_access_key_id=key_id or None,
            aws_secret_access_key=secret or None,
            aws_session_token=token or None,
        )

    def client(self, service: str) -> Any:
        session = self.session
        with self._lock:
            if service not in self._clients:
                config = Config(
                    retries={"mode": "standard", "total_max_attempts": self.max_attempts},
                    max_pool_connections=64,
                )
                self._clients[service] = session.client(
                    service, endpoint_url=self.endpoint_url or None, config=config
                )
            return self._clients[service]

    @property
    def region_name(self) -> str:
        return self.session.region_name or ""
