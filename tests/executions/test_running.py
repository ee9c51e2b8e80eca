"""Executions run by a real worker (in-process thread or `rundramatiq` processes)."""

import time

import pytest

from executions import services
from executions.models import Execution, ExecutionLog, NodeRun
from tests.factories import UserFactory, WorkflowFactory, chain_graph, edge, node
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)




def start(workflow, input_data=None):
    return services.execution_create(owner=workflow.owner, workflow=workflow,
                                     input_data=input_data or {})


def test_an_execution_completes_with_its_output_node_runs_and_logs(running_worker):
    workflow = WorkflowFactory()
    execution = wait_for(start(workflow, {"x": 21}).id)
    assert execution.status == "completed", execution.error
    assert execution.output_data == {"y": 42}
    assert execution.progress == 100
    assert execution.execution_time is not None
    assert execution.started_at and execution.finished_at
    runs = {run.node_id: run for run in NodeRun.objects.filter(execution=execution)}
    assert set(runs) == {"start", "double", "end"}
    assert runs["double"].output == {"y": 42}
    assert all(run.status == "completed" and run.attempts == 1 for run in runs.values())


def test_a_failing_node_fails_the_execution_with_a_reason(running_worker):
    workflow = WorkflowFactory(**chain_graph(
        node("start", "start"), node("boom", "transform", mapping={"y": "input.x / 0"}),
        node("end", "end")))
    execution = wait_for(start(workflow, {"x": 1}).id)
    assert execution.status == "failed"
    assert "boom" in execution.error
    failed = NodeRun.objects.get(execution=execution, node_id="boom")
    assert failed.status == "failed" and failed.error
    assert ExecutionLog.objects.filter(execution=execution, level="error").exists()


def test_condition_branches_and_skipped_nodes_are_recorded(running_worker):
    graph = {
        "nodes": [node("start", "start"), node("check", "condition", expression="input.x > 10"),
                  node("big", "output", mapping={"size": "'big'"}),
                  node("small", "output", mapping={"size": "'small'"})],
        "edges": [edge("start", "check"), edge("check", "big", "true"),
                  edge("check", "small", "false")],
    }
    workflow = WorkflowFactory(**graph)
    execution = wait_for(start(workflow, {"x": 3}).id)
    assert execution.output_data == {"size": "small"}
    statuses = dict(NodeRun.objects.filter(execution=execution).values_list("node_id", "status"))
    assert statuses["big"] == "skipped"
    assert statuses["small"] == "completed"


def test_cancel_stops_a_running_execution_between_nodes(running_worker, tmp_path):
    workflow = WorkflowFactory(**chain_graph(
        node("start", "start"), node("slow", "test_sleep", ms=1500),
        node("after", "test_record", path=str(tmp_path / "ran.txt")), node("end", "end")))
    execution = start(workflow)
    wait_for(execution.id, statuses=("running",))
    services.execution_cancel(execution=Execution.objects.get(pk=execution.id))
    final = wait_for(execution.id)
    assert final.status == "cancelled"
    time.sleep(2.0)  # the slow node ends; the run must not go on to the next one
    assert not (tmp_path / "ran.txt").exists()
    assert Execution.objects.get(pk=execution.id).status == "cancelled"


def test_pause_leaves_the_run_waiting_and_resume_continues_without_rerunning(
        running_worker, tmp_path):
    record = tmp_path / "ran.txt"
    workflow = WorkflowFactory(**chain_graph(
        node("start", "start"), node("first", "test_record", path=str(record)),
        node("slow", "test_sleep", ms=800), node("second", "test_record", path=str(record)),
        node("end", "end")))
    execution = start(workflow)
    wait_for(execution.id, statuses=("running",))
    services.execution_pause(execution=Execution.objects.get(pk=execution.id))
    paused = wait_for(execution.id, statuses=("waiting",))
    assert paused.status == "waiting"
    assert record.read_text().split() == ["first"]
    services.execution_resume(execution=paused, by=paused.owner)
    final = wait_for(execution.id)
    assert final.status == "completed", final.error
    assert record.read_text().split() == ["first", "second"]
    assert NodeRun.objects.filter(execution=final, node_id="first").count() == 1


def test_a_duplicate_delivery_never_overwrites_a_finished_execution(running_worker):
    from executions.actors import run_execution

    workflow = WorkflowFactory()
    execution = wait_for(start(workflow, {"x": 1}).id)
    finished_at = execution.finished_at
    run_execution.send(str(execution.id))
    time.sleep(0.5)
    again = Execution.objects.get(pk=execution.id)
    assert again.status == "completed" and again.finished_at == finished_at
    assert NodeRun.objects.filter(execution=execution).count() == 3


def test_many_executions_of_several_users_all_complete(running_worker):
    workflows = [WorkflowFactory(owner=UserFactory()) for _ in range(3)]
    ids = [start(workflows[i % 3], {"x": i}).id for i in range(30)]
    finished = [wait_for(i) for i in ids]
    assert [e.status for e in finished] == ["completed"] * 30
    assert sorted(e.output_data["y"] for e in finished) == sorted(2 * i for i in range(30))
