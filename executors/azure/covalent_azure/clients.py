"""Azure clients for one executor: which credential, which endpoint, and SAS URLs for tasks.

Credentials, in order: an account key (``batch_account_key`` / ``storage_account_key``),
a service principal (``tenant_id`` + ``client_id`` + ``client_secret``), else
azure-identity's ``DefaultAzureCredential`` (``AZURE_*`` environment variables, a
managed identity, ``az login``). Secrets stay in pydantic ``SecretStr`` until the
moment a credential object is made; clients are built on first use and never pickled.
Transient answers (429, 5xx) are retried by azure-core's retry policy.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from azure.batch import BatchClient
from azure.core.credentials import AzureNamedKeyCredential
from azure.storage.blob import BlobSasPermissions, BlobServiceClient, generate_blob_sas
from pydantic import SecretStr

#: How long the SAS URLs a task receives stay valid (user delegation keys allow 7 days at most).
SAS_LIFETIME = timedelta(days=6)


class AzureClients:
    def __init__(self, settings: Any) -> None:
        self.s = settings
        self._lock = threading.RLock()
        self._made: dict[str, Any] = {}

    def _once(self, key: str, make: Any) -> Any:
        with self._lock:
            if key not in self._made:
                self._made[key] = make()
            return self._made[key]

    def _identity(self) -> Any:
        """The Entra ID credential shared by Batch and Storage when no key is given."""

        def make() -> Any:
            from azure.identity import ClientSecretCredential, DefaultAzureCredential

            secret = _reveal(self.s.client_secret)
            if self.s.tenant_id and self.s.client_id and secret:
                return ClientSecretCredential(self.s.tenant_id, self.s.client_id, secret)
            return DefaultAzureCredential()

        return self._once("identity", make)

    @property
    def batch(self) -> BatchClient:
        def make() -> BatchClient:
            key = _reveal(self.s.batch_account_key)
            if key:
                return BatchClient(self.s.batch_account_url,
                                   AzureNamedKeyCredential(self.batch_account_name, key))
            return BatchClient(
                self.s.batch_account_url, self._identity(),
                credential_scopes=[f"https://{self.s.batch_account_domain}/.default"],
            )

        return self._once("batch", make)

    @property
    def batch_account_name(self) -> str:
        return self.s.batch_account_name or (urlsplit(self.s.batch_account_url).hostname or "")\
            .split(".")[0]

    @property
    def account_url(self) -> str:
        return (self.s.storage_account_url or
                f"https://{self.s.storage_account_name}.{self.s.storage_account_domain}")\
            .rstrip("/")

    @property
    def blobs(self) -> BlobServiceClient:
        def make() -> BlobServiceClient:
            key = _reveal(self.s.storage_account_key)
            credential: Any = (
                {"account_name": self.s.storage_account_name, "account_key": key}
                if key else self._identity()
            )
            return BlobServiceClient(self.account_url, credential=credential)

        return self._once("blobs", make)

    def sas_url(self, container: str, blob: str, permission: BlobSasPermissions) -> str:
        """A URL that lets the task read or write exactly this blob, and nothing else."""
        now = datetime.now(timezone.utc)
        key = _reveal(self.s.storage_account_key)
        if key:
            signing: dict[str, Any] = {"account_key": key, "expiry": now + SAS_LIFETIME}
        else:
            expiry, delegation = self._delegation_key(now)
            signing = {"user_delegation_key": delegation, "expiry": expiry}
        token = generate_blob_sas(self.s.storage_account_name, container, blob,
                                  permission=permission, **signing)
        return f"{self.account_url}/{container}/{blob}?{token}"

    def _delegation_key(self, now: datetime) -> tuple[datetime, Any]:
        """One key signs many SAS URLs; a fresh one once half its lifetime has passed."""
        with self._lock:
            cached = self._made.get("delegation")
            if cached is None or cached[0] < now + SAS_LIFETIME / 2:
                expiry = now + SAS_LIFETIME
                key = self.blobs.get_user_delegation_key(now - timedelta(minutes=5), expiry)
                self._made["delegation"] = cached = (expiry, key)
            return cached


def _reveal(value: SecretStr | str | None) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return value or ""
