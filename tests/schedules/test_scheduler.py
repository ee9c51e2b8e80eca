"""The scheduler: each due run fires exactly once, whatever number of schedulers run."""

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from executions.models import Execution
from tests.factories import ScheduleFactory, WorkflowFactory
from tests.workers import ROOT
from workflows.models import Schedule
from workflows.schedules import schedules_fire_due


def runs_of(schedule) -> int:
    return Execution.objects.filter(trigger="schedule", trigger_ref=schedule.pk).count()


@pytest.mark.django_db
def test_a_due_schedule_fires_once_and_plans_its_next_run(user):
    schedule = ScheduleFactory(owner=user, cron="*/5 * * * *")
    planned = schedule.next_run_at
    assert schedules_fire_due(now=planned - timedelta(seconds=1)) == 0
    assert schedules_fire_due(now=planned) == 1
    assert schedules_fire_due(now=planned) == 0
    schedule.refresh_from_db()
    assert runs_of(schedule) == 1
    assert schedule.last_run_at == planned
    assert schedule.next_run_at == planned + timedelta(minutes=5)


@pytest.mark.django_db
def test_runs_missed_while_no_scheduler_ran_fire_once(user):
    schedule = ScheduleFactory(owner=user, cron="*/5 * * * *")
    late = schedule.next_run_at + timedelta(hours=3, minutes=2)
    assert schedules_fire_due(now=late) == 1
    schedule.refresh_from_db()
    assert runs_of(schedule) == 1
    assert schedule.next_run_at == late.replace(second=0, microsecond=0) + timedelta(minutes=3)


@pytest.mark.django_db
def test_disabled_schedules_never_fire(user):
    schedule = ScheduleFactory(owner=user, enabled=False)
    assert schedules_fire_due(now=timezone.now() + timedelta(days=30)) == 0
    assert runs_of(schedule) == 0


@pytest.mark.django_db
def test_a_run_that_cannot_start_is_recorded_and_the_schedule_moves_on(user):
    workflow = WorkflowFactory(owner=user, status="archived")
    schedule = ScheduleFactory(owner=user, workflow=workflow)
    planned = schedule.next_run_at
    assert schedules_fire_due(now=planned) == 1
    schedule.refresh_from_db()
    assert runs_of(schedule) == 0
    assert "archived" in schedule.last_error
    assert schedule.next_run_at > planned


def _database_url() -> str:
    params = connection.settings_dict
    if params["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{params['NAME']}"
    from tests.workers import test_database_url

    return test_database_url()


def _scheduler(now: str) -> subprocess.Popen:
    import os

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "platform_site.settings.test",
           "DATABASE_URL": _database_url()}
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_scheduler", "--once", "--now", now],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.django_db(transaction=True)
def test_two_scheduler_processes_fire_a_due_schedule_exactly_once(user):
    schedules = [ScheduleFactory(owner=user, cron="*/5 * * * *") for _ in range(5)]
    now = max(s.next_run_at for s in schedules).isoformat()
    processes = [_scheduler(now) for _ in range(2)]
    outputs = [process.communicate(timeout=60) for process in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    fired = sorted(int(out.split()[-1]) for out, _ in outputs)
    assert sum(fired) == 5, outputs
    for schedule in schedules:
        assert runs_of(schedule) == 1
        assert Schedule.objects.get(pk=schedule.pk).next_run_at > schedule.next_run_at


@pytest.mark.django_db(transaction=True)
def test_concurrent_schedulers_in_threads_fire_each_run_once(user):
    schedules = [ScheduleFactory(owner=user) for _ in range(10)]
    now = max(s.next_run_at for s in schedules)

    def fire() -> int:
        try:
            return schedules_fire_due(now=now)
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        fired = list(pool.map(lambda _: fire(), range(4)))
    assert sum(fired) == 10
    assert all(runs_of(schedule) == 1 for schedule in schedules)


@pytest.mark.django_db(transaction=True)
def test_a_worker_fires_due_schedules_from_its_heartbeat(running_worker, user):
    schedule = ScheduleFactory(owner=user)
    Schedule.objects.filter(pk=schedule.pk).update(
        next_run_at=timezone.now() - timedelta(seconds=1))
    import time

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not runs_of(schedule):
        time.sleep(0.1)
    execution = Execution.objects.get(trigger_ref=schedule.pk)
    while time.monotonic() < deadline and execution.status != "completed":
        time.sleep(0.05)
        execution.refresh_from_db()
    assert execution.status == "completed" and execution.output_data == {"y": 2}
    assert runs_of(schedule) == 1
