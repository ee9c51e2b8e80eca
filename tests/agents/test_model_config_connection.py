"""`POST /model-configs/{id}/test`, and which addresses a user's config may point at."""

import socket

import pytest

from tests.agents.django_support import allow_loopback, scripted_config
from tests.factories import FACTORY_API_KEY, ModelConfigFactory
from tests.support.network import unused_port
from tests.support.openai_server import error_reply

pytestmark = pytest.mark.django_db

URL = "/api/v1/model-configs"


def create(client, base_url, **overrides):
    body = {"name": "Mine", "provider": "openai_compatible", "base_url": base_url,
            "model": "test-model", "api_key": "sk-test-abcdef123456", **overrides}
    return client.post(URL, body, format="json")


def test_a_working_config_tests_successfully(auth_client, user, openai_server, settings):
    allow_loopback(settings)
    openai_server.expect_api_key(FACTORY_API_KEY)
    config = scripted_config(openai_server, owner=user)

    response = auth_client.post(f"{URL}/{config.id}/test")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success"
    assert "test-model" in body["message"]
    assert isinstance(body["latency_ms"], int)
    assert openai_server.last_request.authorization == f"Bearer {FACTORY_API_KEY}"


def test_a_model_the_server_does_not_list_is_tried_with_a_call(auth_client, user, openai_server,
                                                               settings):
    allow_loopback(settings)
    openai_server.models = ["something-else"]
    config = scripted_config(openai_server, owner=user)

    body = auth_client.post(f"{URL}/{config.id}/test").json()

    assert body["status"] == "success"
    assert openai_server.chat_requests[0].json["model"] == "test-model"


def test_a_wrong_key_fails_with_a_message_and_no_secret(auth_client, user, openai_server,
                                                         settings):
    allow_loopback(settings)
    openai_server.expect_api_key("sk-the-right-one")
    config = scripted_config(openai_server, owner=user)

    response = auth_client.post(f"{URL}/{config.id}/test")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "failed"
    assert "API key" in body["message"]
    assert FACTORY_API_KEY not in response.content.decode()


def test_a_server_that_is_down_fails(auth_client, user, settings):
    allow_loopback(settings)
    config = ModelConfigFactory(owner=user, base_url=f"http://127.0.0.1:{unused_port()}/v1")

    body = auth_client.post(f"{URL}/{config.id}/test").json()

    assert body["status"] == "failed"
    assert "connect" in body["message"].lower()


def test_a_failing_completion_fails_the_test(auth_client, user, openai_server, settings):
    allow_loopback(settings)
    openai_server.models = []
    openai_server.push(error_reply(404, "model not found", error_type="invalid_request_error"))
    config = scripted_config(openai_server, owner=user)

    assert auth_client.post(f"{URL}/{config.id}/test").json()["status"] == "failed"


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:11434/v1",
        "http://localhost:11434/v1",
        "http://10.1.2.3/v1",
        "http://192.168.0.10:8000/v1",
        "http://169.254.169.254/latest",
        "http://[::1]:8000/v1",
        "http://[::ffff:127.0.0.1]/v1",
        "http://2130706433/v1",
        "http://0x7f000001/v1",
    ],
)
def test_users_may_not_point_a_config_at_private_addresses(auth_client, base_url):
    response = create(auth_client, base_url)

    assert response.status_code == 400
    assert "base_url" in response.json()["errors"]


def test_a_provider_default_on_localhost_is_refused_for_users(auth_client):
    response = create(auth_client, "", provider="ollama", api_key="")

    assert response.status_code == 400
    assert "base_url" in response.json()["errors"]


def test_the_settings_can_allow_private_networks(auth_client, settings):
    settings.OUTBOUND_ALLOW_NETWORKS = ["10.0.0.0/8"]
    assert create(auth_client, "http://10.1.2.3/v1").status_code == 201


def test_the_settings_can_allow_hosts(auth_client, settings):
    settings.OUTBOUND_ALLOW_HOSTS = ["localhost"]
    assert create(auth_client, "http://localhost:11434/v1").status_code == 201


def test_admins_shared_configs_may_point_anywhere(admin_client_api, openai_server):
    created = create(admin_client_api, openai_server.base_url, shared=True)
    assert created.status_code == 201

    tested = admin_client_api.post(f"{URL}/{created.json()['id']}/test").json()
    assert tested["status"] == "success"


def test_shared_configs_can_be_tested_by_users(auth_client, openai_server):
    shared = scripted_config(openai_server, owner=None)
    assert auth_client.post(f"{URL}/{shared.id}/test").json()["status"] == "success"


def test_a_users_private_config_is_refused_when_used_after_the_settings_change(
    auth_client, user, openai_server, settings
):
    config = scripted_config(openai_server, owner=user)  # stored while it was allowed

    body = auth_client.post(f"{URL}/{config.id}/test").json()

    assert body["status"] == "failed"
    assert "not" in body["message"] and "127.0.0.1" in body["message"]
    assert openai_server.requests == []


def test_a_host_name_resolving_to_a_private_address_is_refused_when_connecting(
    auth_client, user, openai_server, monkeypatch
):
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        # A public-looking name that resolves to loopback (as DNS rebinding would make it).
        return real("127.0.0.1" if host == "models.example.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    created = create(auth_client, f"http://models.example.test:{openai_server.port}/v1")
    assert created.status_code == 201

    body = auth_client.post(f"{URL}/{created.json()['id']}/test").json()

    assert body["status"] == "failed"
    assert "not allowed" in body["message"]
    assert openai_server.requests == []


def test_a_chat_on_a_config_that_resolves_privately_is_422_and_not_retried(
    auth_client, user, openai_server, monkeypatch
):
    from tests.agents.django_support import scripted_agent

    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: real(
        "127.0.0.1" if host == "models.example.test" else host, *a, **k))
    config = ModelConfigFactory(owner=user,
                                base_url=f"http://models.example.test:{openai_server.port}/v1")
    agent = scripted_agent(openai_server, user, model_config=config)

    response = auth_client.post(f"/api/v1/agent-chat/{agent.id}", {"message": "hi"},
                                format="json")

    assert response.status_code == 422
    assert response.json()["error_code"] == "MODEL_ENDPOINT_NOT_ALLOWED"
    assert "loopback" in response.json()["detail"]
    assert openai_server.requests == []
