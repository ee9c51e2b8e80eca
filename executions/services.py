"""Writes of the executions app: start, cancel, pause and resume executions.

Status changes are conditional updates (`UPDATE ... WHERE status IN (...)`), so a late or
duplicate message can never overwrite a finished execution.
"""

import dramatiq
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from platform_site.api.errors import Conflict, TooManyExecutions
from workflows.models import Workflow, WorkflowStatus

from . import events
from .graphs import compiled_graph, current_graph, input_errors
from .models import (
    ACTIVE_STATUSES,
    Execution,
    ExecutionLog,
    ExecutionStatus,
    ExecutionTrigger,
    NodeRun,
    NodeRunStatus,
)


def _run_message(execution: Execution):
    """The message that will run `execution`; its id is the execution's task id."""
    from .actors import run_execution

    message = run_execution.message(str(execution.id))
    if execution.server_id is not None:
        from .servers import server_queue

        # A compute server's runs go to its own queue, which only its workers consume.
        message = message.copy(queue_name=server_queue(execution.server.name))
    execution.task_id = message.message_id
    return message


def _enqueue_on_commit(message) -> None:
    """Send once the rows the worker will read are committed (at once outside a transaction)."""
    transaction.on_commit(lambda: dramatiq.get_broker().enqueue(message))


def _refuse_past_active_limit(owner) -> None:
    limit = settings.MAX_ACTIVE_EXECUTIONS_PER_USER
    if Execution.objects.filter(owner=owner, status__in=ACTIVE_STATUSES).count() >= limit:
        raise TooManyExecutions(
            f"You have {limit} executions pending, running or waiting; wait for some to "
            "finish or cancel them.")


def execution_create(*, owner, workflow: Workflow, input_data: dict, server=None,
                     trigger: str = ExecutionTrigger.MANUAL, trigger_ref=None) -> Execution:
    """Pin the workflow's current version, check the input and enqueue the run after commit.

    `server` (a ComputeServer) sends the run to that server's worker pool; `trigger` and
    `trigger_ref` record what started it (a webhook, schedule or batch by id).
    """
    if workflow.status == WorkflowStatus.ARCHIVED:
        raise Conflict("An archived workflow cannot be executed; activate it first.",
                       error_code="WORKFLOW_ARCHIVED")
    pinned = current_graph(workflow)  # 422 with the validation errors when invalid
    _refuse_past_active_limit(owner)
    problems = input_errors(pinned.graph, input_data)
    if problems:
        raise ValidationError({"input_data": problems})
    execution = Execution(owner=owner, workflow=workflow, workflow_version_id=pinned.version_id,
                          input_data=input_data, enqueued_at=timezone.now(), server=server,
                          trigger=trigger, trigger_ref=trigger_ref)
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
            failure = _answer_waiting_node(locked, run, content=content, by=by)
            if failure is not None:
                return _fail_answered(locked, run.node_id, failure)
        locked.status = ExecutionStatus.PENDING
        locked.control = ""
        locked.enqueued_at = timezone.now()
        message = _run_message(locked)
        locked.save(update_fields=["status", "control", "enqueued_at", "task_id"])
        _enqueue_on_commit(message)
    transaction.on_commit(lambda: _publish_status(locked.pk, ExecutionStatus.PENDING))
    return locked


def _answer_waiting_node(execution: Execution, run: NodeRun, *, content, by) -> str | None:
    """Record the answer to a waiting node as its output; its node type shapes the answer.

    Returns the error when the answer fails the node and the node's policy fails the run
    (a rejected approval); with on_error "continue"/"branch" the failed node is recorded and
    the run goes on from its checkpoint.
    """
    from workflows.engine import NodeError

    from .graphs import resume_output

    compiled = compiled_graph(execution.workflow_version)
    on_error = compiled.nodes[run.node_id].policy.on_error
    error = ""
    try:
        output, handles = resume_output(compiled, run.node_id, content, by)
    except NodeError as exc:
        error = str(exc)
        output, handles = {"error": error}, (["error"] if on_error == "branch" else None)
    now = timezone.now()
    run.status = NodeRunStatus.FAILED if error else NodeRunStatus.COMPLETED
    run.output = output
    run.handles = handles
    run.error = error
    run.finished_at = now
    run.duration_ms = (now - run.started_at).total_seconds() * 1000 if run.started_at else None
    run.save(update_fields=["status", "output", "handles", "error", "finished_at",
                            "duration_ms"])
    return error if error and on_error == "fail" else None


def _fail_answered(execution: Execution, node_id: str, error: str) -> Execution:
    """End a waiting execution as failed because the answer to its waiting node failed it."""
    now = timezone.now()
    execution.status = ExecutionStatus.FAILED
    execution.error = f"Node '{node_id}': {error}"[:10_000]
    execution.finished_at = now
    execution.control = ""
    if execution.started_at:
        execution.execution_time = int((now - execution.started_at).total_seconds() * 1000)
    execution.save(update_fields=["status", "error", "finished_at", "control",
                                  "execution_time"])
    node_type = NodeRun.objects.filter(execution=execution, node_id=node_id).values_list(
        "node_type", flat=True).first() or ""
    ExecutionLog.objects.create(execution=execution, node_id=node_id, node_type=node_type,
                                level="error", message=error, timestamp=now)
    data = {"output_data": None, "error": execution.error,
            "execution_time": execution.execution_time}
    transaction.on_commit(
        lambda: _publish_status(execution.pk, ExecutionStatus.FAILED, data=data))
    return execution
