"""API keys: made, listed, revoked and checked; the key itself is shown once and never stored.

A key is `cfx_` followed by 43 random URL-safe characters. The recognisable prefix lets the
authentication tell keys from JWTs without a database query; the database holds the SHA-256 of
the whole key, looked up through a unique index (the lookup of a hash reveals nothing about the
key through timing).
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from .models import ApiKey, User

KEY_PREFIX = "cfx_"
DISPLAY_PREFIX_LENGTH = 12
# last_used_at is written at most this often per key: a busy key must not cost a write per call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class NewApiKey:
    """A key just made: the stored row and the key itself, which only its creator ever sees."""

    api_key: ApiKey
    key: str


def key_hash(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_api_key(credential: str) -> bool:
    """True for credentials shaped like our keys (JWTs never start with the prefix)."""
    return credential.startswith(KEY_PREFIX)


def api_key_create(*, owner: User, name: str) -> NewApiKey:
    """Make a key for `owner`; the returned key is not stored anywhere."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey.objects.create(owner=owner, name=name, prefix=key[:DISPLAY_PREFIX_LENGTH],
                                key_hash=key_hash(key))
    return NewApiKey(api_key=row, key=key)


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke a key at once; revoking twice keeps the first time."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_authenticate(*, key: str) -> ApiKey | None:
    """The live key matching `key` with its owner loaded, or None (unknown or revoked)."""
    digest = key_hash(key)
    row = (ApiKey.objects.select_related("owner")
           .filter(key_hash=digest, revoked_at__isnull=True).first())
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        # Conditional, so that concurrent calls write once.
        ApiKey.objects.filter(pk=row.pk, last_used_at=row.last_used_at).update(last_used_at=now)
        row.last_used_at = now
    return row
