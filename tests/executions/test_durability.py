"""A run whose worker dies is picked up again and continues from its last completed node."""

import time

import pytest
from django.conf import settings
from django.utils import timezone

from executions import services
from executions.models import Execution, NodeRun
from tests.executions.test_running import wait_for
from tests.factories import WorkflowFactory, chain_graph, node
from tests.workers import WorkerProcess, start_worker

pytestmark = pytest.mark.django_db(transaction=True)

FAST_REAPER = {"EXECUTION_STALE_SECONDS": 2, "REAPER_EVERY_BEATS": 1}


def slow_workflow(record_path, ms=2500):
    return WorkflowFactory(**chain_graph(
        node("start", "start"),
        node("first", "test_record", path=str(record_path)),
        node("slow", "test_sleep", ms=ms),
        node("second", "test_record", path=str(record_path)),
        node("end", "end"),
    ))


def test_a_run_whose_worker_went_silent_is_taken_over_from_its_checkpoint(tmp_path):
    record = tmp_path / "ran.txt"
    workflow = slow_workflow(record, ms=50)
    execution = services.execution_create(owner=workflow.owner, workflow=workflow, input_data={})
    # As a worker that died after recording `start` and `first` would have left it.
    now = timezone.now()
    Execution.objects.filter(pk=execution.pk).update(
        status="running", worker_id="dead-host:1:feed", claims=1, started_at=now,
        heartbeat_at=now - timezone.timedelta(minutes=5), progress=40)
    for node_id, node_type in (("start", "start"), ("first", "test_record")):
        NodeRun.objects.create(execution=execution, node_id=node_id, node_type=node_type,
                               status="completed", output={}, attempts=1, started_at=now)
    worker = start_worker(**FAST_REAPER)
    try:
        final = wait_for(execution.pk, timeout=30)
    finally:
        worker.stop()
    assert final.status == "completed", final.error
    assert record.read_text().split() == ["second"]  # `first` was not run again
    assert NodeRun.objects.filter(execution=final).count() == 5


@pytest.mark.skipif(settings.EMBEDDED_WORKER, reason="needs separate worker processes")
def test_a_worker_killed_mid_node_loses_nothing_and_repeats_nothing(tmp_path):
    record = tmp_path / "ran.txt"
    workflow = slow_workflow(record, ms=3000)
    first_worker = WorkerProcess(**FAST_REAPER)
    first_worker.wait_until_beating()
    execution = services.execution_create(owner=workflow.owner, workflow=workflow, input_data={})
    deadline = time.monotonic() + 20
    while not NodeRun.objects.filter(execution_id=execution.pk, node_id="first").exists():
        assert time.monotonic() < deadline, "the first node never finished"
        time.sleep(0.05)
    time.sleep(0.3)  # now inside the slow node
    first_worker.kill()
    assert Execution.objects.get(pk=execution.pk).status == "running"

    second_worker = WorkerProcess(**FAST_REAPER)
    try:
        final = wait_for(execution.pk, timeout=60)
    finally:
        second_worker.stop()
        first_worker.stop()
    assert final.status == "completed", final.error
    assert final.claims == 2
    assert record.read_text().split() == ["first", "second"]
    counts = {n: NodeRun.objects.filter(execution=final, node_id=n).count()
              for n in ("start", "first", "slow", "second", "end")}
    assert counts == dict.fromkeys(counts, 1)


