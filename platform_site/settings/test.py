"""Settings for the test suite: the environment still decides the services (embedded or real)."""

import os

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

# Slow and side-effecting node types the tests watch runs with (never in the product).
EXTRA_NODE_MODULES = ["tests.support.nodes"]

# Worker threads write concurrently: an in-memory shared-cache SQLite database locks whole tables
# and fails at once, a file in WAL mode waits its turn as the embedded default does.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # One file per test process: separate pytest runs on one machine must not share it.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(DATA_DIR / f"test-db-{os.getpid()}.sqlite3")  # noqa: F405
    }
# Threads of channels' database_sync_to_async keep no connection past a call, so the test
# database can be dropped at the end of the session.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
