"""Settings for the test suite: the environment still decides the services (embedded or real)."""

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
LOGGING["root"]["level"] = "WARNING"  # noqa: F405

# Parallel test processes (pytest-xdist) share the machine's Redis: keep their queues and
# channel groups apart.
_test_worker = env.str("PYTEST_XDIST_WORKER", default="main")  # noqa: F405
if "namespace" in DRAMATIQ_BROKER["OPTIONS"]:  # noqa: F405
    DRAMATIQ_BROKER["OPTIONS"]["namespace"] = f"conflux-test-{_test_worker}"  # noqa: F405
if "CONFIG" in CHANNEL_LAYERS["default"]:  # noqa: F405
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"conflux-test-{_test_worker}"  # noqa: F405
WORKER_HEARTBEAT_SECONDS = 1.0
