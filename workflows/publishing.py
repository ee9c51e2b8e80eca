"""Published workflows as an API: OpenAI-shaped chat completions, interruptions and resume.

`POST /chat/completions` runs one of the caller's published workflows with `parameters` as its
input and answers when the run ends (JSON), or streams its progress as OpenAI chunks (SSE). A run
that reaches a node waiting for an answer (approval, question) is interrupted: the answer names
the waiting node run as `event_id`, and `POST /resume` answers it and follows the run again.
"""

import json
import time
from collections.abc import Iterator

from django.db import transaction
from rest_framework.exceptions import NotFound

from executions.following import End, ExecutionFollower
from executions.models import (
    Execution,
    ExecutionStatus,
    ExecutionTrigger,
    NodeRun,
    NodeRunStatus,
)
from executions.services import execution_cancel, execution_create, execution_resume
from platform_site.api.errors import APIError, Conflict
from platform_site.api.viewsets import visible_to

from .models import Workflow, WorkflowStatus

EVENT_TYPE_INTERRUPT = "interrupt"
# What `resume` may do with an interrupted run.
RESUME_ANSWER, RESUME_IGNORE, RESUME_ABORT = "resume", "ignore", "abort"
# Where the answer's text is looked for in the run's output, in this order.
CONTENT_KEYS = ("content", "text", "answer", "output", "result", "message")
FINISH_REASONS = {
    ExecutionStatus.COMPLETED: "stop",
    ExecutionStatus.FAILED: "error",
    ExecutionStatus.CANCELLED: "cancelled",
}
KEEPALIVE = b": keep-alive\n\n"
DONE = b"data: [DONE]\n\n"


class EventNotFound(APIError):
    status_code = 404
    default_detail = "No interrupted run has this event id."
    error_code = "EVENT_NOT_FOUND"


def _workflows_of(user, *, by_key: bool):
    # A key reaches only its owner's workflows; a person signed in reaches what they may see.
    return Workflow.objects.filter(owner=user) if by_key \
        else visible_to(Workflow.objects.all(), user)


def published_workflow(*, user, flow_id, by_key: bool) -> Workflow:
    """The caller's workflow `flow_id`: 404 when missing or foreign, 409 unless published."""
    workflow = _workflows_of(user, by_key=by_key).filter(pk=flow_id).first()
    if workflow is None:
        raise NotFound("Workflow not found.")
    if workflow.status != WorkflowStatus.PUBLISHED:
        raise Conflict(f"The workflow is {workflow.status}: publish it to call it through the API.",
                       error_code="WORKFLOW_NOT_PUBLISHED")
    return workflow


def completion_start(*, user, workflow: Workflow, parameters: dict, chat_id: str | None = None,
                     history: list | None = None) -> tuple[Execution, ExecutionFollower]:
    """Start a run of a published workflow with `parameters` (+ chat_id, history) as input.

    Returns the execution and a follower subscribed before the run's message was sent.
    """
    input_data = dict(parameters)
    if chat_id is not None:
        input_data["chat_id"] = chat_id
    if history is not None:
        input_data["history"] = history
    with transaction.atomic():  # the message goes on commit, after the subscription
        execution = execution_create(owner=user, workflow=workflow, input_data=input_data,
                                     trigger=ExecutionTrigger.API)
        return execution, ExecutionFollower(execution.pk)


def interrupted_execution(*, user, event_id, by_key: bool) -> tuple[Execution, NodeRun]:
    """The waiting node run `event_id` of one of the caller's runs, and its execution."""
    run = (NodeRun.objects.select_related("execution", "execution__workflow")
           .filter(pk=event_id).first())
    executions = visible_to(Execution.objects.all(), user) if not by_key \
        else Execution.objects.filter(owner=user)
    if run is None or not executions.filter(pk=run.execution_id).exists():
        raise EventNotFound()
    if by_key and run.execution.workflow.status != WorkflowStatus.PUBLISHED:
        raise Conflict("The workflow is no longer published.", error_code="WORKFLOW_NOT_PUBLISHED")
    if run.status != NodeRunStatus.WAITING or run.execution.status != ExecutionStatus.WAITING:
        raise Conflict("This event is not waiting for an answer: it was answered already, or "
                       "the run has ended.", error_code="EVENT_NOT_WAITING")
    return run.execution, run


def completion_resume(*, user, event_id, event_type: str, content, by_key: bool
                      ) -> tuple[Execution, ExecutionFollower]:
    """Answer (or abort) an interrupted run; returns it and a follower of what comes next."""
    execution, run = interrupted_execution(user=user, event_id=event_id, by_key=by_key)
    known = set(NodeRun.objects.filter(execution=execution).values_list("node_id", flat=True))
    with transaction.atomic():  # the message goes on commit, after the subscription
        if event_type == RESUME_ABORT:
            execution = execution_cancel(execution=execution)
        else:
            answer = None if event_type == RESUME_IGNORE else content
            execution = execution_resume(execution=execution, by=user, node_id=run.node_id,
                                         content=answer)
        return execution, ExecutionFollower(execution.pk, known_nodes=known)


