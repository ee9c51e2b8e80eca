"""The operations console for agents: pages render, keys stay write-only, call totals show."""

import pytest
from django.test import Client

from agents.models import ChatMessage, ChatSession, LLMCallLog, ModelConfig
from tests.factories import FACTORY_API_KEY, AgentFactory, ModelConfigFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def console():
    operator = UserFactory(role="admin", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(operator)
    return client


def test_every_agents_page_renders(console, user):
    agent = AgentFactory(owner=user)
    session = ChatSession.objects.create(agent=agent, owner=user, title="hello")
    ChatMessage.objects.create(session=session, role="user", content="hi")
    log = LLMCallLog.objects.create(owner=user, agent=agent, provider="openai", model="m",
                                    status="ok", total_tokens=3)
    pages = [
        "/admin/agents/modelconfig/", f"/admin/agents/modelconfig/{agent.model_config_id}/change/",
        "/admin/agents/modelconfig/add/", "/admin/agents/agent/",
        f"/admin/agents/agent/{agent.id}/change/", "/admin/agents/agentversion/",
        "/admin/agents/chatsession/", f"/admin/agents/chatsession/{session.id}/change/",
        "/admin/agents/llmcalllog/", f"/admin/agents/llmcalllog/{log.id}/change/",
    ]
    for page in pages:
        assert console.get(page).status_code == 200, page


def test_the_model_config_form_never_shows_the_key(console, user):
    config = ModelConfigFactory(owner=user)

    page = console.get(f"/admin/agents/modelconfig/{config.id}/change/").content.decode()

    assert FACTORY_API_KEY not in page
    assert config.api_key not in page  # not even encrypted


def test_a_key_typed_in_the_console_is_stored_encrypted(console):
    response = console.post("/admin/agents/modelconfig/add/", {
        "name": "Shared", "provider": "openai", "base_url": "", "model": "gpt-4o-mini",
        "new_api_key": "sk-console-typed-123456", "defaults": "{}", "timeout_s": "60",
    })

    assert response.status_code == 302
    config = ModelConfig.objects.get()
    assert config.owner is None
    assert config.api_key.startswith("enc:v1:")
    assert config.decrypted_api_key() == "sk-console-typed-123456"


def test_the_call_log_lists_totals_of_the_filtered_calls(console, user):
    for status, tokens in (("ok", 10), ("ok", 5), ("error", 0)):
        LLMCallLog.objects.create(owner=user, provider="openai", model="m", status=status,
                                  prompt_tokens=tokens, total_tokens=tokens)

    everything = console.get("/admin/agents/llmcalllog/").content.decode()
    only_ok = console.get("/admin/agents/llmcalllog/?status__exact=ok").content.decode()

    assert "3 calls" in everything and "15 tokens" in everything
    assert "2 calls" in only_ok and "15 tokens" in only_ok
