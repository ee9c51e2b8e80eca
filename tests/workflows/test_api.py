"""The workflow endpoints of the contract."""

import pytest

from tests.factories import WorkflowFactory, chain_graph, edge, node, simple_graph
from workflows.models import Workflow, WorkflowVersion

pytestmark = pytest.mark.django_db

URL = "/api/v1/workflows"


def create(client, **overrides):
    payload = {"name": "Doubler", "description": "doubles x", **simple_graph(), **overrides}
    return client.post(URL, payload, format="json")


def test_create_makes_a_draft_at_version_1(auth_client, user):
    response = create(auth_client)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "draft"
    assert body["version"] == 1
    assert body["owner_id"] == str(user.id)
    assert [n["id"] for n in body["nodes"]] == ["start", "double", "end"]
    assert WorkflowVersion.objects.filter(workflow_id=body["id"], number=1).exists()


def test_the_url_works_with_and_without_a_trailing_slash(auth_client):
    assert create(auth_client).status_code == 201
    assert auth_client.get(URL).status_code == 200
    assert auth_client.get(URL + "/").status_code == 200


def test_an_invalid_graph_may_be_saved_as_a_draft(auth_client):
    response = create(auth_client, nodes=[node("a", "no-such-type")], edges=[])
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": ""}, "name"),
        ({"nodes": "not a list"}, "nodes"),
        ({"nodes": [{"type": "start"}]}, "nodes"),
        ({"nodes": [1, 2]}, "nodes"),
        ({"edges": [{"source": "a"}]}, "edges"),
        ({"nodes": [{"id": "a", "type": "start", "data": "x"}]}, "nodes"),
        ({"nodes": [{"id": "a" * 201, "type": "start"}]}, "nodes"),  # node runs record ids
    ],
)
def test_malformed_workflows_are_400_with_field_errors(auth_client, payload, field):
    response = create(auth_client, **payload)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Workflow.objects.exists()


def test_too_many_nodes_are_refused(auth_client, settings):
    settings.MAX_GRAPH_NODES = 3
    nodes = [node(f"n{i}", "transform", mapping={}) for i in range(4)]
    response = create(auth_client, nodes=nodes, edges=[])
    assert response.status_code == 400
    assert "at most 3" in response.json()["errors"]["nodes"][0]


def test_list_shows_only_my_workflows_with_a_total_header(auth_client, user, other_user):
    WorkflowFactory.create_batch(3, owner=user)
    WorkflowFactory(owner=other_user)
    response = auth_client.get(URL, {"limit": 2})
    assert response.status_code == 200
    assert len(response.json()) == 2
    assert response["X-Total-Count"] == "3"
    assert all(item["owner_id"] == str(user.id) for item in response.json())


def test_list_searches_filters_and_sorts(auth_client, user):
    WorkflowFactory(owner=user, name="Beta report", description="")
    WorkflowFactory(owner=user, name="alpha", description="makes a report", status="published")
    WorkflowFactory(owner=user, name="gamma", description="")
    names = [w["name"] for w in auth_client.get(
        URL, {"search": "report", "sort_by": "name", "sort_order": "asc"}).json()]
    assert names == ["alpha", "Beta report"]
    published = auth_client.get(URL, {"status": "published"}).json()
    assert [w["name"] for w in published] == ["alpha"]


@pytest.mark.parametrize("query", [{"status": "nope"}, {"sort_by": "owner"}, {"sort_order": "up"},
                                   {"limit": "x"}])
def test_list_refuses_unknown_filters_with_400(auth_client, query):
    response = auth_client.get(URL, query)
    assert response.status_code == 400
    assert response.json()["error_code"] == "VALIDATION_ERROR"


def test_another_users_workflow_is_404_for_every_method(other_client, user):
    workflow = WorkflowFactory(owner=user)
    detail = f"{URL}/{workflow.id}"
    assert other_client.get(detail).status_code == 404
    assert other_client.put(detail, {"name": "x"}, format="json").status_code == 404
    assert other_client.patch(detail, {"name": "x"}, format="json").status_code == 404
    assert other_client.delete(detail).status_code == 404
    for path in ("publish", "archive", "activate", "export", "versions", "versions/1",
                 "versions/1/rollback"):
        method = other_client.get if path in ("export", "versions", "versions/1") else \
            other_client.post
        assert method(f"{detail}/{path}").status_code == 404, path
    workflow.refresh_from_db()
    assert workflow.name != "x" and workflow.version == 1


def test_an_admin_sees_every_workflow(admin_client_api, user):
    workflow = WorkflowFactory(owner=user)
    assert admin_client_api.get(f"{URL}/{workflow.id}").status_code == 200


def test_a_malformed_id_is_404(auth_client):
    assert auth_client.get(f"{URL}/not-a-uuid").status_code == 404


def test_each_change_of_graph_name_or_description_makes_a_version(auth_client, user):
    workflow = WorkflowFactory(owner=user)
    detail = f"{URL}/{workflow.id}"
    auth_client.patch(detail, {"name": "Renamed", "comment": "better name"}, format="json")
    auth_client.patch(detail, {"description": "new words"}, format="json")
    response = auth_client.put(detail, {"name": "Renamed", **chain_graph(
        node("start", "start"), node("end", "end"))}, format="json")
    assert response.status_code == 200
    assert response.json()["version"] == 4
    versions = auth_client.get(f"{detail}/versions").json()
    assert [v["version"] for v in versions] == [4, 3, 2, 1]
    assert versions[2]["comment"] == "better name"


