"""Secrets at rest: encrypted with the configured keys, rotatable."""

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings

from platform_site import crypto


@pytest.fixture(autouse=True)
def _fresh_keys():
    crypto._fernet.cache_clear()
    yield
    crypto._fernet.cache_clear()


def test_a_secret_round_trips_and_is_not_stored_in_clear():
    stored = crypto.encrypt("hunter2-canary")
    assert "hunter2-canary" not in stored
    assert crypto.is_encrypted(stored)
    assert crypto.decrypt(stored) == "hunter2-canary"


def test_rotation_keeps_old_secrets_readable_and_rewrites_them_with_the_new_key():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(ENCRYPTION_KEYS=[old]):
        stored = crypto.encrypt("s3cret")
    crypto._fernet.cache_clear()
    with override_settings(ENCRYPTION_KEYS=[new, old]):
        assert crypto.decrypt(stored) == "s3cret"
        rotated = crypto.rotate(stored)
    crypto._fernet.cache_clear()
    with override_settings(ENCRYPTION_KEYS=[new]):
        assert crypto.decrypt(rotated) == "s3cret"


def test_a_wrong_key_fails_with_instructions():
    with override_settings(ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        stored = crypto.encrypt("x")
    crypto._fernet.cache_clear()
    with override_settings(ENCRYPTION_KEYS=[Fernet.generate_key().decode()]), \
            pytest.raises(Exception, match="ENCRYPTION_KEYS"):
        crypto.decrypt(stored)
