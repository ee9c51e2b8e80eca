"""Model endpoint settings and the registry of known OpenAI-compatible providers.

No SSRF filtering happens here, on purpose: model endpoints are normally on localhost or a private
network (Ollama, vLLM, LM Studio), so blocking private addresses would break the main use. Who may
point a model config at which address is a policy of the Django layer (operators configure
endpoints; configs created by ordinary users are checked there), not of this client.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from agents.llm.errors import ErrorCode, LLMError


@dataclass(frozen=True)
class ProviderSpec:
    """What differs between OpenAI-compatible providers."""

    name: str
    label: str
    default_base_url: str = ""  # empty: the config must give one
    requires_api_key: bool = False
    # OpenAI deprecated `max_tokens` for `max_completion_tokens` (its reasoning models refuse the
    # old name); the other servers only know `max_tokens`.
    max_tokens_param: str = "max_tokens"
    # Only OpenAI itself should receive OPENAI_ORG_ID / OPENAI_PROJECT_ID headers from the env.
    sends_openai_account_headers: bool = False


PROVIDERS: dict[str, ProviderSpec] = {}


def register_provider(spec: ProviderSpec) -> ProviderSpec:
    """Add or replace a provider in the registry."""
    PROVIDERS[spec.name] = spec
    return spec


for _spec in (
    ProviderSpec(
        "openai",
        "OpenAI",
        "https://api.openai.com/v1",
        requires_api_key=True,
        max_tokens_param="max_completion_tokens",
        sends_openai_account_headers=True,
    ),
    ProviderSpec("deepseek", "DeepSeek", "https://api.deepseek.com", requires_api_key=True),
    ProviderSpec("ollama", "Ollama", "http://localhost:11434/v1"),
    ProviderSpec("vllm", "vLLM", "http://localhost:8000/v1"),
    ProviderSpec("lmstudio", "LM Studio", "http://localhost:1234/v1"),
    ProviderSpec("openrouter", "OpenRouter", "https://openrouter.ai/api/v1", requires_api_key=True),
    ProviderSpec("groq", "Groq", "https://api.groq.com/openai/v1", requires_api_key=True),
    ProviderSpec("mistral", "Mistral", "https://api.mistral.ai/v1", requires_api_key=True),
    ProviderSpec("together", "Together AI", "https://api.together.xyz/v1", requires_api_key=True),
    ProviderSpec("openai_compatible", "Other OpenAI-compatible server"),
):
    register_provider(_spec)

# Sampling defaults that map onto named Chat Completions parameters; any other key in
# `ModelSettings.defaults` is sent as-is in the body (vLLM's `top_k`, `repetition_penalty`, ...).
KNOWN_DEFAULTS = frozenset(
    {"temperature", "max_tokens", "top_p", "frequency_penalty", "presence_penalty", "stop", "seed"}
)
# Body fields the client itself controls; a default naming one would silently override it.
RESERVED_DEFAULTS = frozenset(
    {
        "model",
        "messages",
        "stream",
        "stream_options",
        "tools",
        "tool_choice",
        "n",
        "max_completion_tokens",
        "functions",
        "function_call",
    }
)


@dataclass(frozen=True, repr=False)
class ModelSettings:
    """One OpenAI-compatible model endpoint and how to call it."""

    provider: str
    model: str
    base_url: str = ""  # empty: the provider's default
    api_key: str = ""  # may be empty for local servers (Ollama, vLLM without --api-key)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    timeout_s: float = 60.0  # per network wait: connect, or silence between bytes/stream chunks
    max_retries: int = 2  # extra attempts on 429, 5xx and connection errors
    backoff_base_s: float = 0.5  # first retry waits this, then doubling
    backoff_max_s: float = 20.0  # cap for both the doubling and a server's Retry-After
    stream_usage: bool = True  # ask for usage in streams (stream_options.include_usage)

    def __repr__(self) -> str:
        key = "'***'" if self.api_key else "''"
        return (
            f"ModelSettings(provider={self.provider!r}, model={self.model!r}, "
            f"base_url={self.resolved_base_url!r}, api_key={key}, "
            f"defaults={dict(self.defaults)!r}, timeout_s={self.timeout_s!r}, "
            f"max_retries={self.max_retries!r})"
        )

    __str__ = __repr__

    @property
    def spec(self) -> ProviderSpec:
        """The provider's spec (unknown providers are treated as generic OpenAI-compatible)."""
        return PROVIDERS.get(self.provider) or PROVIDERS["openai_compatible"]

    @property
    def resolved_base_url(self) -> str:
        """The base URL requests go to, without a trailing slash."""
        return (self.base_url.strip() or self.spec.default_base_url).rstrip("/")

    def replace(self, **changes: Any) -> ModelSettings:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def safe_dict(self) -> dict[str, Any]:
        """The settings for logs and API output, with the key reduced to whether it is set."""
        data = dataclasses.asdict(self)
        data["api_key"] = "***" if self.api_key else ""
        data["base_url"] = self.resolved_base_url
        data["defaults"] = dict(self.defaults)
        return data

    def validate(self) -> None:
        """Raise LLMError(NOT_CONFIGURED) naming the field to fix, if the settings cannot work."""

        def fail(message: str) -> LLMError:
            return LLMError(message, ErrorCode.NOT_CONFIGURED)

        if self.provider not in PROVIDERS:
            known = ", ".join(sorted(PROVIDERS))
            raise fail(f"Unknown model provider {self.provider!r}; use one of: {known}.")
        if not self.model.strip():
            raise fail(f"No model name is set for provider {self.provider!r}; set `model`.")
        url = self.resolved_base_url
        if not url:
            raise fail(
                f"Provider {self.provider!r} needs a `base_url` such as http://host:port/v1."
            )
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise fail(f"`base_url` {url!r} must be an http(s) URL such as http://host:port/v1.")
        if self.spec.requires_api_key and not self.api_key:
            raise fail(f"Provider {self.spec.label} needs an API key; set `api_key`.")
        reserved = sorted(RESERVED_DEFAULTS.intersection(self.defaults))
        if reserved:
            raise fail(
                f"`defaults` may not set {', '.join(reserved)}: the client sets these itself "
                f"(use max_tokens for the output limit)."
            )
        if self.timeout_s <= 0:
            raise fail("`timeout_s` must be a positive number of seconds.")
        if self.max_retries < 0:
            raise fail("`max_retries` must be 0 or more.")
