"""LLMClient.complete: what it sends and what it returns for text and tool-call answers."""

import pytest

from agents.llm import LLMClient, ModelSettings
from tests.support.openai_server import text_reply, tool_call_reply

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def test_a_plain_text_answer_comes_back_with_usage_model_and_latency(client, openai_server):
    openai_server.push(text_reply("Paris.", prompt_tokens=12, completion_tokens=3))

    completion = client.complete([{"role": "user", "content": "Capital of France?"}])

    assert completion.text == "Paris."
    assert completion.tool_calls == []
    assert completion.usage.prompt_tokens == 12
    assert completion.usage.completion_tokens == 3
    assert completion.usage.total_tokens == 15
    assert completion.model == "test-model"
    assert completion.finish_reason == "stop"
    assert completion.latency_ms >= 0


def test_the_request_carries_model_messages_sampling_tools_and_bearer_key(
    client, openai_server, api_key
):
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Oslo?"},
    ]

    client.complete(messages, tools=[WEATHER_TOOL], temperature=0.2, max_tokens=64)

    request = openai_server.last_request
    assert request.method == "POST"
    assert request.path == "/v1/chat/completions"
    assert request.authorization == f"Bearer {api_key}"
    assert request.json["model"] == "test-model"
    assert request.json["messages"] == messages
    assert request.json["temperature"] == 0.2
    assert request.json["max_tokens"] == 64
    assert request.json["tools"] == [WEATHER_TOOL]
    assert "stream" not in request.json or request.json["stream"] is False


def test_settings_defaults_are_sent_and_call_arguments_override_them(openai_server, api_key):
    settings = ModelSettings(
        provider="vllm",
        model="qwen",
        base_url=openai_server.base_url,
        api_key=api_key,
        defaults={"temperature": 0.7, "max_tokens": 100, "top_p": 0.9, "top_k": 40},
    )
    with LLMClient(settings) as client:
        client.complete([{"role": "user", "content": "hi"}], temperature=0.0)

    body = openai_server.last_request.json
    assert body["temperature"] == 0.0
    assert body["max_tokens"] == 100
    assert body["top_p"] == 0.9
    assert body["top_k"] == 40  # provider-specific extras pass through as-is


def test_openai_gets_max_completion_tokens_instead_of_the_deprecated_max_tokens(
    openai_server, api_key
):
    settings = ModelSettings(
        provider="openai", model="gpt-4o-mini", base_url=openai_server.base_url, api_key=api_key
    )
    with LLMClient(settings) as client:
        client.complete([{"role": "user", "content": "hi"}], max_tokens=10)

    body = openai_server.last_request.json
    assert body["max_completion_tokens"] == 10
    assert "max_tokens" not in body


def test_a_keyless_local_server_gets_no_authorization_header(openai_server):
    settings = ModelSettings(provider="ollama", model="llama3", base_url=openai_server.base_url)
    with LLMClient(settings) as client:
        assert client.complete([{"role": "user", "content": "hello"}]).text == "hello"

    assert openai_server.last_request.authorization is None


def test_non_openai_servers_get_no_openai_account_headers(openai_server, api_key, monkeypatch):
    monkeypatch.setenv("OPENAI_ORG_ID", "org-operator")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-operator")
    settings = ModelSettings(
        provider="deepseek", model="deepseek-chat", base_url=openai_server.base_url, api_key=api_key
    )
    with LLMClient(settings) as client:
        client.complete([{"role": "user", "content": "hi"}])

    headers = openai_server.last_request.headers
    assert "openai-organization" not in headers
    assert "openai-project" not in headers


def test_the_environments_openai_key_is_never_used_instead_of_the_configured_one(
    openai_server, monkeypatch
):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment")
    settings = ModelSettings(provider="ollama", model="llama3", base_url=openai_server.base_url)
    with LLMClient(settings) as client:
        client.complete([{"role": "user", "content": "hi"}])

    assert openai_server.last_request.authorization is None


def test_tool_calls_come_back_with_parsed_arguments(client, openai_server):
    openai_server.push(
        tool_call_reply(("get_weather", {"city": "Oslo"}, "call_a"), ("get_time", {}, "call_b"))
    )

    completion = client.complete([{"role": "user", "content": "?"}], tools=[WEATHER_TOOL])

    assert completion.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in completion.tool_calls] == [
        ("call_a", "get_weather", {"city": "Oslo"}),
        ("call_b", "get_time", {}),
    ]
    assert completion.tool_calls[0].arguments_error is None


@pytest.mark.parametrize("raw", ['{"city": "Oslo"', "[1, 2]", "not json"])
def test_malformed_tool_arguments_are_kept_raw_with_an_error_instead_of_raising(
    client, openai_server, raw
):
    openai_server.push(tool_call_reply(("get_weather", raw)))

    (call,) = client.complete([{"role": "user", "content": "?"}]).tool_calls

    assert call.arguments == {}
    assert call.raw_arguments == raw
    assert call.arguments_error


def test_the_assistant_message_of_a_tool_call_answer_echoes_the_calls(client, openai_server):
    openai_server.push(tool_call_reply(("get_weather", {"city": "Oslo"}, "call_a")))

    message = client.complete([{"role": "user", "content": "?"}]).assistant_message()

    assert message == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_a",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
            }
        ],
    }


def test_a_client_can_be_shared_by_threads(client, openai_server):
    from concurrent.futures import ThreadPoolExecutor

    prompts = [f"message {n}" for n in range(8)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(
            pool.map(lambda p: client.complete([{"role": "user", "content": p}]).text, prompts)
        )

    assert answers == prompts
