"""The one exception type every LLM failure is raised as, and secret scrubbing for its message."""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Stable codes for LLM failures; the API layer passes them on as `error_code`."""

    NOT_CONFIGURED = "NOT_CONFIGURED"
    AUTH_FAILED = "AUTH_FAILED"
    RATE_LIMITED = "RATE_LIMITED"
    UPSTREAM_ERROR = "UPSTREAM_ERROR"
    TIMEOUT = "TIMEOUT"
    BAD_RESPONSE = "BAD_RESPONSE"
    CONNECTION_FAILED = "CONNECTION_FAILED"
    BAD_REQUEST = "BAD_REQUEST"
    NOT_FOUND = "NOT_FOUND"


class LLMError(Exception):
    """An LLM call failed; `message` says what to do about it and never holds a secret."""

    def __init__(
        self,
        message: str,
        code: ErrorCode | str,
        status_code: int | None = None,
        retryable: bool = False,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = str(code)  # a plain str (StrEnum members compare equal) for JSON and logs
        self.status_code = status_code
        self.retryable = retryable
        # Seconds the server asked us to wait (Retry-After), already parsed; None if it did not say.
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"LLMError({self.message!r}, code={self.code!r}, "
            f"status_code={self.status_code!r}, retryable={self.retryable!r})"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for events, logs and API errors."""
        return {
            "message": self.message,
            "code": self.code,
            "status_code": self.status_code,
            "retryable": self.retryable,
        }


# Tokens that look like credentials even when they are not the configured key (an upstream may
# echo a different key, or a proxy may put one in its error page).
_SECRET_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[^\s\"',;]+"),
    re.compile(r"\b(sk-)[A-Za-z0-9_\-*]{6,}"),
    re.compile(r"(?i)((?:api[_-]?key|token|secret|password)[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&]+"),
)
_MIN_SECRET_LENGTH = 4  # shorter "keys" (e.g. "x") would mangle ordinary words if scrubbed


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Remove the given secrets and anything shaped like a credential from `text`."""
    for secret in secrets:
        if secret and len(secret) >= _MIN_SECRET_LENGTH:
            text = text.replace(secret, "***")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "***", text)
    return text
