"""A state machine of execution status changes racing each other.

Finish, cancel, pause, resume, the reaper and duplicate deliveries (claims by two workers) are
applied in every order hypothesis finds; a finished execution never changes again.
"""

import contextlib

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from executions import running, services
from executions.graphs import graph_of_version_id
from executions.models import TERMINAL_STATUSES, Execution
from executions.reaper import reap_stalled_executions
from platform_site.api.errors import APIError
from tests.factories import WorkflowFactory

WORKERS = ("worker-a", "worker-b")


class ExecutionStatusMachine(RuleBasedStateMachine):
    """One execution and two workers that may both believe they run it."""

    @initialize()
    def start(self):
        workflow = WorkflowFactory()
        self.execution = services.execution_create(owner=workflow.owner, workflow=workflow,
                                                   input_data={"x": 1})
        self.recorders = {}
        self.finished = None  # (status, finished_at) once terminal

    def row(self) -> Execution:
        return Execution.objects.get(pk=self.execution.pk)

    @rule(worker=st.sampled_from(WORKERS))
    def deliver(self, worker):
        """A (possibly duplicate) message reaches a worker, which tries to claim the run."""
        claimed = running.execution_claim(execution_id=str(self.execution.pk), worker_id=worker)
        running._release(str(self.execution.pk))  # the two workers are separate processes
        if claimed is not None:
            graph = graph_of_version_id(claimed.workflow_version_id)
            self.recorders[worker] = running.Recorder(claimed, worker, graph)

    @rule(worker=st.sampled_from(WORKERS), status=st.sampled_from(["completed", "failed"]))
    def finish(self, worker, status):
        recorder = self.recorders.get(worker)
        if recorder is not None:
            fields = {"finished_at": timezone.now()}
            fields.update(output_data={"y": 2} if status == "completed" else {},
                          error="" if status == "completed" else "boom")
            recorder._terminal(status, **fields)

    @rule()
    def worker_goes_silent(self):
        Execution.objects.filter(pk=self.execution.pk).update(
            heartbeat_at=timezone.now() - timezone.timedelta(hours=1))

    @rule()
    def reaper_runs(self):
        reap_stalled_executions()

    @rule()
    def cancel(self):
        with contextlib.suppress(APIError):
            services.execution_cancel(execution=self.row())

    @rule()
    def pause(self):
        with contextlib.suppress(APIError):
            services.execution_pause(execution=self.row())

    @rule()
    def resume(self):
        with contextlib.suppress(APIError):
            services.execution_resume(execution=self.row(), by=self.row().owner)

    @invariant()
    def a_finished_execution_never_changes(self):
        if not hasattr(self, "execution"):
            return
        row = self.row()
        if self.finished is not None:
            assert (row.status, row.finished_at) == self.finished
        elif row.status in TERMINAL_STATUSES:
            self.finished = (row.status, row.finished_at)


@pytest.mark.django_db
def test_status_changes_racing_each_other_never_regress_a_finished_run():
    ExecutionStatusMachine.TestCase.settings = settings(
        max_examples=60, stateful_step_count=25, deadline=None, derandomize=True,
        suppress_health_check=list(HealthCheck))
    ExecutionStatusMachine.TestCase().runTest()
