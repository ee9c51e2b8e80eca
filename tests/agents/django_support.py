"""Helpers for the Django-side agent tests: SSE parsing, scripted configs and agents."""

from __future__ import annotations

import json
from typing import Any

from agents.models import ModelConfig
from tests.factories import AgentFactory, ModelConfigFactory

LOOPBACK = ["127.0.0.0/8"]


def allow_loopback(settings: Any) -> None:
    """Let user-owned model configs reach the scripted server on 127.0.0.1."""
    settings.OUTBOUND_ALLOW_NETWORKS = LOOPBACK


def fast_retries(monkeypatch: Any) -> None:
    """Retry waits of milliseconds, so tests of retried failures stay quick."""
    from agents import runtime

    original = runtime.model_settings

    def quick(*args: Any, **kwargs: Any) -> Any:
        return original(*args, **kwargs).replace(backoff_base_s=0.01, backoff_max_s=0.05)

    monkeypatch.setattr(runtime, "model_settings", quick)


def parse_sse(body: bytes | str) -> list[tuple[str, Any]]:
    """(event, data) pairs of a text/event-stream body, as an EventSource client reads them."""
    text = body.decode() if isinstance(body, bytes) else body
    events: list[tuple[str, Any]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        name, data_lines = "message", []
        for line in block.split("\n"):
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data_lines.append(value)
        if data_lines:
            events.append((name, json.loads("\n".join(data_lines))))
    return events


def read_stream(response: Any) -> list[tuple[str, Any]]:
    """Read a streaming response to its end and parse its events."""
    assert response.status_code == 200, getattr(response, "content", b"")
    assert response["Content-Type"].startswith("text/event-stream")
    return parse_sse(b"".join(response.streaming_content))


def disconnect(response: Any) -> None:
    """Stop reading a streaming response as a server does when its client goes away.

    The test client wraps the stream in a generator whose closing ends the request (closing
    the response, so the view's generator is closed) without closing the test's database
    connection; `response.close()` alone would close it mid-transaction.
    """
    response._iterator.close()


def scripted_config(server: Any, **kwargs: Any) -> ModelConfig:
    """A model config pointing at the scripted server, with fast retries."""
    return ModelConfigFactory(base_url=server.base_url, **kwargs)


def scripted_agent(server: Any, owner: Any, **kwargs: Any) -> Any:
    """An agent of `owner` whose model is the scripted server."""
    config = kwargs.pop("model_config", None) or scripted_config(server, owner=owner)
    return AgentFactory(owner=owner, model_config=config, **kwargs)


def chat_messages(request: Any) -> list[dict[str, Any]]:
    """The messages a recorded chat completion request carried."""
    return request.json["messages"]
