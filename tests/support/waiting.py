"""Waiting for an execution that a worker runs to reach a status."""

import time

from executions.models import Execution

FINISHED = ("completed", "failed", "cancelled")


def wait_for(execution_id, statuses=FINISHED, timeout: float = 30.0) -> Execution:
    """The execution once its status is one of `statuses`; fails the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        execution = Execution.objects.get(pk=execution_id)
        if execution.status in statuses:
            return execution
        if time.monotonic() > deadline:
            raise AssertionError(f"execution stayed {execution.status} for {timeout} s")
        time.sleep(0.02)
