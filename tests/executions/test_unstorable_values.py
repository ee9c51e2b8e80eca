"""Runs whose nodes produce what PostgreSQL cannot store, or whose last write fails.

Nodes pass on what remote servers, models and files answer. A NUL character in it is stored as
U+FFFD (the replacement character), as undecodable bytes are; NaN or infinite numbers become
null. Should the final write of a run still fail on its data, the run ends failed with a reason
instead of being retried into the same failure while it shows `running`.
"""

import pytest
from django.db import DataError

from executions import services
from executions.models import ExecutionLog, NodeRun
from executions.running import Recorder, execution_run
from tests.factories import WorkflowFactory, chain_graph, node
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

REPLACED = "\N{REPLACEMENT CHARACTER}"


def start(*nodes):
    workflow = WorkflowFactory(**chain_graph(node("start", "start"), *nodes, node("end", "end")))
    return services.execution_create(owner=workflow.owner, workflow=workflow, input_data={})


def test_a_node_output_holding_nul_is_stored_with_replacement_characters(running_worker):
    execution = wait_for(start(node("remote", "test_nul")).id)
    assert execution.status == "completed", execution.error
    expected = {"text": f"a{REPLACED}b", "nested": [{f"k{REPLACED}": REPLACED}],
                "escaped": "\\u0000"}
    assert NodeRun.objects.get(execution=execution, node_id="remote").output == expected
    assert execution.output_data == expected


def test_a_log_line_holding_nul_is_stored_with_replacement_characters(running_worker):
    execution = wait_for(start(node("remote", "test_nul")).id)
    line = ExecutionLog.objects.get(execution=execution, node_id="remote", level="info",
                                    message__startswith="read")
    assert line.message == f"read a{REPLACED}b"
    assert line.data == {"raw": f"c{REPLACED}d"}


def test_an_error_holding_nul_fails_the_run_with_that_reason(running_worker):
    execution = wait_for(start(node("remote", "test_nul", fail=True)).id)
    assert execution.status == "failed"
    assert f"the remote end said e{REPLACED}f" in execution.error
    failed = NodeRun.objects.get(execution=execution, node_id="remote")
    assert failed.error == f"the remote end said e{REPLACED}f"


def test_infinite_numbers_are_stored_as_null_with_a_warning(running_worker):
    execution = wait_for(start(node("calc", "transform", mapping={"v": "1e308 * 10"})).id)
    assert execution.status == "completed", execution.error
    assert execution.output_data == {"v": None}
    assert NodeRun.objects.get(execution=execution, node_id="calc").output == {"v": None}
    assert ExecutionLog.objects.filter(execution=execution, node_id="calc", level="warn",
                                       message__contains="infinite").exists()


def test_a_run_whose_final_write_fails_on_its_data_ends_failed_with_a_reason(monkeypatch):
    flush = Recorder.flush

    def refuse_the_output(self, **final_fields):
        if "output_data" in final_fields:
            raise DataError("value out of range")
        return flush(self, **final_fields)

    monkeypatch.setattr(Recorder, "flush", refuse_the_output)
    execution = start(node("calc", "transform", mapping={"v": "1"}))
    assert execution_run(execution_id=str(execution.pk), worker_id="test-worker") == "failed"
    execution.refresh_from_db()
    assert execution.status == "failed"
    assert execution.error == "Internal error: DataError"
    assert execution.finished_at is not None
