"""Faults survived against the real services: workers killed, PostgreSQL and Redis restarted.

Every execution ends `completed` within a bounded time, none is stuck in `running`, no node is
recorded twice, and no accepted execution is lost. These tests stop shared services, so they
run on their own (`-m faults`, no parallel workers) in the PostgreSQL + Redis pass.
"""

import asyncio
import random
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.db.models import Count
from rest_framework_simplejwt.tokens import AccessToken

from executions import services
from executions.models import Execution, NodeRun
from tests.executions.test_websocket import connect
from tests.factories import WorkflowFactory, chain_graph, node
from tests.workers import WorkerProcess

pytestmark = [
    pytest.mark.faults,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(settings.EMBEDDED_WORKER, reason="needs worker processes and services"),
]

FAST_TAKEOVER = {"EXECUTION_STALE_SECONDS": 2, "REAPER_EVERY_BEATS": 1}
NODES = ("start", "first", "pause-1", "second", "pause-2", "third", "end")


def fault_workflow(record_dir: Path):
    return WorkflowFactory(**chain_graph(
        node("start", "start"),
        node("first", "test_record", path=str(record_dir / "first.txt")),
        node("pause-1", "test_sleep", ms=300),
        node("second", "test_record", path=str(record_dir / "second.txt")),
        node("pause-2", "test_sleep", ms=300),
        node("third", "test_record", path=str(record_dir / "third.txt")),
        node("end", "end"),
    ))


def start_many(workflow, count: int) -> list:
    return [services.execution_create(owner=workflow.owner, workflow=workflow,
                                      input_data={"n": i}).pk for i in range(count)]


def wait_all_finished(ids, timeout: float) -> list[Execution]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            rows = list(Execution.objects.filter(pk__in=ids))
        except Exception:  # the database may still be coming back
            connections.close_all()
            time.sleep(0.5)
            continue
        if all(row.status in ("completed", "failed", "cancelled") for row in rows):
            return rows
        time.sleep(0.2)
    stuck = Execution.objects.filter(pk__in=ids).exclude(status="completed")
    raise AssertionError(f"not finished in {timeout} s: "
                         f"{list(stuck.values_list('status', 'error'))}")


def assert_nothing_lost_or_repeated(ids, rows) -> None:
    assert len(rows) == len(ids), "an accepted execution was lost"
    assert {row.status for row in rows} == {"completed"}, [
        (r.status, r.error) for r in rows if r.status != "completed"]
    counts = NodeRun.objects.filter(execution_id__in=ids).values("execution_id", "node_id") \
        .annotate(n=Count("id"))
    assert all(row["n"] == 1 for row in counts)
    assert counts.count() == len(ids) * len(NODES)


def test_a_worker_killed_at_twenty_random_points_loses_and_repeats_nothing(tmp_path):
    chooser = random.Random(20261122)
    workflow = fault_workflow(tmp_path)
    worker = WorkerProcess(threads=4, **FAST_TAKEOVER)
    worker.wait_until_beating()
    ids = start_many(workflow, 12)
    kills = 0
    try:
        while kills < 20:
            time.sleep(chooser.uniform(0.1, 0.7))
            worker.kill()
            kills += 1
            worker.stop()
            worker = WorkerProcess(threads=4, **FAST_TAKEOVER)
        rows = wait_all_finished(ids, timeout=120)
    finally:
        worker.stop()
    assert kills == 20
    assert_nothing_lost_or_repeated(ids, rows)
    for name in ("first", "second", "third"):
        # Each side effect happened for every execution; only a kill inside the node itself
        # (after its effect, before its record) may repeat it.
        lines = (tmp_path / f"{name}.txt").read_text().split()
        assert len(lines) >= len(ids)


def _restart_postgresql() -> None:
    version = next(Path("/etc/postgresql").iterdir()).name
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
                   check=True, capture_output=True, timeout=120)


@pytest.mark.skipif(not shutil.which("pg_ctlcluster"), reason="needs pg_ctlcluster")
def test_postgresql_restarted_while_executions_run(tmp_path):
    workflow = fault_workflow(tmp_path)
    worker = WorkerProcess(threads=4, **FAST_TAKEOVER)
    worker.wait_until_beating()
    ids = start_many(workflow, 10)
    try:
        time.sleep(0.8)
        connections.close_all()
        _restart_postgresql()
        rows = wait_all_finished(ids, timeout=120)
    finally:
        worker.stop()
    assert_nothing_lost_or_repeated(ids, rows)


def _restart_redis() -> None:
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"],
                   capture_output=True, timeout=30)
    subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port",
                    "6379", "--save", "", "--appendonly", "no"], check=True, timeout=30)
    for _ in range(100):
        if subprocess.run(["redis-cli", "-h", "127.0.0.1", "ping"], capture_output=True,
                          text=True).stdout.strip() == "PONG":
            return
        time.sleep(0.1)
    raise RuntimeError("Redis did not come back")


@pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")
async def test_redis_restarted_while_executions_run_and_websockets_listen(tmp_path):
    workflow = await sync_to_async(fault_workflow)(tmp_path)
    worker = await sync_to_async(WorkerProcess)(threads=4, **FAST_TAKEOVER)
    await sync_to_async(worker.wait_until_beating)()
    ids = await sync_to_async(start_many)(workflow, 10)
    token = str(AccessToken.for_user(workflow.owner))
    sockets = [(await connect(ids[i], token))[0] for i in range(3)]
    try:
        await asyncio.sleep(0.6)
        await sync_to_async(_restart_redis)()
        rows = await sync_to_async(wait_all_finished)(ids, 120)
        # A subscriber either saw the end, or reconnecting shows it: nothing is left hanging.
        for execution_id in ids[:3]:
            again, _ = await connect(execution_id, token)
            snapshot = await again.receive_json_from(timeout=10)
            assert snapshot["data"]["status"] == "completed"
            await again.disconnect()
    finally:
        for socket in sockets:
            await socket.disconnect()
        await sync_to_async(worker.stop)()
    await sync_to_async(assert_nothing_lost_or_repeated)(ids, rows)
