"""Encryption of secrets at rest with Fernet keys from the settings (MultiFernet rotates)."""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "enc:v1:"


@cache
def _fernet() -> MultiFernet:
    keys = list(settings.ENCRYPTION_KEYS)
    if not keys:
        # The embedded default only (settings refuse this with DEBUG off): a key derived from
        # SECRET_KEY, so a newcomer needs no set-up.
        digest = hashlib.sha256(b"conflux-secrets:" + settings.SECRET_KEY.encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "ENCRYPTION_KEYS holds a value that is not a Fernet key: generate one with "
            "python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        ) from exc


def encrypt(plaintext: str) -> str:
    """Encrypt a secret for storage."""
    return PREFIX + _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """Decrypt a stored secret; a value that was never encrypted is returned as it is."""
    if not is_encrypted(token):
        return token
    try:
        return _fernet().decrypt(token[len(PREFIX):].encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with ENCRYPTION_KEYS: keep the old key in the "
            "list (after the new one) until every secret has been re-encrypted."
        ) from exc


def is_encrypted(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def rotate(token: str) -> str:
    """Re-encrypt a stored secret with the newest key."""
    return PREFIX + _fernet().rotate(token[len(PREFIX):].encode()).decode()
