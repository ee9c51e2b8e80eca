"""The template endpoints: catalogue, detail, create-from, submit; drafts stay private."""

import pytest

from templates.models import TemplateStatus, WorkflowTemplate
from templates.services import builtin_templates_import
from tests.factories import WorkflowFactory, chain_graph, node, simple_graph
from workflows.models import Workflow

pytestmark = pytest.mark.django_db

URL = "/api/v1/workflows/templates"


def template(**overrides) -> WorkflowTemplate:
    fields = {"name": "Doubler", "description": "doubles x", "category": "math",
              "tags": ["demo"], "status": TemplateStatus.PUBLISHED, **simple_graph(),
              **overrides}
    return WorkflowTemplate.objects.create(**fields)


def test_the_catalogue_lists_published_templates_with_the_total(auth_client):
    template(name="A")
    template(name="B", featured=True)
    template(name="Hidden", status=TemplateStatus.DRAFT)
    template(name="Refused", status=TemplateStatus.REJECTED)
    response = auth_client.get(URL)
    assert response.status_code == 200
    assert [t["name"] for t in response.json()] == ["B", "A"]  # featured first
    assert response["X-Total-Count"] == "2"
    assert auth_client.get(URL + "/").status_code == 200


def test_filters_category_search_featured_and_skip_limit(auth_client):
    template(name="Summarise", category="ai", description="llm summary")
    template(name="Report", category="data", featured=True)
    template(name="Triage", category="ai")
    assert [t["name"] for t in auth_client.get(URL, {"category": "ai"}).json()] == [
        "Summarise", "Triage"]
    assert [t["name"] for t in auth_client.get(URL, {"search": "summary"}).json()] == [
        "Summarise"]
    assert [t["name"] for t in auth_client.get(URL, {"featured": "true"}).json()] == ["Report"]
    page = auth_client.get(URL, {"skip": 1, "limit": 1})
    assert len(page.json()) == 1 and page["X-Total-Count"] == "3"
    assert auth_client.get(URL, {"limit": "x"}).json()["error_code"] == "VALIDATION_ERROR"


def test_detail_shows_the_graph(auth_client):
    found = template()
    body = auth_client.get(f"{URL}/{found.id}").json()
    assert body["id"] == str(found.id)
    assert [n["id"] for n in body["nodes"]] == ["start", "double", "end"]
    assert body["is_builtin"] is False


def test_create_from_a_template_makes_a_workflow_of_the_caller(auth_client, user):
    found = template()
    response = auth_client.post(f"{URL}/{found.id}/create?name=Mine&description=copied")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["description"], body["owner_id"]) == ("Mine", "copied",
                                                                      str(user.id))
    workflow = Workflow.objects.get(pk=body["id"])
    assert workflow.nodes == found.nodes and workflow.version == 1
    found.refresh_from_db()
    assert found.times_used == 1
    # Without a name the template's own is used; a JSON body works as well as a query.
    again = auth_client.post(f"{URL}/{found.id}/create", {"description": ""}, format="json")
    assert again.status_code == 201 and again.json()["name"] == "Doubler"


def test_the_new_workflow_shares_nothing_with_the_template(auth_client):
    found = template()
    body = auth_client.post(f"{URL}/{found.id}/create").json()
    workflow = Workflow.objects.get(pk=body["id"])
    workflow.nodes[1]["data"]["mapping"]["y"] = "0"
    workflow.save()
    found.refresh_from_db()
    assert found.nodes[1]["data"]["mapping"]["y"] == "input.x * 2"


def test_a_user_submits_a_workflow_as_a_draft_template_and_sees_it(auth_client, user):
    workflow = WorkflowFactory(owner=user, name="My flow")
    response = auth_client.post(URL, {"workflow_id": str(workflow.id), "category": "math",
                                      "tags": ["x2"]}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["name"], body["author_id"]) == ("draft", "My flow",
                                                                  str(user.id))
    assert auth_client.get(f"{URL}/{body['id']}").status_code == 200
    assert [t["id"] for t in auth_client.get(URL, {"mine": "true"}).json()] == [body["id"]]


def test_another_users_draft_template_is_404(auth_client, other_client, other_user):
    workflow = WorkflowFactory(owner=other_user)
    draft = other_client.post(URL, {"workflow_id": str(workflow.id)}, format="json").json()
    assert auth_client.get(f"{URL}/{draft['id']}").status_code == 404
    assert auth_client.post(f"{URL}/{draft['id']}/create").status_code == 404
    assert draft["id"] not in [t["id"] for t in auth_client.get(URL).json()]


def test_submitting_another_users_workflow_is_404_and_an_invalid_graph_422(
        auth_client, user, other_user):
    foreign = WorkflowFactory(owner=other_user)
    response = auth_client.post(URL, {"workflow_id": str(foreign.id)}, format="json")
    assert response.status_code == 404
    broken = WorkflowFactory(owner=user, **chain_graph(node("a", "no-such-type")))
    response = auth_client.post(URL, {"workflow_id": str(broken.id)}, format="json")
    assert response.status_code == 422
    assert response.json()["error_code"] == "INVALID_GRAPH"


def test_unknown_or_malformed_ids_are_404_and_anonymous_is_401(auth_client, api_client):
    assert auth_client.get(f"{URL}/00000000-0000-0000-0000-000000000000").status_code == 404
    assert auth_client.get(f"{URL}/not-a-uuid").status_code == 404
    assert api_client.get(URL).status_code == 401


def test_the_builtins_are_in_the_catalogue_and_usable(auth_client):
    builtin_templates_import()
    listed = auth_client.get(URL).json()
    assert len(listed) >= 8
    assert all(t["is_builtin"] for t in listed)
    summarise = next(t for t in listed if t["name"] == "Summarise a text")
    response = auth_client.post(f"{URL}/{summarise['id']}/create")
    assert response.status_code == 201
