"""Google clients for one executor: credentials, endpoints and the retry policy.

Credentials come from Google's own chain (Application Default Credentials: the
``GOOGLE_APPLICATION_CREDENTIALS`` key file, ``gcloud auth application-default login``,
or the metadata server of a Google VM), from an explicit service-account key file, or
are anonymous for emulators. Endpoints can point each API at an emulator or a fake.
Clients are built on first use and never pickled with the executor.
"""

from __future__ import annotations

import threading
from typing import Any

import google.auth
from google.api_core import exceptions as gexc
from google.api_core import retry as gretry
from google.auth.credentials import AnonymousCredentials, Credentials
from google.auth.exceptions import DefaultCredentialsError
from google.cloud import batch_v1, storage

from covalent_core.errors import ExecutorConfigError

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
#: Answers worth asking again: throttling and the service's own transient failures.
TRANSIENT = (
    gexc.TooManyRequests, gexc.ServiceUnavailable, gexc.InternalServerError,
    gexc.BadGateway, gexc.GatewayTimeout,
)


def transient_retry(timeout: float = 120.0) -> gretry.Retry:
    """Exponential backoff on throttling (429) and 5xx, up to ``timeout`` seconds in all."""
    return gretry.Retry(
        predicate=gretry.if_exception_type(*TRANSIENT),
        initial=0.25, maximum=10.0, multiplier=2.0, timeout=timeout,
    )


class GoogleClients:
    def __init__(
        self,
        project_id: str,
        credentials_file: str = "",
        anonymous: bool = False,
        batch_endpoint: str = "",
        storage_endpoint: str = "",
        logging_endpoint: str = "",
    ) -> None:
        self.project_id = project_id
        self.credentials_file = credentials_file
        self.anonymous = anonymous
        self.batch_endpoint = batch_endpoint
        self.storage_endpoint = storage_endpoint
        self.logging_endpoint = logging_endpoint
        self._lock = threading.RLock()
        self._made: dict[str, Any] = {}

    def _once(self, key: str, make: Any) -> Any:
        with self._lock:
            if key not in self._made:
                self._made[key] = make()
            return self._made[key]

    @property
    def credentials(self) -> Credentials:
        return self._once("credentials", self._credentials)

    def _credentials(self) -> Credentials:
        if self.anonymous:
            return AnonymousCredentials()
        if self.credentials_file:
            from google.oauth2 import service_account

            try:
                return service_account.Credentials.from_service_account_file(
                    self.credentials_file, scopes=SCOPES
                )
            except (OSError, ValueError) as exc:
                raise ExecutorConfigError(
                    f"credentials_file: cannot read a service-account key from "
                    f"{self.credentials_file!r} ({exc}); point it at the JSON key file, or "
                    "leave it empty to use Application Default Credentials"
                ) from None
        try:
            credentials, _ = google.auth.default(scopes=SCOPES)
        except DefaultCredentialsError as exc:
            raise ExecutorConfigError(
                f"no Google credentials found ({exc}). Run `gcloud auth application-default "
                "login`, set GOOGLE_APPLICATION_CREDENTIALS, or set the executor's "
                "credentials_file"
            ) from None
        return credentials

    @staticmethod
    def _options(endpoint: str) -> dict[str, str] | None:
        return {"api_endpoint": endpoint} if endpoint else None

    @property
    def batch(self) -> batch_v1.BatchServiceClient:
        return self._once("batch", lambda: batch_v1.BatchServiceClient(
            transport="rest", credentials=self.credentials,
            client_options=self._options(self.batch_endpoint),
        ))

    @property
    def storage(self) -> storage.Client:
        return self._once("storage", lambda: storage.Client(
            project=self.project_id, credentials=self.credentials,
            client_options=self._options(self.storage_endpoint),
        ))

    @property
    def logging(self) -> Any:
        from google.cloud import logging as cloud_logging

        # The HTTP transport: it needs no gRPC channel and reaches any endpoint.
        return self._once("logging", lambda: cloud_logging.Client(
            project=self.project_id, credentials=self.credentials,
            client_options=self._options(self.logging_endpoint), _use_grpc=False,
        ))
