"""The API key never leaks: not in errors, reprs, logs of settings, or call records."""

import logging

import pytest

from agents.llm import LLMClient, LLMError
from agents.llm.errors import scrub
from tests.support.network import unused_port
from tests.support.openai_server import error_reply, hang, raw_reply

USER = [{"role": "user", "content": "hi"}]


def failing_replies(api_key: str):
    """Upstream errors that quote the key back, as careless proxies and servers do."""
    return [
        error_reply(401, f"Invalid key {api_key}"),
        error_reply(400, f"Bad request for Authorization: Bearer {api_key}"),
        *[error_reply(500, f"crash while using {api_key}")] * 3,
        *[raw_reply(503, f"upstream api_key={api_key} failed", {"Content-Type": "text/plain"})] * 3,
        raw_reply(200, f"not json {api_key}", {"Content-Type": "text/html"}),
    ]


def test_no_error_message_contains_the_api_key_even_when_the_server_echoes_it(
    client, openai_server, api_key
):
    openai_server.push(*failing_replies(api_key))
    messages = []
    while openai_server.pending:
        with pytest.raises(LLMError) as caught:
            client.complete(USER)
        messages.append(caught.value.message)
        messages.append(repr(caught.value))
        messages.append(str(caught.value.to_dict()))

    assert len(messages) == 5 * 3
    assert all(api_key not in text for text in messages)
    assert any("***" in text for text in messages)


def test_a_timeout_and_a_connection_error_do_not_mention_the_key(model_settings, openai_server):
    openai_server.push(hang(5))
    port = unused_port()

    texts = []
    for settings in (
        model_settings.replace(timeout_s=0.3),
        model_settings.replace(base_url=f"http://127.0.0.1:{port}/v1", max_retries=0),
    ):
        with LLMClient(settings) as client, pytest.raises(LLMError) as caught:
            client.complete(USER)
        texts.append(caught.value.message)

    assert all(model_settings.api_key not in text for text in texts)


def test_the_sdk_exception_is_not_chained_into_tracebacks(client, openai_server, api_key):
    openai_server.expect_api_key("another")

    with pytest.raises(LLMError) as caught:
        client.complete(USER)

    assert caught.value.__suppress_context__ is True
    assert caught.value.__cause__ is None


def test_settings_and_client_reprs_hide_the_key(model_settings, client, api_key):
    texts = [
        repr(model_settings),
        str(model_settings),
        repr(client),
        str(model_settings.safe_dict()),
    ]

    assert all(api_key not in text for text in texts)
    assert "api_key='***'" in repr(model_settings)
    assert model_settings.safe_dict()["api_key"] == "***"


def test_the_call_record_does_not_carry_the_key(client, openai_server, api_key):
    records = []
    openai_server.push(error_reply(400, f"bad {api_key}"))

    with pytest.raises(LLMError):
        client.complete(USER, on_llm_call=records.append)

    assert api_key not in str(records[0].to_dict())


def test_retry_logs_do_not_carry_the_key(client, openai_server, api_key, caplog):
    openai_server.push(error_reply(500, f"oops {api_key}"))

    with caplog.at_level(logging.DEBUG):
        client.complete(USER)

    assert "retry 1 of 2" in caplog.text
    assert api_key not in caplog.text


@pytest.mark.parametrize(
    "text",
    [
        "Incorrect API key provided: sk-proj-abcdefghijklmnop",
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
        'config {"api_key": "qwerty-123456"}',
        "password=hunter22&user=bob",
    ],
)
def test_scrub_masks_credential_shaped_text_even_when_it_is_not_the_configured_key(text):
    scrubbed = scrub(text)

    assert "***" in scrubbed
    for secret in ("abcdefghijklmnop", "eyJhbGciOiJIUzI1NiJ9", "qwerty-123456", "hunter22"):
        assert secret not in scrubbed
