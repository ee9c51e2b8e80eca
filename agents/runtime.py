"""From a stored model config to a working LLM client, and from LLM failures to API errors.

Configs created by ordinary users may not reach private or loopback addresses (unless the
settings allow them): their calls go through a transport that resolves, vets and pins every
address at connect time (`datasources.outbound`), so DNS tricks cannot slip past a check made
earlier. Shared and admin configs are trusted: model servers usually live on private networks.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
from rest_framework import status

from agents.llm import ErrorCode, LLMClient, LLMError, ModelSettings
from agents.llm.client import OnLLMCall
from datasources.outbound import (
    OutboundError,
    OutboundPolicy,
    _PinnedTransport,  # the one vetted transport; see the note in `guarded_http_client`
)
from platform_site.api.errors import APIError
from platform_site.outbound import outbound_policy

from .models import Agent, ModelConfig

HOW_TO_CONFIGURE = (
    "Create one with POST /api/v1/model-configs {name, provider, base_url, model, api_key} "
    "(or ask an admin for a shared one), then set it as the agent's `model_config`."
)

# error_code and HTTP status for each LLMError code.
_API_ERRORS: dict[str, tuple[str, int]] = {
    ErrorCode.NOT_CONFIGURED: ("MODEL_NOT_CONFIGURED", status.HTTP_422_UNPROCESSABLE_ENTITY),
    ErrorCode.TIMEOUT: ("LLM_TIMEOUT", status.HTTP_504_GATEWAY_TIMEOUT),
    ErrorCode.RATE_LIMITED: ("LLM_RATE_LIMITED", status.HTTP_429_TOO_MANY_REQUESTS),
    ErrorCode.AUTH_FAILED: ("LLM_AUTH_FAILED", status.HTTP_502_BAD_GATEWAY),
    ErrorCode.CONNECTION_FAILED: ("LLM_CONNECTION_FAILED", status.HTTP_502_BAD_GATEWAY),
    ErrorCode.BAD_RESPONSE: ("LLM_BAD_RESPONSE", status.HTTP_502_BAD_GATEWAY),
    ErrorCode.NOT_FOUND: ("LLM_MODEL_NOT_FOUND", status.HTTP_502_BAD_GATEWAY),
    ErrorCode.BAD_REQUEST: ("LLM_BAD_REQUEST", status.HTTP_502_BAD_GATEWAY),
    ErrorCode.UPSTREAM_ERROR: ("LLM_UPSTREAM_ERROR", status.HTTP_502_BAD_GATEWAY),
}
ENDPOINT_NOT_ALLOWED = "MODEL_ENDPOINT_NOT_ALLOWED"
# Outbound refusals (the destination is forbidden), as opposed to failures worth retrying.
_REFUSALS = frozenset({"ADDRESS_NOT_ALLOWED", "SCHEME_NOT_ALLOWED"})


class LLMAPIError(APIError):
    """An LLM failure in the contract's error shape (status and code set per failure)."""


def api_error_code(error: LLMError) -> tuple[str, int]:
    """The API's (error_code, HTTP status) for an LLM failure."""
    if error.code == ENDPOINT_NOT_ALLOWED:
        return ENDPOINT_NOT_ALLOWED, status.HTTP_422_UNPROCESSABLE_ENTITY
    return _API_ERRORS.get(error.code, ("LLM_UPSTREAM_ERROR", status.HTTP_502_BAD_GATEWAY))


def api_error(error: LLMError) -> APIError:
    """The APIError a view raises for an LLM failure."""
    code, http_status = api_error_code(error)
    exc = LLMAPIError(error.message, error_code=code)
    exc.status_code = http_status
    if error.code == ErrorCode.RATE_LIMITED and error.retry_after is not None:
        exc.wait = error.retry_after  # the exception handler turns it into Retry-After
    return exc


# -- who may call what -----------------------------------------------------------------------


def is_trusted(config: ModelConfig) -> bool:
    """Shared configs and admins' configs may point anywhere; users' are SSRF-checked."""
    if config.owner_id is None:
        return True
    owner = config.owner
    return bool(getattr(owner, "is_platform_admin", False))


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP a host names literally, in any spelling (dotted, decimal, hex, IPv6), or None."""
    host = host.strip().strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        # inet_aton reads the legacy forms too: 2130706433, 0x7f000001, 127.1.
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def endpoint_refusal(base_url: str, policy: OutboundPolicy | None = None) -> str | None:
    """Why a user's config may not use `base_url` (judged without DNS), or None.

    Names other than localhost are vetted when connecting, where the resolved address is known.
    """
    host = (urlsplit(base_url).hostname or "").rstrip(".").lower()
    if not host:
        return None
    policy = policy or outbound_policy()
    if policy.host_allowed(host):
        return None
    if host == "localhost" or host.endswith(".localhost"):
        return (
            f"The model endpoint {host!r} is a loopback address, which user model configs may not "
            "use; ask an admin for a shared config or to allow it in OUTBOUND_ALLOW_HOSTS."
        )
    ip = literal_address(host)
    if ip is None:
        return None
    reason = policy.refusal(host, ip)
    if reason is None:
        return None
    return (
        f"The model endpoint {host} is a {reason} address, which user model configs may not use; "
        "ask an admin for a shared config or to allow it in OUTBOUND_ALLOW_NETWORKS."
    )


class _OpenAICompatibleTransport(httpx.BaseTransport):
    """The vetting transport, with its refusals raised as the httpx errors the SDK understands."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self._inner = _PinnedTransport(policy, socket.getaddrinfo)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = self._inner.handle_request(request)
        except OutboundError as exc:
            raise _httpx_error(exc, request) from None
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_TranslatedStream(response.stream, request),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._inner.close()