def test_an_update_that_changes_nothing_makes_no_version(auth_client, user):
    workflow = WorkflowFactory(owner=user)
    response = auth_client.patch(f"{URL}/{workflow.id}", {"name": workflow.name}, format="json")
    assert response.json()["version"] == 1


def test_a_version_shows_its_snapshot(auth_client, user):
    workflow = WorkflowFactory(owner=user)
    auth_client.patch(f"{URL}/{workflow.id}", {"nodes": []}, format="json")
    first = auth_client.get(f"{URL}/{workflow.id}/versions/1").json()
    assert [n["id"] for n in first["nodes"]] == ["start", "double", "end"]
    assert auth_client.get(f"{URL}/{workflow.id}/versions/9").status_code == 404


def test_rollback_makes_a_new_version_equal_to_the_old_one(auth_client, user):
    workflow = WorkflowFactory(owner=user)
    original = workflow.nodes
    auth_client.patch(f"{URL}/{workflow.id}", {"nodes": [], "name": "broken"}, format="json")
    response = auth_client.post(f"{URL}/{workflow.id}/versions/1/rollback",
                                {"comment": "undo"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == 3
    assert body["nodes"] == original
    assert body["name"] == workflow.name
    assert WorkflowVersion.objects.get(workflow=workflow, number=3).comment == "undo"


def test_delete_answers_a_message_and_removes_the_workflow(auth_client, user):
    workflow = WorkflowFactory(owner=user)
    response = auth_client.delete(f"{URL}/{workflow.id}")
    assert response.status_code == 200
    assert response.json() == {"message": "Workflow deleted."}
    assert not Workflow.objects.filter(pk=workflow.pk).exists()


def test_publishing_a_valid_workflow(auth_client, user):
    workflow = WorkflowFactory(owner=user)
    response = auth_client.post(f"{URL}/{workflow.id}/publish")
    assert response.status_code == 200
    assert response.json()["status"] == "published"


def test_publishing_an_invalid_workflow_is_422_with_the_errors(auth_client, user):
    workflow = WorkflowFactory(owner=user, nodes=[node("x", "transform", mapping={})], edges=[])
    response = auth_client.post(f"{URL}/{workflow.id}/publish")
    assert response.status_code == 422
    body = response.json()
    assert body["error_code"] == "INVALID_GRAPH"
    assert any(issue["code"] == "NO_START_NODE" for issue in body["errors"])
    workflow.refresh_from_db()
    assert workflow.status == "draft"


def test_archive_and_activate(auth_client, user):
    workflow = WorkflowFactory(owner=user)
    assert auth_client.post(f"{URL}/{workflow.id}/archive").json()["status"] == "archived"
    assert auth_client.post(f"{URL}/{workflow.id}/publish").status_code == 409
    assert auth_client.post(f"{URL}/{workflow.id}/activate").json()["status"] == "draft"
    assert auth_client.post(f"{URL}/{workflow.id}/activate").status_code == 409


def test_validate_reports_every_problem_at_once(auth_client):
    graph = {
        "nodes": [node("a", "start"), node("a", "start"), node("c", "condition", expression="1 >"),
                  node("d", "mystery")],
        "edges": [edge("a", "c", "true"), edge("c", "ghost")],
    }
    response = auth_client.post(f"{URL}/validate", graph, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    codes = {issue["code"] for issue in body["errors"]}
    assert {"DUPLICATE_NODE_ID", "UNKNOWN_NODE_TYPE", "EDGE_TARGET_MISSING",
            "EXPRESSION_SYNTAX"} <= codes
    assert all(set(issue) == {"node_id", "code", "message"} for issue in body["errors"])


def test_validate_accepts_a_good_graph(auth_client):
    response = auth_client.post(f"{URL}/validate", simple_graph(), format="json")
    assert response.json() == {"valid": True, "errors": [], "warnings": []}


def test_validate_refuses_a_malformed_body(auth_client):
    response = auth_client.post(f"{URL}/validate", {"nodes": 5}, format="json")
    assert response.status_code == 400


def test_export_then_import_round_trips_exactly(auth_client, user):
    workflow = WorkflowFactory(owner=user, description="with ünïcode and {braces}")
    exported = auth_client.get(f"{URL}/{workflow.id}/export").json()
    assert exported["format_version"] == 1
    assert exported["exported_at"]
    imported = auth_client.post(f"{URL}/import", exported, format="json")
    assert imported.status_code == 201
    assert imported.json()["id"] != str(workflow.id)
    assert imported.json()["status"] == "draft"
    again = auth_client.get(f"{URL}/{imported.json()['id']}/export").json()
    assert again["workflow"] == exported["workflow"]


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"workflow": "x"},
        {"workflow": {"nodes": []}},
        {"workflow": {"name": "x", "nodes": {"a": 1}}},
        {"workflow": {"name": "x"}, "format_version": 99},
        [],
    ],
)
def test_import_refuses_malformed_documents_with_400(auth_client, document):
    response = auth_client.post(f"{URL}/import", document, format="json")
    assert response.status_code == 400
    assert response.json()["error_code"] == "VALIDATION_ERROR"
    assert not Workflow.objects.exists()


def test_import_refuses_a_document_over_the_size_limit(auth_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = {"workflow": {"name": "x", "description": "y" * 2000}}
    response = auth_client.post(f"{URL}/import", big, format="json")
    assert response.status_code == 413
    assert response.json()["error_code"] == "PAYLOAD_TOO_LARGE"
