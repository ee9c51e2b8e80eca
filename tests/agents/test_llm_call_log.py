"""Every model call is logged once, with who it ran for, its tokens, latency and outcome."""

import pytest

from agents.models import LLMCallLog
from tests.agents.django_support import allow_loopback, read_stream, scripted_agent
from tests.support.openai_server import text_reply, tool_call_reply

pytestmark = pytest.mark.django_db

CHAT = "/api/v1/agent-chat"


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    allow_loopback(settings)


def test_a_chat_turn_logs_each_model_call(auth_client, user, openai_server):
    agent = scripted_agent(openai_server, user, tools=["calculator"])
    openai_server.push(tool_call_reply(("calculator", {"expression": "1+1"}),
                                       prompt_tokens=20, completion_tokens=4),
                       text_reply("2", prompt_tokens=30, completion_tokens=1))

    auth_client.post(f"{CHAT}/{agent.id}", {"message": "1+1?"}, format="json")

    logs = list(LLMCallLog.objects.order_by("created_at"))
    assert [(log.prompt_tokens, log.completion_tokens, log.total_tokens) for log in logs] == [
        (20, 4, 24), (30, 1, 31)]
    for log in logs:
        assert (log.owner_id, log.agent_id, log.status) == (user.id, agent.id, "ok")
        assert (log.provider, log.model) == ("openai_compatible", "test-model")
        assert log.execution_id is None and log.node_id == ""
        assert log.streamed is False
        assert log.latency_ms >= 0


def test_a_streamed_turn_logs_a_streamed_call(auth_client, user, openai_server):
    agent = scripted_agent(openai_server, user)
    openai_server.push(text_reply("hi there", prompt_tokens=3, completion_tokens=2))

    read_stream(auth_client.post(f"{CHAT}/{agent.id}/stream", {"message": "hi"},
                                 format="json"))

    log = LLMCallLog.objects.get()
    assert (log.streamed, log.status, log.total_tokens) == (True, "ok", 5)


def test_logs_outlive_their_agent(auth_client, user, openai_server):
    agent = scripted_agent(openai_server, user)
    auth_client.post(f"{CHAT}/{agent.id}", {"message": "hi"}, format="json")

    auth_client.delete(f"/api/v1/agents/{agent.id}")

    log = LLMCallLog.objects.get()
    assert log.agent_id is None
    assert log.owner_id == user.id