class _TranslatedStream(httpx.SyncByteStream):
    def __init__(self, stream: Any, request: httpx.Request) -> None:
        self._stream = stream
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._stream
        except OutboundError as exc:
            raise _httpx_error(exc, self._request) from None

    def close(self) -> None:
        self._stream.close()


def _httpx_error(exc: OutboundError, request: httpx.Request) -> Exception:
    if exc.code in _REFUSALS:
        # An LLMError passes through the SDK untouched and is not retried: asking again
        # cannot make a forbidden address allowed.
        return LLMError(
            f"{exc.message} User model configs may not reach private or loopback addresses; "
            "ask an admin for a shared config or to allow the host in OUTBOUND_ALLOW_HOSTS.",
            ENDPOINT_NOT_ALLOWED,
        )
    if exc.code == "TIMEOUT":
        return httpx.ReadTimeout(exc.message, request=request)
    return httpx.ConnectError(exc.message, request=request)


def guarded_http_client(policy: OutboundPolicy | None = None) -> httpx.Client:
    """An httpx client whose every connection is SSRF-vetted under the settings' policy.

    It reuses `datasources.outbound`'s private transport because that module exposes only its
    own request API; a public transport factory there would be the better seam.
    """
    return httpx.Client(
        transport=_OpenAICompatibleTransport(policy or outbound_policy()),
        follow_redirects=False,
        trust_env=False,  # an environment proxy would connect somewhere nobody vetted
    )


# -- settings and clients --------------------------------------------------------------------


def model_settings(
    config: ModelConfig, *, model: str | None = None, defaults: dict[str, Any] | None = None
) -> ModelSettings:
    """The plain-Python settings of a stored config, with the key decrypted."""
    merged = dict(config.defaults or {})
    merged.update({k: v for k, v in (defaults or {}).items() if v is not None})
    return ModelSettings(
        provider=config.provider,
        model=(model or config.model or "").strip(),
        base_url=config.base_url,
        api_key=config.decrypted_api_key(),
        defaults=merged,
        timeout_s=float(config.timeout_s or 60.0),
    )


def check_endpoint(config: ModelConfig, settings: ModelSettings) -> None:
    """Raise LLMError(MODEL_ENDPOINT_NOT_ALLOWED) when a user's config names a private host."""
    if is_trusted(config):
        return
    refusal = endpoint_refusal(settings.resolved_base_url)
    if refusal:
        raise LLMError(refusal, ENDPOINT_NOT_ALLOWED)


@contextmanager
def llm_client(
    config: ModelConfig,
    *,
    model: str | None = None,
    defaults: dict[str, Any] | None = None,
    on_llm_call: OnLLMCall | None = None,
) -> Iterator[LLMClient]:
    """An LLMClient for a config (raises LLMError when it cannot work); closed on exit."""
    client, resources = open_llm_client(config, model=model, defaults=defaults,
                                        on_llm_call=on_llm_call)
    try:
        yield client
    finally:
        close_all(resources)


def open_llm_client(
    config: ModelConfig,
    *,
    model: str | None = None,
    defaults: dict[str, Any] | None = None,
    on_llm_call: OnLLMCall | None = None,
) -> tuple[LLMClient, list[Any]]:
    """Like `llm_client`, for generators that close it themselves: (client, what to close)."""
    settings = model_settings(config, model=model, defaults=defaults)
    settings.validate()
    check_endpoint(config, settings)
    http_client = None if is_trusted(config) else guarded_http_client()
    try:
        client = LLMClient(settings, http_client, on_llm_call=on_llm_call)
    except BaseException:
        if http_client is not None:
            http_client.close()
        raise
    return client, [client, *([http_client] if http_client is not None else [])]


def close_all(resources: Iterable[Any]) -> None:
    """Close what `open_llm_client` opened."""
    for resource in resources:
        resource.close()


def agent_call_options(agent: Agent) -> dict[str, Any]:
    """Model, temperature and max_tokens the agent overrides on its config."""
    params = agent.model_params or {}
    return {
        "model": params.get("model") or None,
        "defaults": {
            key: params[key] for key in ("temperature", "max_tokens") if params.get(key) is not None
        },
    }
