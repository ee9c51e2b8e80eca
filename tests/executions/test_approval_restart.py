"""A pending approval survives a restart of every process: the NodeRun row is all it needs."""


import pytest
from django.conf import settings

from executions import graphs, services
from executions.models import Execution, NodeRun
from tests.factories import WorkflowFactory, edge, node
from tests.support.waiting import wait_for
from tests.workers import start_worker

pytestmark = pytest.mark.django_db(transaction=True)




def test_approve_after_the_worker_was_replaced_and_the_run_completes():
    workflow = WorkflowFactory(
        nodes=[node("start", "start"), node("approve", "approval", message="Ship {input.v}?"),
               node("ship", "output", mapping={"shipped": "input.v", "by": "approve.by"})],
        edges=[edge("start", "approve"), edge("approve", "ship", "approved")])
    first = start_worker()
    try:
        execution = services.execution_create(owner=workflow.owner, workflow=workflow,
                                              input_data={"v": 7})
        wait_for(execution.id, ("waiting",))
    finally:
        # A worker process dies as a crashing machine would; the in-process one stops.
        first.kill() if not settings.EMBEDDED_WORKER else first.stop()
    # Nothing of the run is left in memory: not even the compiled graph cache.
    graphs._by_version.clear()
    graphs._by_number.clear()
    assert NodeRun.objects.get(execution=execution, node_id="approve").status == "waiting"

    second = start_worker()
    try:
        services.execution_resume(execution=Execution.objects.get(pk=execution.id),
                                  by=workflow.owner, node_id="approve",
                                  content={"approved": True, "comment": "go"})
        final = wait_for(execution.id, ("completed", "failed"))
    finally:
        second.stop()
    assert final.status == "completed", final.error
    assert final.output_data == {"shipped": 7, "by": workflow.owner.username}
    assert NodeRun.objects.filter(execution=execution, node_id="approve").count() == 1
