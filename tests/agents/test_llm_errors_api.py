"""Model failures answered in the contract's error shape, and retried failures that recover."""

import time

import pytest

from agents.models import ChatMessage, LLMCallLog
from tests.agents.django_support import (
    allow_loopback,
    fast_retries,
    scripted_agent,
    scripted_config,
)
from tests.factories import FACTORY_API_KEY
from tests.support.openai_server import (
    error_reply,
    hang,
    malformed_json,
    rate_limited,
    server_error,
    text_reply,
)

pytestmark = pytest.mark.django_db

CHAT = "/api/v1/agent-chat"


@pytest.fixture(autouse=True)
def _loopback_allowed_and_quick_retries(settings, monkeypatch):
    allow_loopback(settings)
    fast_retries(monkeypatch)


@pytest.fixture
def agent(openai_server, user):
    return scripted_agent(openai_server, user)


def chat(client, agent):
    return client.post(f"{CHAT}/{agent.id}", {"message": "Hi"}, format="json")


def assert_error(response, status_code, error_code):
    assert response.status_code == status_code
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status_code"] == status_code
    assert body["error_code"] == error_code
    assert body["detail"]
    assert FACTORY_API_KEY not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    return body


def test_a_persistent_server_error_is_502(auth_client, agent, openai_server):
    openai_server.push(server_error(), server_error(), server_error())

    body = assert_error(chat(auth_client, agent), 502, "LLM_UPSTREAM_ERROR")

    assert "HTTP 500" in body["detail"]
    assert len(openai_server.chat_requests) == 3  # the first try and two retries
    answer = ChatMessage.objects.get(role="assistant")
    assert (answer.status, answer.content) == ("error", "")
    log = LLMCallLog.objects.get()
    assert (log.status, log.error_code, log.attempts) == ("error", "UPSTREAM_ERROR", 3)


def test_a_rate_limit_then_success_answers(auth_client, agent, openai_server):
    openai_server.push(rate_limited(retry_after=0), text_reply("Made it."))

    response = chat(auth_client, agent)

    assert response.status_code == 200
    assert response.json()["text"] == "Made it."
    log = LLMCallLog.objects.get()
    assert (log.status, log.attempts) == ("ok", 2)


def test_a_persistent_rate_limit_is_429(auth_client, agent, openai_server):
    openai_server.push(*[rate_limited(retry_after=0)] * 3)

    body = assert_error(chat(auth_client, agent), 429, "LLM_RATE_LIMITED")

    assert "rate limiting" in body["detail"]


def test_a_hang_past_the_timeout_is_504_without_waiting_it_out(auth_client, user,
                                                               openai_server):
    config = scripted_config(openai_server, owner=user, timeout_s=0.5)
    agent = scripted_agent(openai_server, user, model_config=config)
    openai_server.push(hang(10))

    started = time.monotonic()
    body = assert_error(chat(auth_client, agent), 504, "LLM_TIMEOUT")

    assert time.monotonic() - started < 5
    assert "0.5 s" in body["detail"]
    assert len(openai_server.chat_requests) == 1  # timeouts are not retried


def test_refused_credentials_are_502_and_name_the_key_not_the_value(auth_client, agent,
                                                                    openai_server):
    openai_server.expect_api_key("sk-some-other-key")

    body = assert_error(chat(auth_client, agent), 502, "LLM_AUTH_FAILED")

    assert "API key" in body["detail"]


def test_a_garbled_answer_is_502(auth_client, agent, openai_server):
    openai_server.push(malformed_json(), malformed_json(), malformed_json())
    assert_error(chat(auth_client, agent), 502, "LLM_BAD_RESPONSE")


def test_an_unknown_model_is_502(auth_client, agent, openai_server):
    openai_server.push(error_reply(404, "The model does not exist",
                                   error_type="invalid_request_error"))
    assert_error(chat(auth_client, agent), 502, "LLM_MODEL_NOT_FOUND")


def test_execute_maps_errors_the_same_way(auth_client, agent, openai_server):
    openai_server.push(server_error(), server_error(), server_error())
    response = auth_client.post(f"/api/v1/agents/{agent.id}/execute", {"message": "Hi"},
                                format="json")
    assert_error(response, 502, "LLM_UPSTREAM_ERROR")


def test_a_failed_turn_is_left_out_of_the_next_history(auth_client, agent, openai_server):
    openai_server.push(server_error(), server_error(), server_error(), text_reply("Fine now."))
    chat(auth_client, agent)
    session_id = ChatMessage.objects.get(role="user").session_id

    response = auth_client.post(f"{CHAT}/{agent.id}",
                                {"message": "Again", "session_id": str(session_id)},
                                format="json")

    assert response.status_code == 200
    sent = openai_server.chat_requests[-1].json["messages"]
    assert [(m["role"], m["content"]) for m in sent if m["role"] != "system"] == [
        ("user", "Hi"), ("user", "Again")]
