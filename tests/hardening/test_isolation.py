"""Tenant isolation, generated from the URL configuration.

For every route that takes an object, a second user gets 404 for every method and the object is
unchanged; list endpoints never show another user's objects. A route that takes an object but
has no entry in OBJECT_KINDS fails the suite, so a new route cannot go unchecked.
"""

import uuid

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse

from tests.factories import (
    AgentFactory,
    ApiKeyFactory,
    BatchFactory,
    ComputeServerFactory,
    DataSourceFactory,
    ExecutionFactory,
    ModelConfigFactory,
    ScheduleFactory,
    UploadFactory,
    WorkflowFactory,
)
from tests.hardening.routes import api_routes

pytestmark = pytest.mark.django_db


def _chat_session(owner):
    from agents.models import ChatSession

    agent = AgentFactory(owner=owner)
    return ChatSession.objects.create(agent=agent, owner=owner, title="private talk")


# How to make an object of the kind a route takes, owned by a given user; by route-name prefix.
OBJECT_KINDS = {
    "workflow-": lambda owner: WorkflowFactory(owner=owner),
    "execution-": lambda owner: ExecutionFactory(workflow=WorkflowFactory(owner=owner)),
    "data-source-": lambda owner: DataSourceFactory(owner=owner),
    "model-config-": lambda owner: ModelConfigFactory(owner=owner),
    "agent-": lambda owner: AgentFactory(owner=owner),
    "chat-session-": _chat_session,
    "api-key-": lambda owner: ApiKeyFactory(owner=owner),
    "schedule-": lambda owner: ScheduleFactory(owner=owner),
    "batch-": lambda owner: BatchFactory(owner=owner),
    "server-": lambda owner: ComputeServerFactory(owner=owner),
    "upload-": lambda owner: UploadFactory(owner=owner),
}

# Bodies that pass validation, so that the answer is about the object, not the payload.
BODIES = {
    "data-source-query": {"query": "SELECT 1"},
    "agent-chat": {"message": "hello"},
    "agent-chat-stream": {"message": "hello"},
    "agent-execute": {"message": "hello"},
    "workflow-detail": {"name": "hijacked"},
    "data-source-detail": {"name": "hijacked"},
    "model-config-detail": {"name": "hijacked"},
    "agent-detail": {"name": "hijacked"},
}


def object_routes():
    return [route for route in api_routes() if route.kwargs]


def kind_for(route):
    return next((make for prefix, make in OBJECT_KINDS.items()
                 if route.name.startswith(prefix)), None)


def snapshot(obj) -> dict:
    obj.refresh_from_db()
    return {k: v for k, v in model_to_dict(obj).items() if k != "updated_at"}


def test_every_route_that_takes_an_object_is_in_the_matrix():
    uncovered = [route.name for route in object_routes()
                 if kind_for(route) is None and route.name != "webhook-trigger"]
    assert not uncovered, f"add these routes to OBJECT_KINDS: {uncovered}"


@pytest.mark.parametrize("route", [r for r in object_routes() if kind_for(r)],
                         ids=lambda r: r.name)
def test_another_users_object_is_404_and_unchanged(route, user, other_client):
    obj = kind_for(route)(user)
    before = snapshot(obj)
    kwargs = {name: ("1" if name in ("number", "version") else str(obj.pk))
              for name in route.kwargs}
    url = reverse(route.name, kwargs=kwargs)
    for method in route.methods:
        response = getattr(other_client, method)(url, BODIES.get(route.name, {}), format="json")
        assert response.status_code == 404, (method, url, response.status_code,
                                             response.content[:200])
        assert response.json()["error_code"] == "NOT_FOUND"
    assert type(obj).objects.filter(pk=obj.pk).exists()
    assert snapshot(obj) == before


def test_list_endpoints_never_show_another_users_objects(user, other_client):
    private_ids = [str(make(user).pk) for make in OBJECT_KINDS.values()]
    lists = [r for r in api_routes() if not r.kwargs and "get" in r.methods
             and r.template.startswith("api/v1/") and r.name != "auth-me"]
    assert lists
    for route in lists:
        response = other_client.get(reverse(route.name))
        assert response.status_code == 200, (route.name, response.status_code)
        body = response.content.decode()
        assert not any(pk in body for pk in private_ids), route.name


@pytest.mark.parametrize(
    ("url", "payload"),
    [
        ("/api/v1/workflows", {"name": "mine", "nodes": [], "edges": []}),
        ("/api/v1/data-sources", {"name": "mine", "type": "json", "config": {"data": []}}),
        ("/api/v1/agents", {"name": "mine", "system_prompt": "hi"}),
    ],
)
def test_owner_and_id_fields_in_a_body_are_ignored(url, payload, user, other_user,
                                                   other_client):
    forged_id = str(uuid.uuid4())
    body = {**payload, "id": forged_id, "owner": str(user.pk), "owner_id": str(user.pk),
            "created_by": str(user.pk)}
    response = other_client.post(url, body, format="json")
    assert response.status_code == 201, response.content[:300]
    created = response.json()
    assert created["id"] != forged_id
    detail = other_client.get(f"{url}/{created['id']}")
    assert detail.status_code == 200
    owner = detail.json().get("owner_id") or detail.json().get("owner")
    assert owner in (None, str(other_user.pk))
