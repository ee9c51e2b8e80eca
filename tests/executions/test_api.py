"""The execution and log endpoints of the contract (no worker: what the API itself does)."""

import pytest
from django.utils import timezone

from executions.models import Execution, ExecutionLog, NodeRun
from tests.factories import ExecutionFactory, WorkflowFactory, chain_graph, node

pytestmark = pytest.mark.django_db


def test_execute_creates_a_pending_execution_with_a_task_id(auth_client, user):
    workflow = WorkflowFactory(owner=user)
    response = auth_client.post(f"/api/v1/workflows/{workflow.id}/execute",
                                {"input_data": {"x": 3}}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "workflow_id", "status", "task_id"}
    assert body["status"] == "pending"
    assert body["task_id"]
    execution = Execution.objects.get(pk=body["id"])
    assert execution.workflow_version.number == workflow.version
    assert execution.input_data == {"x": 3}


def test_post_executions_creates_one_too(auth_client, user):
    workflow = WorkflowFactory(owner=user)
    response = auth_client.post("/api/v1/executions",
                                {"workflow_id": str(workflow.id), "input_data": {}},
                                format="json")
    assert response.status_code == 201
    assert response.json()["workflow_id"] == str(workflow.id)


def test_executing_another_users_workflow_is_404_and_writes_nothing(other_client, user):
    workflow = WorkflowFactory(owner=user)
    assert other_client.post(f"/api/v1/workflows/{workflow.id}/execute", {},
                             format="json").status_code == 404
    assert other_client.post("/api/v1/executions", {"workflow_id": str(workflow.id)},
                             format="json").status_code == 404
    assert not Execution.objects.exists()


def test_executing_an_invalid_graph_is_422_and_writes_nothing(auth_client, user):
    workflow = WorkflowFactory(owner=user, nodes=[node("t", "transform", mapping={})], edges=[])
    response = auth_client.post(f"/api/v1/workflows/{workflow.id}/execute", {}, format="json")
    assert response.status_code == 422
    assert response.json()["error_code"] == "INVALID_GRAPH"
    assert not Execution.objects.exists()


def test_a_missing_required_input_is_400_and_writes_nothing(auth_client, user):
    graph = chain_graph(
        node("in", "input", fields=[{"name": "text", "type": "string", "required": True}]),
        node("end", "end"),
    )
    workflow = WorkflowFactory(owner=user, **graph)
    response = auth_client.post(f"/api/v1/workflows/{workflow.id}/execute",
                                {"input_data": {}}, format="json")
    assert response.status_code == 400
    assert "input_data" in response.json()["errors"]
    assert not Execution.objects.exists()


def test_executing_an_archived_workflow_is_409(auth_client, user):
    workflow = WorkflowFactory(owner=user, status="archived")
    response = auth_client.post(f"/api/v1/workflows/{workflow.id}/execute", {}, format="json")
    assert response.status_code == 409


@pytest.mark.parametrize("payload", [{"input_data": "text"}, {"input_data": [1]}])
def test_execute_refuses_input_that_is_not_an_object(auth_client, user, payload):
    workflow = WorkflowFactory(owner=user)
    response = auth_client.post(f"/api/v1/workflows/{workflow.id}/execute", payload,
                                format="json")
    assert response.status_code == 400


def test_list_filters_by_workflow_and_status_and_shows_only_mine(auth_client, user, other_user):
    mine = WorkflowFactory(owner=user)
    ExecutionFactory(workflow=mine)
    ExecutionFactory(workflow=mine, status="completed")
    ExecutionFactory(workflow=WorkflowFactory(owner=user))
    ExecutionFactory(workflow=WorkflowFactory(owner=other_user))
    everything = auth_client.get("/api/v1/executions")
    assert everything["X-Total-Count"] == "3"
    by_workflow = auth_client.get("/api/v1/executions", {"workflow_id": str(mine.id)}).json()
    assert len(by_workflow) == 2
    completed = auth_client.get("/api/v1/executions", {"status": "completed"}).json()
    assert [e["status"] for e in completed] == ["completed"]
    assert auth_client.get("/api/v1/executions", {"status": "bogus"}).status_code == 400


def test_detail_has_the_contract_fields(auth_client, user):
    execution = ExecutionFactory(workflow=WorkflowFactory(owner=user))
    body = auth_client.get(f"/api/v1/executions/{execution.id}").json()
    assert set(body) == {"id", "workflow_id", "workflow_version", "status", "input_data",
                         "output_data", "error", "progress", "current_node", "execution_time",
                         "task_id", "created_at", "started_at", "finished_at"}
    assert body["workflow_version"] == 1


def test_status_endpoint(auth_client, user):
    execution = ExecutionFactory(workflow=WorkflowFactory(owner=user), status="running",
                                 progress=40, current_node="double")
    assert auth_client.get(f"/api/v1/executions/{execution.id}/status").json() == {
        "status": "running", "progress": 40, "current_node": "double"}


