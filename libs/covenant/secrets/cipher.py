"""Field encryption for sensitive columns (ID numbers, phone numbers, bank cards)."""

from __future__ import annotations

from covenant.secrets.base import SecretsProvider


class FieldCipher:
    """Encrypts strings with one provider key (Vault transit or the dev file).

    ``context`` (e.g. ``identity.employees.phone``) is bound to the ciphertext (Vault: a derived transit key,
    created as such on first use with a context; dev: AES-GCM associated data), so a value copied into
    another column does not decrypt there. Ciphertexts are versioned strings that survive key rotation.
    """

    def __init__(self, provider: SecretsProvider, key_name: str) -> None:
        self.provider = provider
        self.key_name = key_name

    def encrypt_str(self, value: str, context: str) -> str:
        """Ciphertext of ``value`` (UTF-8) bound to ``context``."""
        return self.provider.encrypt(self.key_name, value.encode(), context=context.encode())

    def decrypt_str(self, ciphertext: str, context: str) -> str:
        """The value; ``covenant.secrets.DecryptionFailed`` on a wrong context or a damaged ciphertext."""
        return self.provider.decrypt(self.key_name, ciphertext, context=context.encode()).decode()

    # The names services/identity's storage port uses.
    encrypt = encrypt_str
    decrypt = decrypt_str

    def __repr__(self) -> str:
        return f"FieldCipher(key_name={self.key_name!r})"
