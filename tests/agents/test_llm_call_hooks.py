"""on_llm_call: one record per model call, for the platform's monitoring of every LLM call."""

import pytest

from agents.llm import LLMClient, LLMError
from tests.support.openai_server import error_reply, rate_limited, text_reply

USER = [{"role": "user", "content": "hi"}]


def test_a_successful_call_is_reported_once_with_tokens_and_latency(client, openai_server):
    records = []
    openai_server.push(text_reply("hello", prompt_tokens=7, completion_tokens=2))

    client.complete(USER, on_llm_call=records.append)

    (record,) = records
    assert record.status == "ok"
    assert record.model == "test-model"
    assert record.provider == "openai_compatible"
    assert (record.prompt_tokens, record.completion_tokens, record.total_tokens) == (7, 2, 9)
    assert record.latency_ms >= 0
    assert record.attempts == 1
    assert record.streamed is False
    assert record.error_code is None


def test_a_retried_call_is_one_record_that_counts_its_attempts(client, openai_server):
    records = []
    openai_server.push(rate_limited(retry_after=0), text_reply("ok"))

    client.complete(USER, on_llm_call=records.append)

    assert [(r.status, r.attempts) for r in records] == [("ok", 2)]


def test_a_failed_call_is_reported_with_its_error_code(client, openai_server):
    records = []
    openai_server.push(error_reply(400, "bad"))

    with pytest.raises(LLMError):
        client.complete(USER, on_llm_call=records.append)

    (record,) = records
    assert record.status == "error"
    assert record.error_code == "BAD_REQUEST"
    assert record.error_message


def test_a_stream_is_reported_when_it_finishes(client, openai_server):
    records = []
    openai_server.push(text_reply("a b c", prompt_tokens=4, completion_tokens=3))

    events = client.stream(USER, on_llm_call=records.append)
    assert records == []
    list(events)

    (record,) = records
    assert record.streamed is True
    assert record.status == "ok"
    assert record.total_tokens == 7


def test_a_stream_abandoned_by_its_reader_is_reported_cancelled(client, openai_server):
    records = []
    openai_server.push(text_reply("a b c d"))

    events = client.stream(USER, on_llm_call=records.append)
    next(events)
    events.close()

    assert [r.status for r in records] == ["cancelled"]


def test_the_client_wide_hook_and_the_per_call_hook_both_see_the_call(
    model_settings, openai_server
):
    client_records, call_records = [], []

    with LLMClient(model_settings, on_llm_call=client_records.append) as client:
        client.complete(USER, on_llm_call=call_records.append)

    assert len(client_records) == len(call_records) == 1


def test_a_failing_hook_does_not_break_the_call(model_settings, openai_server):
    def broken_hook(record):
        raise RuntimeError("monitoring is down")

    with LLMClient(model_settings, on_llm_call=broken_hook) as client:
        assert client.complete(USER).text == "hi"
