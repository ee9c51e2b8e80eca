"""The Redis cache shares one connection pool per process (real Redis)."""

import os
import threading
import uuid

import pytest
import redis
from django.core.cache import caches
from django.test import override_settings

REDIS_URL = os.environ.get("TEST_CACHE_URL", "redis://127.0.0.1:6379/7")
pytestmark = pytest.mark.services


def _connections_named(name: str) -> int:
    return sum(1 for client in redis.Redis.from_url(REDIS_URL).client_list()
               if client["name"] == name)


def test_cache_objects_of_every_thread_share_one_redis_connection():
    # Django makes a cache object per thread (and per request context under ASGI); each used to
    # open connections of its own.
    name = f"conflux-cache-{uuid.uuid4().hex[:8]}"
    cache_settings = {"default": {"BACKEND": "platform_site.cache.SharedPoolRedisCache",
                                  "LOCATION": REDIS_URL, "OPTIONS": {"client_name": name}}}
    with override_settings(CACHES=cache_settings):
        caches["default"].set(name, "seen", 30)
        answers = []
        for _ in range(10):
            thread = threading.Thread(target=lambda: answers.append(caches["default"].get(name)))
            thread.start()
            thread.join()
        assert answers == ["seen"] * 10
        assert _connections_named(name) == 1
        caches["default"].delete(name)
