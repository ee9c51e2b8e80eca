"""LLMClient.stream: tokens in order, assembled tool calls, and a final DoneEvent with usage."""

import time

import pytest

from agents.llm import DoneEvent, LLMClient, LLMError, TokenEvent, ToolCallEvent
from tests.support.openai_server import rate_limited, text_reply, tool_call_reply

USER = [{"role": "user", "content": "Tell me"}]


def test_streamed_chunks_arrive_as_tokens_in_order_and_reassemble_the_text(client, openai_server):
    chunks = ["Once", " upon", " a ", "time", "."]
    openai_server.push(text_reply("".join(chunks), chunks=chunks))

    events = list(client.stream(USER))

    tokens = [e.text for e in events if isinstance(e, TokenEvent)]
    assert tokens == chunks
    assert isinstance(events[-1], DoneEvent)
    assert events[-1].completion.text == "Once upon a time."
    assert events[-1].completion.finish_reason == "stop"


def test_the_done_event_carries_the_usage_sent_in_the_last_chunk(client, openai_server):
    openai_server.push(text_reply("Hi there", prompt_tokens=21, completion_tokens=2))

    *_, done = client.stream(USER)

    assert done.completion.usage.prompt_tokens == 21
    assert done.completion.usage.completion_tokens == 2
    assert done.completion.usage.total_tokens == 23
    assert done.completion.model == "test-model"


def test_a_server_that_sends_no_usage_gives_zero_usage_rather_than_failing(
    model_settings, openai_server
):
    with LLMClient(model_settings.replace(stream_usage=False)) as client:
        *_, done = client.stream(USER)

    assert "stream_options" not in openai_server.last_request.json
    assert done.completion.text == "Tell me"
    assert done.completion.usage.total_tokens == 0


def test_a_stream_asks_for_usage_and_sends_the_same_parameters_as_complete(
    client, openai_server, api_key
):
    list(client.stream(USER, temperature=0.3, max_tokens=50))

    request = openai_server.last_request
    assert request.json["stream"] is True
    assert request.json["stream_options"] == {"include_usage": True}
    assert request.json["temperature"] == 0.3
    assert request.json["max_tokens"] == 50
    assert request.json["messages"] == USER
    assert request.authorization == f"Bearer {api_key}"


def test_nothing_is_sent_until_the_stream_is_read(client, openai_server):
    events = client.stream(USER)
    assert openai_server.requests == []

    list(events)
    assert len(openai_server.requests) == 1


def test_streamed_tool_call_fragments_are_assembled_into_whole_calls(client, openai_server):
    arguments = {"city": "Reykjavík", "units": "metric", "days": 3}
    openai_server.push(
        tool_call_reply(("get_weather", arguments, "call_w"), ("get_time", {"tz": "UTC"}, "call_t"))
    )

    events = list(client.stream(USER))

    calls = [e for e in events if isinstance(e, ToolCallEvent)]
    assert [(c.id, c.name, c.arguments) for c in calls] == [
        ("call_w", "get_weather", arguments),
        ("call_t", "get_time", {"tz": "UTC"}),
    ]
    done = events[-1]
    assert isinstance(done, DoneEvent)
    assert done.completion.finish_reason == "tool_calls"
    assert [c.name for c in done.completion.tool_calls] == ["get_weather", "get_time"]


def test_text_before_a_streamed_tool_call_is_streamed_too(client, openai_server):
    openai_server.push(tool_call_reply(("lookup", {"q": "x"}), text="Let me check."))

    events = list(client.stream(USER))

    assert "".join(e.text for e in events if isinstance(e, TokenEvent)) == "Let me check."
    assert [type(e) for e in events[-2:]] == [ToolCallEvent, DoneEvent]


def test_a_failure_before_the_first_token_is_retried(client, openai_server, sleeps):
    openai_server.push(rate_limited(retry_after=0), text_reply("ok now"))

    events = list(client.stream(USER))

    assert events[-1].completion.text == "ok now"
    assert len(openai_server.chat_requests) == 2
    assert sleeps == [0.0]


def test_a_stream_that_goes_silent_mid_answer_fails_with_timeout_and_is_not_retried(
    client, openai_server
):
    openai_server.push(
        text_reply("one two three", stall_after_chunks=2, chunks=["one", " two three"])
    )
    received: list[str] = []

    started = time.monotonic()
    with pytest.raises(LLMError) as caught:
        for event in client.stream(USER, timeout=0.5):
            if isinstance(event, TokenEvent):
                received.append(event.text)
    elapsed = time.monotonic() - started

    assert caught.value.code == "TIMEOUT"
    assert received == ["one"]  # what had arrived before the silence
    assert elapsed < 3
    assert len(openai_server.chat_requests) == 1


def test_stopping_early_closes_the_stream(client, openai_server):
    openai_server.push(text_reply("a b c d e f"))
    stream = client.stream(USER)

    first = next(stream)
    stream.close()

    assert first == TokenEvent("a ")
