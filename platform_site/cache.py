"""A Redis cache whose connection pool is shared by the whole process.

Django keeps cache objects per thread and, under ASGI, per request context, and its Redis backend
gives each object a connection pool of its own: every request made a new Redis connection (a
connect and a handshake, a good share of a throttled request's time). Here every cache object of
the same server and options shares one client, whose pool is thread-safe and forks cleanly.
"""

import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property

_clients: dict[tuple, RedisCacheClient] = {}
_lock = threading.Lock()


class SharedPoolRedisCache(RedisCache):
    """Django's Redis cache, with one client (and connection pool) per process."""

    @cached_property
    def _cache(self) -> RedisCacheClient:
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with _lock:
            if key not in _clients:
                _clients[key] = self._class(self._servers, **self._options)
            return _clients[key]
