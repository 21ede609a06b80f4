"""The dev secrets provider: 0600 file, concurrent first start, generated secrets, field encryption."""

from __future__ import annotations

import json
import multiprocessing
import stat
import traceback
from pathlib import Path
from typing import Any

import pytest

from covenant.secrets import (
    DecryptionFailed,
    DevSecretsProvider,
    FieldCipher,
    NotSupported,
    SecretNotFound,
    SecretsProvider,
    provider_from_settings,
)
from covenant.settings import Settings

SERVICES = ["identity", "attendance", "scoring", "points", "compliance", "commitments"]


def _first_start(data_dir: str, name: str, barrier: Any, out: Any) -> None:
    barrier.wait()  # all six construct the provider at the same moment, as `covenant up` does
    p = DevSecretsProvider(Path(data_dir))
    secret = p.get_secret(f"service-accounts/{name}")["client_secret"]
    admin = p.get_secret("identity/bootstrap-admin")["password"]
    token = p.encrypt("identity", name.encode(), context=b"probe")
    out.put((name, secret, admin, token))


def test_file_is_created_0600_and_generated_secrets_are_stable(tmp_path: Path) -> None:
    p = DevSecretsProvider(tmp_path / "data")
    assert p.path == tmp_path / "data" / "dev-secrets.json"
    assert stat.S_IMODE(p.path.stat().st_mode) == 0o600
    first = p.get_secret("service-accounts/points")["client_secret"]
    assert len(first) >= 32
    assert stat.S_IMODE(p.path.stat().st_mode) == 0o600  # still 0600 after a rewrite
    again = DevSecretsProvider(tmp_path / "data")
    assert again.get_secret("service-accounts/points")["client_secret"] == first
    assert again.get_secret("service-accounts/scoring")["client_secret"] != first
    p.put_secret("identity/signing-keys", {"keys": "[]"})
    assert DevSecretsProvider(tmp_path / "data").get_secret("identity/signing-keys") == {"keys": "[]"}
    with pytest.raises(SecretNotFound, match="nothing/here"):
        p.get_secret("nothing/here")
    with pytest.raises(NotSupported, match="DB_URL"):
        p.database_credentials("points")
    assert isinstance(p, SecretsProvider)


def test_six_processes_starting_at_once_share_one_consistent_file(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(len(SERVICES)), ctx.Queue()
    procs = [ctx.Process(target=_first_start, args=(str(tmp_path), n, barrier, out)) for n in SERVICES]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    doc = json.loads((tmp_path / "dev-secrets.json").read_text())  # valid JSON: no torn write
    assert stat.S_IMODE((tmp_path / "dev-secrets.json").stat().st_mode) == 0o600
    for name, secret, _admin, _token in results:
        assert doc["kv"][f"service-accounts/{name}"]["client_secret"] == secret  # nobody's write was lost
    assert len({admin for _n, _s, admin, _t in results}) == 1  # one bootstrap password, not six
    assert len(doc["keys"]["identity"]) == 1  # one key created, not one per process
    p = DevSecretsProvider(tmp_path)
    for name, _secret, _admin, token in results:  # every process encrypted with that same key
        assert p.decrypt("identity", token, context=b"probe") == name.encode()
    assert sorted(f.name for f in tmp_path.iterdir()) == ["dev-secrets.json", "dev-secrets.lock"]


def test_field_cipher_round_trip_rotation_and_context(tmp_path: Path) -> None:
    p = DevSecretsProvider(tmp_path)
    cipher = FieldCipher(p, "identity")
    token = cipher.encrypt_str("13812345678", "identity.employees.phone")
    assert token.startswith("dev:v1:") and "13812345678" not in token
    assert cipher.decrypt_str(token, "identity.employees.phone") == "13812345678"
    assert cipher.encrypt_str("13812345678", "identity.employees.phone") != token  # random nonce
    p.rotate_key("identity")
    assert cipher.encrypt_str("x", "c").startswith("dev:v2:")
    assert cipher.decrypt_str(token, "identity.employees.phone") == "13812345678"  # old version still works
    # Another process (a second provider on the same file) sees the rotation and reads both versions.
    other = FieldCipher(DevSecretsProvider(tmp_path), "identity")
    assert other.decrypt_str(cipher.encrypt_str("y", "c"), "c") == "y"
    assert other.decrypt(token, "identity.employees.phone") == "13812345678"  # identity's port names


@pytest.mark.parametrize(
    ("mangle", "context"),
    [
        (lambda t: t, "identity.employees.national_id"),  # copied into another column
        (lambda t: t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB"), "identity.employees.phone"),
        (lambda t: t.replace("dev:v1:", "dev:v9:"), "identity.employees.phone"),  # unknown version
        (lambda t: "vault:v1:" + t.split(":", 2)[2], "identity.employees.phone"),  # foreign ciphertext
        (lambda _t: "13812345678", "identity.employees.phone"),  # a plaintext left in the column
    ],
)
def test_what_does_not_decrypt_fails_without_echoing_values(
    tmp_path: Path, mangle: Any, context: str
) -> None:
    cipher = FieldCipher(DevSecretsProvider(tmp_path), "identity")
    token = cipher.encrypt_str("13812345678", "identity.employees.phone")
    with pytest.raises(DecryptionFailed) as failed:
        cipher.decrypt_str(mangle(token), context)
    assert isinstance(failed.value, ValueError)
    assert "13812345678" not in "".join(traceback.format_exception_only(failed.value))
    assert failed.value.__cause__ is None
    assert failed.value.__context__ is None or failed.value.__suppress_context__


def test_no_secret_value_in_reprs(tmp_path: Path) -> None:
    p = DevSecretsProvider(tmp_path)
    value = p.get_secret("service-accounts/points")["client_secret"]
    cipher = FieldCipher(p, "identity")
    cipher.encrypt_str("x", "c")
    key = json.loads(p.path.read_text())["keys"]["identity"][0]
    text = " ".join([repr(p), str(p), repr(cipher), str(cipher)])
    assert value not in text and key not in text and "client_secret" not in text


def test_provider_from_settings_picks_dev(tmp_path: Path) -> None:
    p = provider_from_settings(Settings.from_env("points", {"COVENANT_DATA_DIR": str(tmp_path)}))
    assert isinstance(p, DevSecretsProvider) and p.path == tmp_path / "dev-secrets.json"
    mounted = tmp_path / "mounted"
    q = provider_from_settings(
        Settings.from_env(
            "points", {"COVENANT_DATA_DIR": str(tmp_path), "COVENANT_DEV_SECRETS_DIR": str(mounted)}
        )
    )
    assert isinstance(q, DevSecretsProvider) and q.path == mounted / "dev-secrets.json"
    with pytest.raises(ValueError, match="dev or vault"):
        provider_from_settings(Settings.from_env("points", {"COVENANT_SECRETS_PROVIDER": "aws"}))
