"""Throttling of failed logins by client address."""

from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class LoginFailureThrottle(SimpleRateThrottle):
    """Counts only failed logins per address; past the rate, every login is refused with 429."""

    scope = "login_failures"
    cache = cache

    def parse_rate(self, rate: str) -> tuple[int, int]:
        # DRF reads "10/m"; also accept a multiplier such as "10/5m".
        num, period = rate.split("/")
        multiplier = int(period[:-1]) if len(period) > 1 else 1
        seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[-1]]
        return int(num), multiplier * seconds

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request, view) -> bool:
        self.rate = api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.key = self.get_cache_key(request, view)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return len(self.history) < self.num_requests

    def record_failure(self) -> None:
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)
