"""One-shot agent chat and `execute`: answers, tools, sessions and their history."""

import pytest

from agents.models import ChatMessage, ChatSession
from tests.agents.django_support import allow_loopback, chat_messages, scripted_agent
from tests.factories import AgentFactory
from tests.support.openai_server import text_reply, tool_call_reply

pytestmark = pytest.mark.django_db

CHAT = "/api/v1/agent-chat"


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    allow_loopback(settings)


@pytest.fixture
def agent(openai_server, user):
    return scripted_agent(openai_server, user, system_prompt="You are terse.")


def test_chat_answers_with_the_models_text_and_usage(auth_client, agent, openai_server):
    openai_server.push(text_reply("Hello there.", prompt_tokens=12, completion_tokens=3))

    response = auth_client.post(f"{CHAT}/{agent.id}", {"message": "Hi"}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["text"] == "Hello there."
    assert body["usage"] == {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
    assert body["steps"] == []
    assert body["stopped_reason"] == "answered"
    assert chat_messages(openai_server.chat_requests[0]) == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hi"},
    ]
    session = ChatSession.objects.get(pk=body["session_id"])
    assert session.title == "Hi"
    assert [(m.role, m.content, m.status) for m in session.messages.all()] == [
        ("user", "Hi", "complete"), ("assistant", "Hello there.", "complete")]


def test_execute_answers_text_steps_usage_and_session(auth_client, agent, openai_server):
    openai_server.push(text_reply("Done."))

    response = auth_client.post(f"/api/v1/agents/{agent.id}/execute", {"message": "Go"},
                                format="json")

    assert response.status_code == 200
    body = response.json()
    assert {"text", "steps", "usage", "session_id"} <= set(body)
    assert body["text"] == "Done."


def test_a_session_id_continues_the_conversation_with_its_history(auth_client, agent,
                                                                   openai_server):
    openai_server.push(text_reply("Paris."), text_reply("About 2 million."))
    first = auth_client.post(f"{CHAT}/{agent.id}", {"message": "Capital of France?"},
                             format="json").json()

    second = auth_client.post(f"{CHAT}/{agent.id}",
                              {"message": "Population?", "session_id": first["session_id"]},
                              format="json").json()

    assert second["session_id"] == first["session_id"]
    assert chat_messages(openai_server.chat_requests[1]) == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "Paris."},
        {"role": "user", "content": "Population?"},
    ]
    assert ChatSession.objects.count() == 1
    assert ChatMessage.objects.count() == 4


def test_an_agent_with_tools_runs_them_and_keeps_them_in_the_history(
    auth_client, user, openai_server
):
    agent = scripted_agent(openai_server, user, tools=["calculator", "current_time"])
    openai_server.push(
        tool_call_reply(("calculator", {"expression": "6 * 7"}, "c1"),
                        ("current_time", {"timezone": "UTC"}, "c2")),
        text_reply("42, and it is now."),
        text_reply("Still 42."),
    )

    body = auth_client.post(f"{CHAT}/{agent.id}", {"message": "6*7 and time?"},
                            format="json").json()

    assert body["text"] == "42, and it is now."
    calc, clock = body["steps"]
    assert (calc["name"], calc["result"]["result"], calc["is_error"]) == ("calculator", 42, False)
    assert clock["name"] == "current_time" and "datetime" in clock["result"]
    tools_sent = openai_server.chat_requests[0].json["tools"]
    assert {t["function"]["name"] for t in tools_sent} == {"calculator", "current_time"}
    assert body["usage"]["total_tokens"] == 30  # two calls of 10 + 5

    auth_client.post(f"{CHAT}/{agent.id}", {"message": "Again?",
                                            "session_id": body["session_id"]}, format="json")
    history = chat_messages(openai_server.chat_requests[2])
    roles = [m["role"] for m in history]
    assert roles == ["system", "user", "assistant", "tool", "tool", "assistant", "user"]
    assert [c["id"] for c in history[2]["tool_calls"]] == ["c1", "c2"]
    assert history[3]["tool_call_id"] == "c1"


