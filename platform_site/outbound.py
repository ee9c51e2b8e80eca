"""The platform's one outbound HTTP client, built once from the settings.

Every outbound request of the platform (the http node, `api` data sources, agent tools) goes
through `outbound_client()`, so the SSRF policy and the limits are the same everywhere.

Settings (all optional): OUTBOUND_ALLOW_HOSTS, OUTBOUND_ALLOW_NETWORKS (host names and CIDR
networks that may be reached although they are private or loopback),
OUTBOUND_MAX_RESPONSE_BYTES, OUTBOUND_MAX_REDIRECTS, OUTBOUND_TIMEOUT_S, OUTBOUND_VERIFY_TLS.
A change of any OUTBOUND_* setting (tests use the `settings` fixture) drops the cached client.
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from datasources.outbound import OutboundPolicy, SafeHttpClient

__all__ = ["outbound_client", "outbound_policy", "reset_outbound"]

_lock = threading.Lock()
_policy: OutboundPolicy | None = None
_client: SafeHttpClient | None = None

_LIMITS: tuple[tuple[str, str, type], ...] = (
    ("OUTBOUND_MAX_RESPONSE_BYTES", "max_response_bytes", int),
    ("OUTBOUND_MAX_REDIRECTS", "max_redirects", int),
    ("OUTBOUND_TIMEOUT_S", "default_timeout_s", float),
    ("OUTBOUND_VERIFY_TLS", "verify_tls", bool),
)


def _as_list(name: str) -> list[str]:
    value = getattr(settings, name, None) or []
    if isinstance(value, str):
        value = value.split(",")
    return [str(item).strip() for item in value if str(item).strip()]


def _build_policy() -> OutboundPolicy:
    limits: dict[str, Any] = {}
    for setting, key, kind in _LIMITS:
        value = getattr(settings, setting, None)
        if value is not None:
            limits[key] = kind(value)
    try:
        return OutboundPolicy.from_strings(
            _as_list("OUTBOUND_ALLOW_HOSTS"), _as_list("OUTBOUND_ALLOW_NETWORKS"), **limits
        )
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"OUTBOUND_ALLOW_NETWORKS holds a value that is not a network ({exc}): list CIDR "
            "networks separated by commas, e.g. OUTBOUND_ALLOW_NETWORKS=10.1.0.0/16,192.168.5.7"
        ) from None


def outbound_policy() -> OutboundPolicy:
    """The outbound policy from the settings (built once, until an OUTBOUND_* setting changes)."""
    global _policy
    with _lock:
        if _policy is None:
            _policy = _build_policy()
        return _policy


def outbound_client() -> SafeHttpClient:
    """The shared SSRF-safe client under `outbound_policy()` (thread-safe; do not close it)."""
    global _client
    policy = outbound_policy()
    with _lock:
        if _client is None or _client.policy is not policy:
            _client = SafeHttpClient(policy)
        return _client


def reset_outbound() -> None:
    """Forget the cached policy and client (the next call rebuilds them from the settings)."""
    global _policy, _client
    with _lock:
        old, _policy, _client = _client, None, None
    if old is not None:
        old.close()


@receiver(setting_changed)
def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("OUTBOUND_"):
        reset_outbound()
