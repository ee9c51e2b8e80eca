"""The OpenAPI document's links: every call that takes an id can be reached from an answer."""

import pytest
from drf_spectacular.generators import SchemaGenerator

METHODS = ("get", "put", "patch", "post", "delete")


@pytest.fixture(scope="module")
def document():
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def _links_to(document, operation_id):
    """(source label, status, link) for every link to an operation."""
    for path, method, operation in _operations(document):
        for status, response in operation["responses"].items():
            for link in response.get("links", {}).values():
                if link["operationId"] == operation_id:
                    yield f"{method.upper()} {path}", status, link


def _link(document, source, operation_id):
    method, path = source.split(" ", 1)
    for response in document["paths"][path][method.lower()]["responses"].values():
        if operation_id in response.get("links", {}):
            return response["links"][operation_id]
    raise AssertionError(f"{source} has no link to {operation_id}")


def test_every_operation_that_takes_a_path_parameter_is_linked_from_an_answer(document):
    unlinked = [f"{method.upper()} {path}" for path, method, operation in _operations(document)
                if "{" in path and not any(_links_to(document, operation["operationId"]))]
    assert unlinked == []


def test_every_link_names_an_operation_and_parameters_it_has(document):
    operations = {operation["operationId"]: operation
                  for _path, _method, operation in _operations(document)}
    for _path, _method, operation in _operations(document):
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                target = operations[link["operationId"]]
                names = {f"path.{p['name']}" for p in target.get("parameters", [])}
                assert set(link.get("parameters", {})) <= names, link


def test_a_created_workflow_links_to_its_own_operations_by_its_id(document):
    link = _link(document, "POST /api/v1/workflows/", "workflows_execute_create")
    assert link["parameters"] == {"path.id": "$response.body#/id"}
    rollback = _link(document, "GET /api/v1/workflows/{id}/", "workflows_versions_rollback_create")
    assert rollback["parameters"] == {"path.id": "$response.body#/id",
                                      "path.number": "$response.body#/version"}


def test_ids_named_after_a_thing_link_answers_to_that_thing(document):
    # An execution's answer names its workflow; a chat reply names its session.
    link = _link(document, "POST /api/v1/workflows/{id}/execute/", "workflows_retrieve")
    assert link["parameters"] == {"path.id": "$response.body#/workflow_id"}
    link = _link(document, "POST /api/v1/agent-chat/{agent_id}", "agent_chat_sessions_retrieve")
    assert link["parameters"] == {"path.id": "$response.body#/session_id"}
    link = _link(document, "POST /api/v1/executions/", "execution_logs_executions_retrieve")
    assert link["parameters"] == {"path.execution_id": "$response.body#/id"}


def test_request_bodies_that_name_an_object_take_its_id_from_a_link(document):
    link = _link(document, "POST /api/v1/workflows/", "executions_create")
    assert link["requestBody"] == {"workflow_id": "$response.body#/id"}
    assert "parameters" not in link


def test_a_webhook_token_links_to_the_hook_it_calls(document):
    link = _link(document, "POST /api/v1/workflows/{id}/webhook", "hooks_create")
    assert link["parameters"] == {"path.token": "$response.body#/token"}


def test_answers_that_repeat_the_object_acted_on_are_not_link_sources(document):
    # `activate` answers with the workflow it was called on: linking from it would only repeat.
    activate = document["paths"]["/api/v1/workflows/{id}/activate/"]["post"]
    assert not any("links" in response for response in activate["responses"].values())
    # A batch's task id is its own: an execution's `task_id` (a queue message) is not linked to it.
    assert not any(source.startswith("POST /api/v1/executions/")
                   for source, _s, _l in _links_to(document, "batch_tasks_retrieve"))