def test_a_session_of_another_agent_or_user_is_404(auth_client, other_client, user, other_user,
                                                   agent, openai_server):
    session = auth_client.post(f"{CHAT}/{agent.id}", {"message": "Hi"},
                               format="json").json()["session_id"]
    other_agent = scripted_agent(openai_server, user)
    foreign_agent = scripted_agent(openai_server, other_user)

    wrong_agent = auth_client.post(f"{CHAT}/{other_agent.id}",
                                   {"message": "Hi", "session_id": session}, format="json")
    wrong_user = other_client.post(f"{CHAT}/{foreign_agent.id}",
                                   {"message": "Hi", "session_id": session}, format="json")

    assert wrong_agent.status_code == 404
    assert wrong_user.status_code == 404


def test_another_users_agent_is_404(other_client, agent, openai_server):
    for suffix in ("", "/stream"):
        response = other_client.post(f"{CHAT}/{agent.id}{suffix}", {"message": "Hi"},
                                     format="json")
        assert response.status_code == 404
        assert response.json()["error_code"] == "NOT_FOUND"
    assert openai_server.requests == []


def test_an_agent_without_a_model_is_422_and_nothing_answers(auth_client, user, openai_server):
    agent = AgentFactory(owner=user, model_config=None)

    response = auth_client.post(f"{CHAT}/{agent.id}", {"message": "Hi"}, format="json")

    assert response.status_code == 422
    body = response.json()
    assert body["error_code"] == "MODEL_NOT_CONFIGURED"
    assert "POST /api/v1/model-configs" in body["detail"]
    assert not ChatMessage.objects.exists()
    assert openai_server.requests == []


def test_a_stopped_agent_is_409(auth_client, user, openai_server):
    agent = scripted_agent(openai_server, user, status="stopped")
    response = auth_client.post(f"{CHAT}/{agent.id}", {"message": "Hi"}, format="json")
    assert response.status_code == 409
    assert response.json()["error_code"] == "AGENT_STOPPED"


@pytest.mark.parametrize("body", [{}, {"message": ""}, {"message": "   "},
                                  {"message": "hi", "session_id": "nope"}])
def test_a_bad_request_is_400(auth_client, agent, body):
    assert auth_client.post(f"{CHAT}/{agent.id}", body, format="json").status_code == 400


def test_sessions_are_listed_shown_with_messages_and_deleted(auth_client, other_client, agent,
                                                             openai_server):
    openai_server.push(text_reply("One."))
    session_id = auth_client.post(f"{CHAT}/{agent.id}", {"message": "First"},
                                  format="json").json()["session_id"]

    listed = auth_client.get(f"{CHAT}/sessions", {"agent_id": str(agent.id)})
    assert listed.status_code == 200
    assert listed["X-Total-Count"] == "1"
    assert listed.json()[0]["id"] == session_id
    assert listed.json()[0]["agent_id"] == str(agent.id)
    detail = auth_client.get(f"{CHAT}/sessions/{session_id}").json()
    assert [(m["role"], m["content"]) for m in detail["messages"]] == [
        ("user", "First"), ("assistant", "One.")]
    messages = auth_client.get(f"{CHAT}/sessions/{session_id}/messages")
    assert messages["X-Total-Count"] == "2"
    assert other_client.get(f"{CHAT}/sessions").json() == []
    assert other_client.get(f"{CHAT}/sessions/{session_id}").status_code == 404
    assert other_client.delete(f"{CHAT}/sessions/{session_id}").status_code == 404
    assert other_client.get(f"{CHAT}/sessions/{session_id}/messages").status_code == 404

    deleted = auth_client.delete(f"{CHAT}/sessions/{session_id}")
    assert deleted.status_code == 200
    assert "message" in deleted.json()
    assert not ChatMessage.objects.exists()
