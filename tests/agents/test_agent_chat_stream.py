"""`POST /agent-chat/{id}/stream`: Server-Sent Events, tools, usage, errors and disconnects."""

import pytest

from agents.models import ChatMessage, LLMCallLog
from tests.agents.django_support import (
    allow_loopback,
    chat_messages,
    disconnect,
    fast_retries,
    parse_sse,
    read_stream,
    scripted_agent,
)
from tests.factories import AgentFactory
from tests.support.openai_server import server_error, text_reply, tool_call_reply

pytestmark = pytest.mark.django_db

CHAT = "/api/v1/agent-chat"


@pytest.fixture(autouse=True)
def _loopback_allowed_and_quick_retries(settings, monkeypatch):
    allow_loopback(settings)
    fast_retries(monkeypatch)


@pytest.fixture
def agent(openai_server, user):
    return scripted_agent(openai_server, user, tools=["calculator", "current_time"])


def stream(client, agent, message="Hi", **extra):
    return client.post(f"{CHAT}/{agent.id}/stream", {"message": message, **extra},
                       format="json", HTTP_ACCEPT="text/event-stream")


def test_tokens_stream_in_order_then_done_with_usage(auth_client, agent, openai_server):
    openai_server.push(text_reply("Hello brave new world", chunks=["Hello", " brave", " new",
                                                                    " world"],
                                  prompt_tokens=7, completion_tokens=4))

    response = stream(auth_client, agent)
    events = read_stream(response)

    assert response["Cache-Control"] == "no-cache"
    assert [name for name, _ in events] == ["token"] * 4 + ["done"]
    assert [data["text"] for name, data in events if name == "token"] == [
        "Hello", " brave", " new", " world"]
    done = events[-1][1]
    assert done["text"] == "Hello brave new world"
    assert done["usage"] == {"prompt_tokens": 7, "completion_tokens": 4, "total_tokens": 11}
    assert done["session_id"] == response["X-Session-Id"]
    assert openai_server.chat_requests[0].streamed
    answer = ChatMessage.objects.get(pk=done["message_id"])
    assert (answer.role, answer.content, answer.status) == ("assistant",
                                                            "Hello brave new world", "complete")


def test_an_agent_calling_two_tools_streams_their_calls_and_results(auth_client, agent,
                                                                    openai_server):
    openai_server.push(
        tool_call_reply(("calculator", {"expression": "2 + 3"}, "calc"),
                        ("current_time", {"timezone": "Europe/Paris"}, "clock")),
        text_reply("5, at Paris time.", chunks=["5,", " at Paris time."]),
    )

    events = read_stream(stream(auth_client, agent, "2+3 and the time in Paris?"))

    names = [name for name, _ in events]
    assert names == ["tool_call", "tool_result", "tool_call", "tool_result", "token", "token",
                     "done"]
    calls = [data for name, data in events if name == "tool_call"]
    assert [(c["id"], c["name"]) for c in calls] == [("calc", "calculator"),
                                                     ("clock", "current_time")]
    assert calls[0]["arguments"] == {"expression": "2 + 3"}
    results = [data for name, data in events if name == "tool_result"]
    assert results[0]["result"] == {"expression": "2 + 3", "result": 5}
    assert results[1]["result"]["timezone"] == "Europe/Paris"
    assert not any(r["is_error"] for r in results)
    done = events[-1][1]
    assert done["text"] == "5, at Paris time."
    assert done["usage"]["total_tokens"] == 30
    assert [s["name"] for s in done["steps"]] == ["calculator", "current_time"]
    second_request = chat_messages(openai_server.chat_requests[1])
    assert [m["role"] for m in second_request][-3:] == ["assistant", "tool", "tool"]


def test_a_session_continues_with_its_history(auth_client, agent, openai_server):
    openai_server.push(text_reply("First answer."), text_reply("Second answer."))
    first = read_stream(stream(auth_client, agent, "One"))[-1][1]

    read_stream(stream(auth_client, agent, "Two", session_id=first["session_id"]))

    sent = chat_messages(openai_server.chat_requests[1])
    assert [(m["role"], m["content"]) for m in sent if m["role"] != "system"] == [
        ("user", "One"), ("assistant", "First answer."), ("user", "Two")]