def test_another_users_execution_is_404_everywhere(other_client, user):
    execution = ExecutionFactory(workflow=WorkflowFactory(owner=user))
    base = f"/api/v1/executions/{execution.id}"
    for path in ("", "/status", "/nodes"):
        assert other_client.get(base + path).status_code == 404
    for path in ("/cancel", "/pause", "/resume"):
        assert other_client.post(base + path, {}, format="json").status_code == 404
    assert other_client.get(
        f"/api/v1/execution-logs/executions/{execution.id}").status_code == 404
    assert other_client.get(
        f"/api/v1/execution-logs/executions/{execution.id}/summary").status_code == 404
    execution.refresh_from_db()
    assert execution.status == "pending"


def test_cancel_a_pending_execution(auth_client, user):
    execution = ExecutionFactory(workflow=WorkflowFactory(owner=user))
    response = auth_client.post(f"/api/v1/executions/{execution.id}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["finished_at"]


@pytest.mark.parametrize("status", ["completed", "failed", "cancelled"])
def test_cancelling_a_finished_execution_is_409_and_changes_nothing(auth_client, user, status):
    execution = ExecutionFactory(workflow=WorkflowFactory(owner=user), status=status)
    response = auth_client.post(f"/api/v1/executions/{execution.id}/cancel")
    assert response.status_code == 409
    assert response.json()["error_code"] == "EXECUTION_FINISHED"
    execution.refresh_from_db()
    assert execution.status == status


def test_pause_then_resume_a_pending_execution(auth_client, user):
    execution = ExecutionFactory(workflow=WorkflowFactory(owner=user))
    assert auth_client.post(f"/api/v1/executions/{execution.id}/pause").json()["status"] == \
        "waiting"
    resumed = auth_client.post(f"/api/v1/executions/{execution.id}/resume", {}, format="json")
    assert resumed.status_code == 200
    assert resumed.json()["status"] == "pending"


def test_resuming_an_execution_that_is_not_waiting_is_409(auth_client, user):
    execution = ExecutionFactory(workflow=WorkflowFactory(owner=user), status="completed")
    response = auth_client.post(f"/api/v1/executions/{execution.id}/resume", {}, format="json")
    assert response.status_code == 409


def test_node_runs_are_listed(auth_client, user):
    execution = ExecutionFactory(workflow=WorkflowFactory(owner=user), status="completed")
    NodeRun.objects.create(execution=execution, node_id="start", node_type="start",
                           status="completed", output={"x": 2}, attempts=1,
                           started_at=timezone.now())
    body = auth_client.get(f"/api/v1/executions/{execution.id}/nodes").json()
    assert [(r["node_id"], r["status"], r["output"]) for r in body] == [
        ("start", "completed", {"x": 2})]


def _logs(execution, specs):
    now = timezone.now()
    ExecutionLog.objects.bulk_create([
        ExecutionLog(execution=execution, node_id=node_id, node_type=node_type, level=level,
                     message=f"line {i}", timestamp=now, seq=i, duration_ms=duration)
        for i, (node_id, node_type, level, duration) in enumerate(specs)
    ])


def test_logs_filter_and_paginate(auth_client, user):
    execution = ExecutionFactory(workflow=WorkflowFactory(owner=user))
    _logs(execution, [("a", "transform", "info", 1.0), ("a", "transform", "error", 2.0),
                      ("b", "llm", "info", 5.0), ("b", "llm", "debug", None)])
    url = f"/api/v1/execution-logs/executions/{execution.id}"
    page = auth_client.get(url, {"skip": 1, "limit": 2}).json()
    assert page["total"] == 4 and page["skip"] == 1 and page["limit"] == 2
    assert [entry["message"] for entry in page["logs"]] == ["line 1", "line 2"]
    assert set(page["logs"][0]) == {"id", "node_id", "node_type", "level", "message", "data",
                                    "timestamp", "duration_ms"}
    assert auth_client.get(url, {"level": "error"}).json()["total"] == 1
    assert auth_client.get(url, {"node_id": "b"}).json()["total"] == 2
    assert auth_client.get(url, {"level": "loud"}).status_code == 400


def test_log_summary_counts_by_level_and_node(auth_client, user):
    execution = ExecutionFactory(workflow=WorkflowFactory(owner=user))
    _logs(execution, [("a", "transform", "info", 1.0), ("a", "transform", "error", 2.0),
                      ("b", "llm", "info", 5.0)])
    body = auth_client.get(f"/api/v1/execution-logs/executions/{execution.id}/summary").json()
    assert body["total_logs"] == 3
    assert body["level_stats"] == {"debug": 0, "info": 2, "warn": 0, "error": 1}
    assert body["node_stats"] == [
        {"node_id": "a", "node_type": "transform", "log_count": 2, "total_duration_ms": 3.0},
        {"node_id": "b", "node_type": "llm", "log_count": 1, "total_duration_ms": 5.0},
    ]
    assert [entry["message"] for entry in body["error_logs"]] == ["line 1"]
