"""Agents over the API: CRUD, versions, deploy/stop, duplicate, export and import, ownership."""

import pytest

from agents.models import Agent, AgentVersion, ChatMessage, ChatSession, LLMCallLog
from tests.agents.django_support import allow_loopback
from tests.factories import AgentFactory, ModelConfigFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/agents"


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    allow_loopback(settings)


@pytest.fixture
def config(user):
    return ModelConfigFactory(owner=user)


def payload(config, **overrides):
    return {"name": "Helper", "description": "helps", "system_prompt": "Be brief.",
            "model_config": str(config.id), "tools": ["calculator", "current_time"],
            "iteration_limit": 5, "workflow_config": {"nodes": [], "edges": []}, **overrides}


def test_create_makes_a_draft_at_version_1(auth_client, user, config):
    response = auth_client.post(URL, payload(config), format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "draft"
    assert body["version"] == 1
    assert body["model_config"] == str(config.id)
    assert body["tools"] == ["calculator", "current_time"]
    assert body["owner_id"] == str(user.id)
    assert AgentVersion.objects.filter(agent_id=body["id"], number=1).exists()


def test_a_minimal_agent_needs_only_a_name(auth_client):
    body = auth_client.post(URL, {"name": "Bare"}, format="json").json()
    assert body["model_config"] is None
    assert body["tools"] == []
    assert body["iteration_limit"] == 10


def test_include_tools_is_read_as_tools(auth_client, config):
    data = payload(config)
    data["include_tools"] = data.pop("tools")
    assert auth_client.post(URL, data, format="json").json()["tools"] == data["include_tools"]


def test_a_model_config_can_be_named_by_provider(auth_client, user):
    default = ModelConfigFactory(owner=user, provider="deepseek", is_default=True,
                                 base_url="https://api.deepseek.com")
    data = payload(default, model_config={"provider": "deepseek", "model_name": "deepseek-chat",
                                          "temperature": 0.8})

    body = auth_client.post(URL, data, format="json").json()

    assert body["model_config"] == str(default.id)
    assert body["model_params"] == {"model": "deepseek-chat", "temperature": 0.8}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"tools": ["calculator", "rm_rf"]}, "tools"),
        ({"tools": "calculator"}, "tools"),
        ({"iteration_limit": 0}, "iteration_limit"),
        ({"iteration_limit": 1000}, "iteration_limit"),
        ({"name": ""}, "name"),
        ({"workflow_config": [1]}, "workflow_config"),
        ({"model_config": "00000000-0000-0000-0000-000000000000"}, "model_config"),
        ({"model_config": {"provider": "groq"}}, "model_config"),
        ({"model_config": 12}, "model_config"),
        ({"model_params": {"temperature": 9}}, "model_params"),
    ],
)
def test_invalid_agents_are_400_with_field_errors(auth_client, config, overrides, field):
    response = auth_client.post(URL, payload(config, **overrides), format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Agent.objects.exists()


def test_another_users_model_config_cannot_be_used(auth_client, other_user):
    foreign = ModelConfigFactory(owner=other_user)
    response = auth_client.post(URL, payload(foreign), format="json")
    assert response.status_code == 400
    assert "model_config" in response.json()["errors"]


def test_a_shared_model_config_can_be_used(auth_client):
    shared = ModelConfigFactory(owner=None)
    assert auth_client.post(URL, payload(shared), format="json").status_code == 201


def test_put_bumps_the_version_and_keeps_the_old_one(auth_client, config):
    agent_id = auth_client.post(URL, payload(config), format="json").json()["id"]

    response = auth_client.put(f"{URL}/{agent_id}",
                               payload(config, system_prompt="Be verbose.", tools=[]),
                               format="json")

    assert response.status_code == 200
    assert response.json()["version"] == 2
    assert response.json()["system_prompt"] == "Be verbose."
    versions = auth_client.get(f"{URL}/{agent_id}/versions").json()
    assert [v["version"] for v in versions] == [2, 1]
    old = auth_client.get(f"{URL}/{agent_id}/versions/1").json()
    assert old["system_prompt"] == "Be brief."
    assert old["tools"] == ["calculator", "current_time"]


def test_patch_changes_only_what_it_names_and_bumps_the_version(auth_client, config):
    agent_id = auth_client.post(URL, payload(config), format="json").json()["id"]

    body = auth_client.patch(f"{URL}/{agent_id}", {"description": "new"}, format="json").json()

    assert body["version"] == 2
    assert body["description"] == "new"
    assert body["system_prompt"] == "Be brief."


def test_a_missing_version_is_404(auth_client, user):
    agent = AgentFactory(owner=user)
    assert auth_client.get(f"{URL}/{agent.id}/versions/9").status_code == 404


def test_list_filters_and_counts(auth_client, user, other_user):
    AgentFactory(owner=user, name="Alpha")
    AgentFactory(owner=user, name="Beta", status="deployed")
    AgentFactory(owner=other_user, name="Alpha too")

    everything = auth_client.get(URL)
    assert everything.status_code == 200
    assert everything["X-Total-Count"] == "2"
    assert [a["name"] for a in auth_client.get(URL, {"search": "alp"}).json()] == ["Alpha"]
    assert [a["name"] for a in auth_client.get(URL, {"status": "deployed"}).json()] == ["Beta"]


def test_deploy_then_stop(auth_client, user):
    agent = AgentFactory(owner=user)

    deployed = auth_client.post(f"{URL}/{agent.id}/deploy")
    assert deployed.status_code == 200
    assert deployed.json()["status"] == "deployed"
    stopped = auth_client.post(f"{URL}/{agent.id}/stop")
    assert stopped.json()["status"] == "stopped"
    assert auth_client.post(f"{URL}/{agent.id}/deploy").json()["status"] == "deployed"


def test_deploying_without_a_model_is_422_with_how_to_configure(auth_client, user):
    agent = AgentFactory(owner=user, model_config=None)

    response = auth_client.post(f"{URL}/{agent.id}/deploy")

    assert response.status_code == 422
    body = response.json()
    assert body["error_code"] == "MODEL_NOT_CONFIGURED"
    assert "/api/v1/model-configs" in body["detail"]
    assert Agent.objects.get(pk=agent.pk).status == "draft"


def test_stopping_a_draft_is_409(auth_client, user):
    agent = AgentFactory(owner=user)
    response = auth_client.post(f"{URL}/{agent.id}/stop")
    assert response.status_code == 409
    assert response.json()["error_code"] == "AGENT_NOT_DEPLOYED"


def test_duplicate_makes_a_new_draft(auth_client, user):
    agent = AgentFactory(owner=user, tools=["calculator"], status="deployed")

    response = auth_client.post(f"{URL}/{agent.id}/duplicate")

    assert response.status_code == 201
    copy = response.json()
    assert copy["id"] != str(agent.id)
    assert copy["name"] == f"{agent.name} (copy)"
    assert copy["status"] == "draft"
    assert copy["version"] == 1
    assert copy["tools"] == ["calculator"]
    assert copy["model_config"] == str(agent.model_config_id)


def test_export_then_import_round_trips(auth_client, user, config):
    original = auth_client.post(URL, payload(config, model_params={"temperature": 0.3}),
                                format="json").json()

    exported = auth_client.get(f"{URL}/{original['id']}/export")
    assert exported.status_code == 200
    document = exported.json()
    assert document["format_version"] == 1
    assert "exported_at" in document
    assert "api_key" not in str(document)
    imported = auth_client.post(f"{URL}/import", document, format="json")

    assert imported.status_code == 201
    copy = imported.json()
    assert copy["id"] != original["id"]
    for key in ("name", "description", "system_prompt", "model_config", "model_params", "tools",
                "iteration_limit", "workflow_config"):
        assert copy[key] == original[key], key
    assert copy["status"] == "draft"


def test_import_by_another_user_drops_a_config_they_cannot_use(auth_client, other_client,
                                                               config):
    original = auth_client.post(URL, payload(config), format="json").json()
    document = auth_client.get(f"{URL}/{original['id']}/export").json()

    copy = other_client.post(f"{URL}/import", document, format="json").json()

    assert copy["model_config"] is None


def test_import_refuses_a_newer_format_and_bad_documents(auth_client):
    newer = {"agent": {"name": "X"}, "format_version": 99}
    assert auth_client.post(f"{URL}/import", newer, format="json").status_code == 400
    assert auth_client.post(f"{URL}/import", {"agent": {}}, format="json").status_code == 400
    bad_tools = {"agent": {"name": "X", "tools": ["nope"]}}
    assert auth_client.post(f"{URL}/import", bad_tools, format="json").status_code == 400


def test_delete_removes_sessions_and_messages_and_keeps_call_logs(auth_client, user):
    agent = AgentFactory(owner=user)
    session = ChatSession.objects.create(agent=agent, owner=user, title="t")
    ChatMessage.objects.create(session=session, role="user", content="hi")
    log = LLMCallLog.objects.create(owner=user, agent=agent, provider="p", model="m",
                                    status="ok")

    response = auth_client.delete(f"{URL}/{agent.id}")

    assert response.status_code == 200
    assert response.json() == {"message": "Agent deleted."}
    assert not ChatSession.objects.exists()
    assert not ChatMessage.objects.exists()
    assert not AgentVersion.objects.exists()
    log.refresh_from_db()
    assert log.agent_id is None


def test_deleting_a_model_config_unsets_it_on_agents(auth_client, user):
    agent = AgentFactory(owner=user)
    auth_client.delete(f"/api/v1/model-configs/{agent.model_config_id}")
    assert auth_client.get(f"{URL}/{agent.id}").json()["model_config"] is None


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("put", ""), ("patch", ""), ("delete", ""), ("post", "/deploy"),
     ("post", "/stop"), ("post", "/duplicate"), ("get", "/export"), ("get", "/versions"),
     ("post", "/execute")],
)
def test_another_users_agent_is_404(other_client, user, method, suffix):
    agent = AgentFactory(owner=user)

    response = getattr(other_client, method)(f"{URL}/{agent.id}{suffix}",
                                             {"name": "x", "message": "hi"}, format="json")

    assert response.status_code == 404
    assert response.json()["error_code"] == "NOT_FOUND"
    assert Agent.objects.filter(pk=agent.pk).exists()


def test_admins_see_every_agent(admin_client_api, user):
    agent = AgentFactory(owner=user)
    assert admin_client_api.get(f"{URL}/{agent.id}").status_code == 200


def test_tools_are_listed_with_their_parameters(auth_client):
    response = auth_client.get(f"{URL}/tools")

    assert response.status_code == 200
    tools = {t["name"]: t for t in response.json()}
    assert {"calculator", "current_time", "http_request", "datasource_query",
            "run_workflow"} <= set(tools)
    assert tools["calculator"]["parameters"]["required"] == ["expression"]


def test_a_null_model_config_creates_an_agent_without_one(auth_client):
    response = auth_client.post("/api/v1/agents", {"name": "bare", "model_config": None},
                                format="json")
    assert response.status_code == 201, response.content
    assert response.json()["model_config"] is None