def interrupt_of(execution: Execution) -> dict | None:
    """The event a waiting run asks an answer to, or None (e.g. a paused run)."""
    run = (NodeRun.objects.filter(execution_id=execution.pk, status=NodeRunStatus.WAITING)
           .order_by("started_at").first())
    if run is None:
        return None
    data = run.output if isinstance(run.output, dict) else {}
    message = data.get("message") or data.get("question") or "The run waits for an answer."
    return {"event_id": str(run.id), "event_type": EVENT_TYPE_INTERRUPT,
            "node_id": run.node_id, "node_type": run.node_type, "message": str(message),
            "data": data}


def output_text(output) -> str:
    """The answer's text: a text field of the output, else the output as JSON."""
    if output is None:
        return ""
    if isinstance(output, str):
        return output
    if isinstance(output, dict):
        for key in CONTENT_KEYS:
            if isinstance(output.get(key), str):
                return output[key]
        if len(output) == 1 and isinstance(next(iter(output.values())), str):
            return next(iter(output.values()))
    return json.dumps(output, ensure_ascii=False, default=str)


def _outcome(end: End) -> tuple[str, str | None, dict | None]:
    """The text, finish reason and interrupt of how a run stands."""
    row = end.execution
    if end.timed_out:
        return "", None, None
    if row.status == ExecutionStatus.WAITING:
        interrupt = interrupt_of(row)
        return (interrupt["message"] if interrupt else ""), \
            ("interrupt" if interrupt else None), interrupt
    text = output_text(row.output_data) if row.status == ExecutionStatus.COMPLETED else ""
    return text, FINISH_REASONS.get(row.status), None


def completion_body(end: End) -> dict:
    """The JSON answer (OpenAI's chat.completion shape) for how a run stands."""
    row = end.execution
    text, finish_reason, interrupt = _outcome(end)
    return {
        "id": str(row.pk),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(row.workflow_id),
        "execution_id": str(row.pk),
        "status": row.status,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "finish_reason": finish_reason}],
        "output": row.output_data,
        "error": row.error or None,
        "interrupt": interrupt,
        "timed_out": end.timed_out,
    }


class _Chunks:
    """Frames of one streamed completion in OpenAI's chat.completion.chunk shape."""

    def __init__(self, execution: Execution) -> None:
        self.id = str(execution.pk)
        self.model = str(execution.workflow_id)
        self.created = int(time.time())

    def frame(self, *, delta: dict | None = None, finish_reason: str | None = None,
              conflux: dict | None = None) -> bytes:
        payload = {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                   "model": self.model, "execution_id": self.id,
                   "choices": [{"index": 0, "delta": delta or {},
                                "finish_reason": finish_reason}]}
        if conflux is not None:
            payload["conflux"] = conflux
        return f"data: {json.dumps(payload, ensure_ascii=False, default=str)}\n\n".encode()


def completion_stream(*, execution: Execution, follower: ExecutionFollower, timeout: float
                      ) -> Iterator[bytes]:
    """SSE frames: a start, one chunk per progress step, the answer, the end, `[DONE]`."""
    chunks = _Chunks(execution)
    end = None
    try:
        yield chunks.frame(delta={"role": "assistant", "content": ""},
                           conflux={"event": "started", "execution_id": chunks.id,
                                    "status": execution.status})
        for item in follower.events(timeout=timeout):
            if isinstance(item, End):
                end = item
                break
            if item["type"] == "idle":
                yield KEEPALIVE
                continue
            yield chunks.frame(conflux={"event": item["type"], **item["data"]})
    finally:
        follower.close()
    if end is None:  # pragma: no cover - following always ends with an End
        return
    row = end.execution
    text, finish_reason, interrupt = _outcome(end)
    if text:
        yield chunks.frame(delta={"content": text})
    if end.timed_out:
        ending = {"event": "timeout", "status": row.status}
    elif interrupt is not None:
        ending = {"event": "interrupt", **interrupt}
    elif row.status == ExecutionStatus.WAITING:
        ending = {"event": "waiting", "status": row.status}
    else:
        ending = {"event": row.status, "status": row.status, "output": row.output_data,
                  "error": row.error or None, "execution_time": row.execution_time}
    yield chunks.frame(finish_reason=finish_reason,
                       conflux={**ending, "execution_id": chunks.id})
    yield DONE
