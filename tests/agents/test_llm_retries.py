"""Which failures LLMClient retries, how long it waits, and what it raises when it gives up."""

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from agents.llm import LLMClient, LLMError
from tests.support.network import unused_port
from tests.support.openai_server import (
    error_reply,
    rate_limited,
    raw_reply,
    server_error,
    text_reply,
)

USER = [{"role": "user", "content": "hi"}]


def test_a_429_is_retried_after_the_retry_after_wait_and_then_succeeds(
    client, openai_server, sleeps
):
    openai_server.push(rate_limited(retry_after=0.02), text_reply("made it"))

    completion = client.complete(USER)

    assert completion.text == "made it"
    assert len(openai_server.chat_requests) == 2
    assert sleeps == [0.02]


def test_a_long_retry_after_is_capped_so_a_call_cannot_stall_for_it(model_settings, openai_server):
    settings = model_settings.replace(backoff_max_s=0.2)
    openai_server.push(rate_limited(retry_after=30), text_reply("made it"))

    started = time.monotonic()
    with LLMClient(settings) as client:
        completion = client.complete(USER)
    elapsed = time.monotonic() - started

    assert completion.text == "made it"
    assert 0.2 <= elapsed < 2


def test_retry_after_as_an_http_date_and_retry_after_ms_are_understood(
    client, openai_server, sleeps
):
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    openai_server.push(
        rate_limited(retry_after=soon),
        error_reply(429, "slow down", headers={"retry-after-ms": "15"}),
        text_reply("ok"),
    )

    client.complete(USER)

    assert sleeps[0] == 0.05  # a date 20 s away, capped by backoff_max_s
    assert sleeps[1] == pytest.approx(0.015)


def test_without_retry_after_the_wait_doubles_up_to_the_cap(model_settings, openai_server):
    settings = model_settings.replace(max_retries=4, backoff_base_s=0.01, backoff_max_s=0.03)
    waits: list[float] = []
    openai_server.push(*[server_error()] * 4, text_reply("finally"))

    with LLMClient(settings, sleep=waits.append) as client:
        assert client.complete(USER).text == "finally"

    assert waits == [0.01, 0.02, 0.03, 0.03]


def test_a_500_is_retried_max_retries_times_then_fails_with_upstream_error(
    client, openai_server, model_settings
):
    openai_server.push(*[server_error("boom")] * 5)

    with pytest.raises(LLMError) as caught:
        client.complete(USER)

    assert len(openai_server.chat_requests) == model_settings.max_retries + 1
    error = caught.value
    assert error.code == "UPSTREAM_ERROR"
    assert error.status_code == 500
    assert error.retryable is True
    assert "HTTP 500" in error.message and "boom" in error.message


def test_a_rate_limit_that_never_clears_ends_as_rate_limited(client, openai_server):
    openai_server.push(*[rate_limited(retry_after=0)] * 3)

    with pytest.raises(LLMError) as caught:
        client.complete(USER)

    assert caught.value.code == "RATE_LIMITED"
    assert caught.value.status_code == 429
    assert len(openai_server.chat_requests) == 3


@pytest.mark.parametrize("status", [400, 404, 409, 422])
def test_other_4xx_answers_are_not_retried(client, openai_server, sleeps, status):
    openai_server.push(error_reply(status, "This model's maximum context length is 8192 tokens"))

    with pytest.raises(LLMError) as caught:
        client.complete(USER)

    assert len(openai_server.chat_requests) == 1
    assert sleeps == []
    assert caught.value.status_code == status
    assert caught.value.retryable is False
    assert caught.value.code == ("NOT_FOUND" if status == 404 else "BAD_REQUEST")
    assert "maximum context length" in caught.value.message


def test_a_wrong_api_key_fails_with_auth_failed_and_is_not_retried(client, openai_server, sleeps):
    openai_server.expect_api_key("sk-the-right-one")

    with pytest.raises(LLMError) as caught:
        client.complete(USER)

    assert caught.value.code == "AUTH_FAILED"
    assert caught.value.status_code == 401
    assert "API key" in caught.value.message
    assert len(openai_server.chat_requests) == 1
    assert sleeps == []


def test_the_right_api_key_passes_the_servers_auth_check(client, openai_server, api_key):
    openai_server.expect_api_key(api_key)

    assert client.complete(USER).text == "hi"


def test_max_retries_zero_means_a_single_attempt(model_settings, openai_server):
    openai_server.push(server_error(), text_reply("never reached"))

    with LLMClient(model_settings.replace(max_retries=0)) as client, pytest.raises(LLMError):
        client.complete(USER)

    assert len(openai_server.chat_requests) == 1


def test_an_unreachable_server_is_retried_then_fails_with_connection_failed(model_settings):
    port = unused_port()
    settings = model_settings.replace(base_url=f"http://127.0.0.1:{port}/v1")
    waits: list[float] = []

    with LLMClient(settings, sleep=waits.append) as client, pytest.raises(LLMError) as caught:
        client.complete(USER)

    assert caught.value.code == "CONNECTION_FAILED"
    assert caught.value.retryable is True
    assert f"127.0.0.1:{port}" in caught.value.message
    assert len(waits) == settings.max_retries


def test_a_5xx_with_an_html_page_still_gives_a_short_readable_message(client, openai_server):
    page = "<html><body><h1>502 Bad Gateway</h1>" + "x" * 2000 + "</body></html>"
    openai_server.push(*[raw_reply(502, page, {"Content-Type": "text/html"})] * 3)

    with pytest.raises(LLMError) as caught:
        client.complete(USER)

    assert caught.value.code == "UPSTREAM_ERROR"
    assert "502" in caught.value.message
    assert len(caught.value.message) < 600
