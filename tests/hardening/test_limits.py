"""Limits that protect the service, each answered with the contract's error when hit."""

import pytest
from django.core.cache import cache
from rest_framework.settings import api_settings

from executions.models import Execution
from tests.factories import ExecutionFactory, WorkflowFactory, chain_graph, node
from workflows.engine import Runner
from workflows.graphs import node_registry

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):
    """Set throttle rates for one test."""

    def apply(**rates):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates}}
        api_settings.reload()
        cache.clear()

    yield apply
    api_settings.reload()


def test_a_request_body_over_the_limit_is_413(auth_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000
    response = auth_client.post("/api/v1/workflows", {"name": "x", "description": "y" * 5_000},
                                format="json")
    assert response.status_code == 413
    assert response.json()["error_code"] == "PAYLOAD_TOO_LARGE"


def test_a_graph_over_the_node_limit_is_400(auth_client, settings):
    settings.MAX_GRAPH_NODES = 5
    nodes = [node(f"n{i}", "transform", mapping={}) for i in range(6)]
    response = auth_client.post("/api/v1/workflows", {"name": "big", "nodes": nodes},
                                format="json")
    assert response.status_code == 400
    assert "nodes" in response.json()["errors"]


def test_executions_past_the_per_user_active_limit_are_429(auth_client, user, settings):
    settings.MAX_ACTIVE_EXECUTIONS_PER_USER = 2
    workflow = WorkflowFactory(owner=user)
    ExecutionFactory(workflow=workflow, status="running")
    ExecutionFactory(workflow=workflow, status="waiting")
    ExecutionFactory(workflow=workflow, status="completed")
    response = auth_client.post(f"/api/v1/workflows/{workflow.id}/execute", {}, format="json")
    assert response.status_code == 429
    assert response.json()["error_code"] == "TOO_MANY_EXECUTIONS"
    assert Execution.objects.count() == 3


def test_starting_executions_is_rate_limited(auth_client, user, rates):
    rates(execute="3/m")
    workflow = WorkflowFactory(owner=user)
    codes = [auth_client.post(f"/api/v1/workflows/{workflow.id}/execute", {},
                              format="json").status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    response = auth_client.post("/api/v1/executions", {"workflow_id": str(workflow.id)},
                                format="json")
    assert response.status_code == 429
    assert response.json()["error_code"] == "THROTTLED"


def test_agent_chat_is_rate_limited(auth_client, user, rates):
    from tests.factories import AgentFactory

    rates(chat="1/m")
    agent = AgentFactory(owner=user)
    auth_client.post(f"/api/v1/agent-chat/{agent.id}", {"message": "hi"}, format="json")
    response = auth_client.post(f"/api/v1/agent-chat/{agent.id}", {"message": "hi"},
                                format="json")
    assert response.status_code == 429


def test_a_loop_over_too_many_items_fails_with_a_reason():
    graph = {
        "nodes": [node("start", "start"),
                  node("each", "loop", items_path="input.rows"),
                  node("body", "transform", parent="each", mapping={"v": "item"}),
                  node("end", "end")],
        "edges": [{"id": "a", "source": "start", "target": "each"},
                  {"id": "b", "source": "each", "target": "end"}],
    }
    result = Runner(graph, registry=node_registry(), services={"max_loop_items": 3}).run(
        {"rows": [1, 2, 3, 4]})
    assert result.status == "failed"
    assert "at most 3" in result.error


def test_a_node_output_over_the_limit_fails_the_node():
    graph = chain_graph(node("start", "start"),
                        node("big", "transform", mapping={"blob": "'x' * 5000"}),
                        node("end", "end"))
    result = Runner(graph, registry=node_registry(), max_output_bytes=1000).run({})
    assert result.status == "failed"
    assert result.failed_node == "big"
    assert "1000 bytes" in result.error


def test_log_lines_past_the_per_execution_limit_are_dropped_with_one_warning(user, settings):
    from executions import services
    from executions.models import ExecutionLog
    from executions.running import execution_run

    settings.MAX_LOGS_PER_EXECUTION = 5
    workflow = WorkflowFactory(owner=user, **chain_graph(
        node("start", "start"),
        *[node(f"step-{i}", "transform", mapping={"v": str(i)}) for i in range(10)],
        node("end", "end")))
    execution = services.execution_create(owner=user, workflow=workflow, input_data={})
    assert execution_run(execution_id=str(execution.pk), worker_id="test-worker") == "completed"

    logs = list(ExecutionLog.objects.filter(execution=execution).order_by("seq"))
    assert len(logs) == 6
    assert logs[-1].level == "warn"
    assert "Log limit of 5 lines reached" in logs[-1].message
