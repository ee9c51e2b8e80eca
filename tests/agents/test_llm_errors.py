"""How LLMClient reports broken answers, timeouts and bad settings: always one LLMError."""

import time

import pytest

from agents.llm import LLMClient, LLMError, ModelSettings
from tests.support.openai_server import hang, malformed_json, raw_reply, text_reply

USER = [{"role": "user", "content": "hi"}]


def test_a_truncated_json_body_is_a_bad_response(client, openai_server):
    openai_server.push(malformed_json())

    with pytest.raises(LLMError) as caught:
        client.complete(USER)

    assert caught.value.code == "BAD_RESPONSE"
    assert caught.value.retryable is False
    assert len(openai_server.chat_requests) == 1


def test_a_non_json_body_is_a_bad_response_that_hints_at_the_base_url(client, openai_server):
    openai_server.push(
        raw_reply(200, "<html>Welcome to nginx</html>", {"Content-Type": "text/html"})
    )

    with pytest.raises(LLMError) as caught:
        client.complete(USER)

    assert caught.value.code == "BAD_RESPONSE"
    assert "base_url" in caught.value.message


def test_json_that_is_not_a_completion_is_a_bad_response(client, openai_server):
    openai_server.push(raw_reply(200, '{"hello": "world"}', {"Content-Type": "application/json"}))

    with pytest.raises(LLMError) as caught:
        client.complete(USER)

    assert caught.value.code == "BAD_RESPONSE"


def test_a_malformed_chunk_in_a_stream_is_a_bad_response(client, openai_server):
    body = 'data: {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}\n\ndata: {oops\n\n'
    openai_server.push(raw_reply(200, body, {"Content-Type": "text/event-stream"}))

    with pytest.raises(LLMError) as caught:
        list(client.stream(USER))

    assert caught.value.code == "BAD_RESPONSE"


def test_an_empty_stream_is_a_bad_response(client, openai_server):
    openai_server.push(raw_reply(200, "", {"Content-Type": "text/event-stream"}))

    with pytest.raises(LLMError) as caught:
        list(client.stream(USER))

    assert caught.value.code == "BAD_RESPONSE"


def test_a_hung_server_fails_with_timeout_within_the_configured_timeout(
    model_settings, openai_server
):
    settings = model_settings.replace(timeout_s=0.5)  # and max_retries=2: timeouts aren't retried
    openai_server.push(hang(seconds=10))

    started = time.monotonic()
    with LLMClient(settings) as client, pytest.raises(LLMError) as caught:
        client.complete(USER)
    elapsed = time.monotonic() - started

    assert caught.value.code == "TIMEOUT"
    assert "0.5 s" in caught.value.message
    assert 0.4 <= elapsed < 1.5
    assert len(openai_server.chat_requests) == 1


def test_a_per_call_timeout_overrides_the_settings(client, openai_server):
    openai_server.push(hang(seconds=10))

    started = time.monotonic()
    with pytest.raises(LLMError) as caught:
        client.complete(USER, timeout=0.3)

    assert caught.value.code == "TIMEOUT"
    assert time.monotonic() - started < 1.5


def test_a_slow_answer_within_the_timeout_succeeds(client, openai_server):
    openai_server.push(hang(seconds=0.2, then=text_reply("late but fine")))

    assert client.complete(USER, timeout=2).text == "late but fine"


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"model": ""}, "model"),
        ({"provider": "openai_compatible", "base_url": ""}, "base_url"),
        ({"base_url": "ftp://models.internal/v1"}, "http"),
        ({"provider": "openai", "api_key": ""}, "API key"),
        ({"provider": "no-such-provider"}, "ollama"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"defaults": {"model": "other", "stream": True}}, "model, stream"),
    ],
)
def test_unusable_settings_fail_at_construction_with_not_configured(
    model_settings, changes, needle
):
    with pytest.raises(LLMError) as caught:
        LLMClient(model_settings.replace(**changes))

    assert caught.value.code == "NOT_CONFIGURED"
    assert needle in caught.value.message


def test_a_provider_without_base_url_uses_its_default_endpoint():
    settings = ModelSettings(provider="ollama", model="llama3")

    assert settings.resolved_base_url == "http://localhost:11434/v1"
    settings.validate()


def test_llm_error_serialises_for_api_errors_and_events():
    error = LLMError("Rate limited; wait.", "RATE_LIMITED", status_code=429, retryable=True)

    assert error.to_dict() == {
        "message": "Rate limited; wait.",
        "code": "RATE_LIMITED",
        "status_code": 429,
        "retryable": True,
    }
    assert str(error) == "Rate limited; wait."