def test_a_disconnect_mid_stream_still_stores_the_assistant_message(auth_client, agent,
                                                                    openai_server):
    openai_server.push(text_reply("one two three four five six",
                                  chunks=["one", " two", " three", " four", " five", " six"]))
    response = stream(auth_client, agent, "Count")
    frames = iter(response.streaming_content)

    received = parse_sse(next(frames) + next(frames))
    disconnect(response)

    assert [data["text"] for _, data in received] == ["one", " two"]
    answer = ChatMessage.objects.get(role="assistant")
    assert answer.status == "interrupted"
    assert answer.content.startswith("one two")
    assert answer.session.messages.count() == 2
    call = LLMCallLog.objects.get()
    assert call.status == "cancelled"
    assert call.streamed is True


def test_a_stream_closed_before_its_first_event_leaves_an_assistant_turn(auth_client, agent):
    response = stream(auth_client, agent, "Hello?")
    disconnect(response)

    roles = list(ChatMessage.objects.order_by("created_at").values_list("role", "status"))
    assert roles == [("user", "complete"), ("assistant", "interrupted")]


def test_the_next_turn_after_a_disconnect_sends_what_was_said(auth_client, agent,
                                                              openai_server):
    openai_server.push(text_reply("alpha beta gamma", chunks=["alpha", " beta", " gamma"]),
                       text_reply("ok"))
    response = stream(auth_client, agent, "Go")
    frames = iter(response.streaming_content)
    next(frames)
    disconnect(response)
    session_id = response["X-Session-Id"]

    read_stream(stream(auth_client, agent, "Continue", session_id=session_id))

    sent = chat_messages(openai_server.chat_requests[1])
    assert [m["role"] for m in sent if m["role"] != "system"] == ["user", "assistant", "user"]
    assert sent[-2]["content"].startswith("alpha")


def test_an_llm_failure_mid_stream_is_an_error_event(auth_client, agent, openai_server):
    openai_server.push(server_error(), server_error(), server_error())

    events = read_stream(stream(auth_client, agent))

    assert [name for name, _ in events] == ["error"]
    error = events[0][1]
    assert error["code"] == "LLM_UPSTREAM_ERROR"
    assert error["status_code"] == 502
    assert "HTTP 500" in error["message"]
    answer = ChatMessage.objects.get(role="assistant")
    assert answer.status == "error"
    assert answer.error["code"] == "LLM_UPSTREAM_ERROR"


def test_errors_before_the_stream_are_json(auth_client, user, openai_server):
    unconfigured = AgentFactory(owner=user, model_config=None)

    response = stream(auth_client, unconfigured)

    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error_code"] == "MODEL_NOT_CONFIGURED"
    bad = auth_client.post(f"{CHAT}/{unconfigured.id}/stream", {}, format="json",
                           HTTP_ACCEPT="text/event-stream")
    assert bad.status_code == 400
    assert bad.json()["error_code"] == "VALIDATION_ERROR"


def test_streaming_needs_a_token(api_client, agent):
    response = api_client.post(f"{CHAT}/{agent.id}/stream", {"message": "Hi"}, format="json")
    assert response.status_code == 401
    assert response.json()["error_code"] == "NOT_AUTHENTICATED"


def test_an_unexpected_failure_mid_stream_is_an_internal_error_event(auth_client, agent,
                                                                     monkeypatch):
    from agents import services
    from agents.llm import TokenEvent

    def broken_agent(*args, **kwargs):
        yield TokenEvent("Half")
        raise RuntimeError("secret internals")

    monkeypatch.setattr(services, "run_agent", broken_agent)

    response = stream(auth_client, agent)
    events = read_stream(response)

    assert [name for name, _ in events] == ["token", "error"]
    assert events[1][1]["code"] == "INTERNAL_ERROR"
    assert "secret internals" not in str(events)
    answer = ChatMessage.objects.get(role="assistant")
    assert (answer.status, answer.content) == ("error", "Half")
