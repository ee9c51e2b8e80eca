"""Runs sent to a compute server go to its own queue, served by its worker pool only.

PostgreSQL + Redis: the pool is a `rundramatiq --queues executions.<name>` process and no
default worker runs. Embedded default: the in-process worker consumes every server's queue too
(one process is the whole platform), so the same runs complete there.
"""

import os
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings

from executions.models import Batch, Execution, WorkerHeartbeat
from tests import workers
from tests.factories import ComputeServerFactory, WorkflowFactory, chain_graph, node

pytestmark = pytest.mark.django_db(transaction=True)


class ServerWorkerProcess(workers.WorkerProcess):
    """A `rundramatiq` process that consumes one compute server's queue and nothing else."""

    def __init__(self, queue: str) -> None:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "platform_site.settings.test",
               "DATABASE_URL": workers.test_database_url(), "PYTHONUNBUFFERED": "1"}
        name = f"server-worker-{os.getpid()}-{time.monotonic_ns()}.log"
        self.log_path = workers.ROOT / "var" / name
        self._log = open(self.log_path, "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "4",
             "--skip-logging", "--queues", queue],
            cwd=workers.ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)


@pytest.fixture
def pool(user):
    """An online server of `user` and a worker serving it."""
    server = ComputeServerFactory(owner=user, name=f"pool-{uuid.uuid4().hex[:8]}",
                                  batch_size=3)
    if settings.EMBEDDED_WORKER:
        worker = workers.start_worker()
    else:
        worker = ServerWorkerProcess(server.queue_name)
        worker.wait_until_beating()
    yield server
    worker.stop()


def wait_until(check, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def slow_workflow(owner):
    return WorkflowFactory(owner=owner, **chain_graph(
        node("start", "start"), node("nap", "test_sleep", ms=100),
        node("double", "transform", mapping={"y": "input.x * 2"}), node("end", "end")))


def test_a_batch_sent_to_a_server_runs_on_its_pool_within_its_batch_size(pool, auth_client):
    workflow = slow_workflow(auth_client.user)
    response = auth_client.post("/api/v1/batch", {
        "workflow_id": str(workflow.id), "inputs": [{"x": i} for i in range(12)],
        "concurrency": 10, "server_id": str(pool.id)}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["server_name"] == pool.name
    busy = auth_client.get(f"/api/v1/servers/{pool.id}").json()
    assert busy["status"] == "busy" and busy["current_task_id"] == response.json()["id"]
    batch_id = response.json()["id"]
    wait_until(lambda: Batch.objects.get(pk=batch_id).status == "completed")
    batch = Batch.objects.get(pk=batch_id)
    assert batch.completed_count == 12
    runs = Execution.objects.filter(trigger_ref=batch_id)
    assert {run.server_id for run in runs} == {pool.id}
    assert sorted(run.output_data["y"] for run in runs) == [2 * i for i in range(12)]
    # Who ran them: a worker whose heartbeat lists the server's queue.
    workers = {run.worker_id for run in runs}
    beats = WorkerHeartbeat.objects.filter(worker_id__in=workers)
    assert beats.count() == len(workers)
    if not settings.EMBEDDED_WORKER:
        assert all(beat.queues == [pool.queue_name] for beat in beats)
    freed = auth_client.get(f"/api/v1/servers/{pool.id}").json()
    assert freed["status"] == "online" and freed["current_task_id"] is None


def test_an_execution_sent_to_a_server_runs_there_and_others_do_not(pool, auth_client):
    workflow = slow_workflow(auth_client.user)
    on_pool = auth_client.post(f"/api/v1/workflows/{workflow.id}/execute",
                               {"input_data": {"x": 4}, "server_id": str(pool.id)},
                               format="json")
    assert on_pool.status_code == 201, on_pool.content
    elsewhere = auth_client.post(f"/api/v1/workflows/{workflow.id}/execute",
                                 {"input_data": {"x": 5}}, format="json")
    execution_id = on_pool.json()["id"]
    wait_until(lambda: Execution.objects.get(pk=execution_id).status == "completed")
    assert Execution.objects.get(pk=execution_id).output_data == {"y": 8}
    if not settings.EMBEDDED_WORKER:
        time.sleep(1.0)  # the pool's worker never takes a run of the default queue
        assert Execution.objects.get(pk=elsewhere.json()["id"]).status == "pending"


def test_the_pools_health_comes_from_its_worker(pool, auth_client):
    def healthy():
        return auth_client.get(f"/api/v1/servers/{pool.id}/health").json()["status"] == \
            "healthy"

    wait_until(healthy, timeout=15)
    body = auth_client.get(f"/api/v1/servers/{pool.id}/health").json()
    assert body["workers"] >= 1 and body["queue"] == pool.queue_name
