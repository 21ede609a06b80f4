"""Secrets behind one interface, ``SecretsProvider``: KV secrets, field encryption, database credentials.

Two providers:

- ``DevSecretsProvider`` (``COVENANT_SECRETS_PROVIDER=dev``, the default): ``<data dir>/dev-secrets.json``,
  created 0600 on first run, holding KV paths and versioned AES-256-GCM keys (``dev:v1:...`` ciphertexts).
  Random values are generated on first read of ``service-accounts/<service>`` and
  ``identity/bootstrap-admin``.
  No database engine: services connect with their configured URL.
- ``VaultSecretsProvider`` (``COVENANT_SECRETS_PROVIDER=vault``), through hvac: KV v2 (cached), transit
  (``vault:v1:...`` ciphertexts), the database engine with background lease renewal, and renewal of the
  client token.

``provider_from_settings(settings)`` picks one; ``FieldCipher`` encrypts string columns with it and
``covenant.secrets.masking`` masks ID numbers, phone numbers and bank cards for display.
Secret values never appear in logs, reprs or exception messages (errors name paths, keys and statuses).

Environment (read from ``Settings.env``):

| variable | meaning | default |
|---|---|---|
| COVENANT_SECRETS_PROVIDER | ``dev`` or ``vault`` | dev |
| COVENANT_DEV_SECRETS_DIR | directory of ``dev-secrets.json`` (may be read-only) | COVENANT_DATA_DIR |
| VAULT_ADDR | Vault address | http://127.0.0.1:8200 |
| VAULT_NAMESPACE | Vault Enterprise namespace | none |
| VAULT_CACERT | CA bundle for Vault's TLS certificate | system CAs |
| VAULT_SKIP_VERIFY | ``true``: do not verify Vault's certificate (never in production) | false |
| COVENANT_VAULT_AUTH | ``token``, ``approle`` or ``kubernetes`` | token |
| VAULT_TOKEN / VAULT_TOKEN_FILE | the token (token auth); the file is re-read on 403 (Vault Agent) | — |
| COVENANT_VAULT_AUTH_MOUNT | mount path of the auth method | ``approle`` / ``kubernetes`` |
| COVENANT_VAULT_ROLE | Kubernetes auth role | — |
| COVENANT_VAULT_K8S_TOKEN_FILE | service-account JWT, re-read at each login | (1) |
| COVENANT_VAULT_ROLE_ID / COVENANT_VAULT_ROLE_ID_FILE | AppRole role_id, or a file holding it | — |
| COVENANT_VAULT_SECRET_ID / COVENANT_VAULT_SECRET_ID_FILE | AppRole secret_id, or a file holding it | — |
| COVENANT_VAULT_KV_MOUNT | KV v2 mount | secret |
| COVENANT_VAULT_KV_PREFIX | prefix of every KV path (``secret/data/covenant/<path>``) | covenant |
| COVENANT_VAULT_CACHE_SECONDS | how long a KV read is served from memory (0: no cache) | 60 |
| COVENANT_VAULT_TRANSIT_MOUNT | transit mount | transit |
| COVENANT_VAULT_TRANSIT_KEY | transit key of identity's field encryption (derived) | identity |
| COVENANT_VAULT_DB_MOUNT | database engine mount | database |
| COVENANT_VAULT_DB_ROLE | database-engine role to connect as (2) | unset |
| COVENANT_VAULT_TIMEOUT_SECONDS | HTTP timeout of Vault calls | 10 |

(1) ``/var/run/secrets/kubernetes.io/serviceaccount/token``.
(2) The service's database URL with the user and password of ``<db mount>/creds/<role>``
(``covenant.secrets.database``).

The client token is renewed (``auth/token/renew-self``) at two thirds of its TTL; when Vault refuses, AppRole
and Kubernetes auth log in again. Database leases are renewed (``sys/leases/renew``) the same way; a refused
renewal is signalled through ``LeaseRenewer.lost`` and the ``on_lost`` callback.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from covenant.secrets.base import (
    DatabaseCredentials,
    DecryptionFailed,
    NotSupported,
    SecretNotFound,
    SecretsError,
    SecretsProvider,
)
from covenant.secrets.cipher import FieldCipher
from covenant.secrets.dev import DevSecretsProvider
from covenant.secrets.masking import mask, mask_bank_card, mask_national_id, mask_phone

if TYPE_CHECKING:
    from covenant.settings import Settings


def provider_from_settings(settings: Settings) -> SecretsProvider:
    """The provider ``settings.secrets_provider`` names, configured from ``settings.env``."""
    if settings.secrets_provider == "dev":
        return DevSecretsProvider(Path(settings.env.get("COVENANT_DEV_SECRETS_DIR") or settings.data_dir))
    if settings.secrets_provider == "vault":
        from covenant.secrets.vault import VaultSecretsProvider

        return VaultSecretsProvider.from_env(settings.env)
    raise ValueError(f"COVENANT_SECRETS_PROVIDER must be dev or vault, not {settings.secrets_provider!r}")


__all__ = [
    "DatabaseCredentials",
    "DecryptionFailed",
    "DevSecretsProvider",
    "FieldCipher",
    "NotSupported",
    "SecretNotFound",
    "SecretsError",
    "SecretsProvider",
    "mask",
    "mask_bank_card",
    "mask_national_id",
    "mask_phone",
    "provider_from_settings",
]
