"""Writes of the executions app: start, cancel, pause and resume executions.

Status changes are conditional updates (`UPDATE ... WHERE status IN (...)`), so a late or
duplicate message can never overwrite a finished execution.
"""

import dramatiq
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from platform_site.api.errors import Conflict
from workflows.models import Workflow, WorkflowStatus

from . import events
from .graphs import compiled_graph, current_graph, input_errors
from .models import ACTIVE_STATUSES, Execution, ExecutionStatus, NodeRun, NodeRunStatus


def _run_message(execution: Execution):
    """The message that will run `execution`; its id is the execution's task id."""
    from .actors import run_execution

    message = run_execution.message(str(execution.id))
    execution.task_id = message.message_id
    return message


def _enqueue_on_commit(message) -> None:
    """Send once the rows the worker will read are committed (at once outside a transaction)."""
    transaction.on_commit(lambda: dramatiq.get_broker().enqueue(message))


def execution_create(*, owner, workflow: Workflow, input_data: dict) -> Execution:
    """Pin the workflow's current version, check the input and enqueue the run after commit."""
    if workflow.status == WorkflowStatus.ARCHIVED:
        raise Conflict("An archived workflow cannot be executed; activate it first.",
                       error_code="WORKFLOW_ARCHIVED")
    pinned = current_graph(workflow)  # 422 with the validation errors when invalid
    problems = input_errors(pinned.graph, input_data)
    if problems:
        raise ValidationError({"input_data": problems})
    execution = Execution(owner=owner, workflow=workflow, workflow_version_id=pinned.version_id,
                          input_data=input_data, enqueued_at=timezone.now())
    message = _run_message(execution)
    # One INSERT needs no transaction of its own; inside a caller's transaction the message
    # still waits for its commit.
    execution.save(force_insert=True)
    _enqueue_on_commit(message)
    return execution


def execution_run_sync(*, owner_id, workflow_id, input_data: dict) -> dict:
    """Run one of the owner's workflows in this thread and return its output (agent tools).

    The execution is recorded like any other, but it is not queued: a tool call waiting on the
    worker pool it runs in could wait for itself.
    """
    from .running import execution_run
    from .worker import current_worker_id

    workflow = Workflow.objects.filter(pk=workflow_id, owner_id=owner_id).first()
    if workflow is None:
        raise Workflow.DoesNotExist(f"No workflow {workflow_id} of this user.")
    owner = workflow.owner
    if workflow.status == WorkflowStatus.ARCHIVED:
        raise Conflict("An archived workflow cannot be executed; activate it first.",
                       error_code="WORKFLOW_ARCHIVED")
    pinned = current_graph(workflow)
    problems = input_errors(pinned.graph, input_data)
    if problems:
        raise ValidationError({"input_data": problems})
    execution = Execution.objects.create(owner=owner, workflow=workflow,
                                         workflow_version_id=pinned.version_id,
                                         input_data=input_data, enqueued_at=timezone.now())
    execution_run(execution_id=str(execution.pk), worker_id=current_worker_id())
    execution.refresh_from_db()
    return {"execution_id": str(execution.pk), "status": execution.status,
            "output": execution.output_data, "error": execution.error or None}


def _publish_status(execution_id, status: str, *, data: dict | None = None) -> None:
    """Publish a status change made outside a runner, with the next sequence number."""
    Execution.objects.filter(pk=execution_id).update(event_seq=F("event_seq") + 1)
    row = Execution.objects.only("status", "progress", "current_node", "event_seq",
                                 "output_data", "error", "execution_time").get(pk=execution_id)
    payload = {"status": row.status, "progress": row.progress,
               "current_node": row.current_node or None, **(data or {})}
    events.publish(execution_id, status if status in events.TERMINAL_EVENTS else "status",
                   payload, row.event_seq)


def execution_cancel(*, execution: Execution) -> Execution:
    """End a pending, running or waiting execution as `cancelled`."""
    now = timezone.now()
    with transaction.atomic():
        previous = (Execution.objects.select_for_update().only("status")
                    .get(pk=execution.pk).status)
        if previous not in ACTIVE_STATUSES:
            raise Conflict(f"The execution has already finished ({previous}).",
                           error_code="EXECUTION_FINISHED")
        Execution.objects.filter(pk=execution.pk).update(
            status=ExecutionStatus.CANCELLED, finished_at=now, control="",
            error="Cancelled by the user.",
        )
    if previous != ExecutionStatus.RUNNING:
        # A running execution's runner notices between nodes and announces it itself.
        transaction.on_commit(lambda: _publish_status(execution.pk, ExecutionStatus.CANCELLED))
    execution.refresh_from_db()
    return execution


def execution_pause(*, execution: Execution) -> Execution:
    """Ask a running execution to stop after the node in flight; a pending one waits at once."""
    if Execution.objects.filter(pk=execution.pk, status=ExecutionStatus.RUNNING).update(
            control="pause"):
        pass
    elif Execution.objects.filter(pk=execution.pk, status=ExecutionStatus.PENDING).update(
            status=ExecutionStatus.WAITING):
        _publish_status(execution.pk, ExecutionStatus.WAITING)
    else:
        execution.refresh_from_db(fields=["status"])
        raise Conflict(f"Only a pending or running execution can be paused ({execution.status}).",
                       error_code="EXECUTION_NOT_RUNNING")
    execution.refresh_from_db()
    return execution


def execution_resume(*, execution: Execution, by, node_id: str | None = None,
                     content=None) -> Execution:
    """Continue a waiting execution from its checkpoint, answering a waiting node if named."""
    with transaction.atomic():
        locked = Execution.objects.select_for_update().get(pk=execution.pk)
        if locked.status != ExecutionStatus.WAITING:
            raise Conflict(f"Only a waiting execution can be resumed ({locked.status}).",
                           error_code="EXECUTION_NOT_WAITING")
        waiting = NodeRun.objects.filter(execution=locked, status=NodeRunStatus.WAITING)
        if node_id is not None or waiting.exists():
            run = waiting.filter(node_id=node_id).first() if node_id else None
            if run is None:
                names = ", ".join(waiting.values_list("node_id", flat=True)) or "none"
                raise ValidationError({"node_id": [
                    f"Name the waiting node to answer (waiting: {names})."]})
            _answer_waiting_node(locked, run, content=content, by=by)
        locked.status = ExecutionStatus.PENDING
        locked.control = ""
        locked.enqueued_at = timezone.now()
        message = _run_message(locked)
        locked.save(update_fields=["status", "control", "enqueued_at", "task_id"])
        _enqueue_on_commit(message)
    transaction.on_commit(lambda: _publish_status(locked.pk, ExecutionStatus.PENDING))
    return locked


def _answer_waiting_node(execution: Execution, run: NodeRun, *, content, by) -> None:
    """Record the answer to a waiting node as its output; its node type shapes the answer."""
    from .graphs import resume_output

    compiled = compiled_graph(execution.workflow_version)
    output, handles = resume_output(compiled, run.node_id, content, by)
    now = timezone.now()
    run.status = NodeRunStatus.COMPLETED
    run.output = output
    run.handles = handles
    run.finished_at = now
    run.duration_ms = (now - run.started_at).total_seconds() * 1000 if run.started_at else None
    run.save(update_fields=["status", "output", "handles", "finished_at", "duration_ms"])
