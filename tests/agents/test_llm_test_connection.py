"""test_connection, behind the model-config "test" endpoint: (ok, message, latency_ms)."""

from agents.llm import ModelSettings, test_connection
from tests.support.network import unused_port
from tests.support.openai_server import error_reply, hang, text_reply


def test_a_listed_model_is_reported_available_without_spending_tokens(
    model_settings, openai_server
):
    openai_server.models = ["other", "test-model"]

    ok, message, latency_ms = test_connection(model_settings)

    assert ok is True
    assert "test-model" in message and "available" in message
    assert isinstance(latency_ms, int) and latency_ms >= 0
    assert openai_server.chat_requests == []
    assert openai_server.last_request.path == "/v1/models"


def test_an_unlisted_model_is_tried_with_a_one_token_completion(model_settings, openai_server):
    openai_server.models = ["something-else"]
    openai_server.push(text_reply("p"))

    ok, message, _ = test_connection(model_settings)

    assert ok is True
    assert "answered" in message
    (request,) = openai_server.chat_requests
    assert request.json["max_tokens"] == 1


def test_a_model_the_server_does_not_know_is_reported_not_ok(model_settings, openai_server):
    openai_server.models = []
    openai_server.push(error_reply(404, "model 'test-model' not found"))

    ok, message, _ = test_connection(model_settings)

    assert ok is False
    assert "not found" in message


def test_ollama_lists_models_with_a_latest_tag(openai_server):
    openai_server.models = ["llama3:latest"]
    settings = ModelSettings(provider="ollama", model="llama3", base_url=openai_server.base_url)

    ok, _, _ = test_connection(settings)

    assert ok is True
    assert openai_server.chat_requests == []


def test_a_wrong_key_is_reported_with_the_fix_and_without_the_key(
    model_settings, openai_server, api_key
):
    openai_server.expect_api_key("sk-correct")

    ok, message, _ = test_connection(model_settings)

    assert ok is False
    assert "API key" in message
    assert api_key not in message
    assert len(openai_server.requests) == 1  # no retries behind a "test" button


def test_an_unreachable_endpoint_is_reported_not_ok(model_settings):
    port = unused_port()
    settings = model_settings.replace(base_url=f"http://127.0.0.1:{port}/v1")

    ok, message, _ = test_connection(settings)

    assert ok is False
    assert f"127.0.0.1:{port}" in message


def test_a_hung_endpoint_is_reported_within_the_given_timeout(model_settings, openai_server):
    openai_server.models = []
    openai_server.push(hang(seconds=10))

    ok, message, latency_ms = test_connection(model_settings, timeout=0.3)

    assert ok is False
    assert "0.3 s" in message
    assert latency_ms < 1500


def test_incomplete_settings_are_reported_not_ok_without_any_request(model_settings, openai_server):
    ok, message, _ = test_connection(model_settings.replace(model=""))

    assert ok is False
    assert "model" in message
    assert openai_server.requests == []
