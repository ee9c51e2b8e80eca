"""Per-user rate limits of the costly endpoints (rates in REST_FRAMEWORK's throttle rates)."""

from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle


class _SettingsRateThrottle(UserRateThrottle):
    """Reads its rate from the settings when asked, not when the class was imported."""

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class ExecuteRateThrottle(_SettingsRateThrottle):
    """Starting executions: EXECUTE_RATE per user."""

    scope = "execute"


class ChatRateThrottle(_SettingsRateThrottle):
    """Agent chat and agent execution (each a model call or more): CHAT_RATE per user."""

    scope = "chat"
