"""Running an execution inside a worker: claim it, run the engine, record and broadcast.

The engine reports through `Recorder`. Records of pure nodes (transform, condition, output...)
are buffered and written in batches, because a pure node can be recomputed after a crash; a node
with side effects or cost (its type is `blocking`) is written before the run goes on, so that a
run picked up again after a crash never repeats it. Every status change is a conditional update
on (status, worker), so a late or duplicate delivery never overwrites a finished execution.
"""

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from workflows.engine import Runner
from workflows.graphs import node_registry

from . import events
from .batches import execution_ended
from .graphs import graph_of_version_id
from .hosts import host_services
from .models import Execution, ExecutionLog, ExecutionStatus, NodeRun, NodeRunStatus

logger = logging.getLogger(__name__)

# A takeover skips this many sequence numbers, so that clients see a gap (and resync) rather
# than two events with one number.
TAKEOVER_SEQ_GAP = 10_000
CONTROL_CHECK_INTERVAL_S = 0.2
TIME_FLUSH_INTERVAL_S = 1.0

_in_flight: set[str] = set()
_in_flight_lock = threading.Lock()


def _stale_after() -> timedelta:
    return timedelta(seconds=settings.EXECUTION_STALE_SECONDS)


def execution_claim(*, execution_id: str, worker_id: str) -> Execution | None:
    """Take an execution to run: pending, or running under a worker that went quiet."""
    now = timezone.now()
    claimable = Q(status=ExecutionStatus.PENDING) | Q(
        status=ExecutionStatus.RUNNING, heartbeat_at__lt=now - _stale_after()
    ) | Q(status=ExecutionStatus.RUNNING, worker_id=worker_id)
    with _in_flight_lock:
        if execution_id in _in_flight:
            return None  # The same message delivered twice to this process.
        _in_flight.add(execution_id)
    try:
        updated = Execution.objects.filter(claimable, pk=execution_id).update(
            status=ExecutionStatus.RUNNING,
            worker_id=worker_id,
            heartbeat_at=now,
            started_at=Coalesce(F("started_at"), now),
            claims=F("claims") + 1,
            control="",
        )
        if not updated:
            _release(execution_id)
            return None
        return Execution.objects.get(pk=execution_id)
    except Exception:
        _release(execution_id)
        raise


def _release(execution_id: str) -> None:
    with _in_flight_lock:
        _in_flight.discard(execution_id)


def _checkpoint(execution: Execution) -> dict:
    """Outputs of the nodes an earlier run of this execution already recorded."""
    rows = NodeRun.objects.filter(
        execution=execution,
        status__in=[NodeRunStatus.COMPLETED, NodeRunStatus.FAILED, NodeRunStatus.SKIPPED],
    ).values("node_id", "status", "output", "handles")
    return {row["node_id"]: {"status": row["status"], "output": row["output"],
                             "handles": row["handles"]} for row in rows}


def _aware(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(value, tz=UTC)


class Recorder:
    """The engine's reporter and control: buffers records, publishes events, honours control."""

    def __init__(self, execution: Execution, worker_id: str, graph) -> None:
        self.execution = execution
        self.worker_id = worker_id
        self.graph = graph
        self.seq = execution.event_seq + (TAKEOVER_SEQ_GAP if execution.claims > 1 else 0)
        self.seq_lock = threading.Lock()
        self.percent = execution.progress
        self.current_node = execution.current_node
        self.node_runs: list[NodeRun] = []
        self.logs: list[ExecutionLog] = []
        self.log_count = 0
        self.log_limit = settings.MAX_LOGS_PER_EXECUTION
        self.started: dict[str, tuple[float, object]] = {}
        self.last_flush = time.monotonic()
        # The claim has just read the status: the first check can wait.
        self.last_control_check = time.monotonic()
        self.stop_reason: str | None = None

    # -- events ------------------------------------------------------------------------------
    def publish(self, event_type: str, data: dict) -> None:
        # Nodes on pool threads publish tokens too: sequence numbers stay unique and ordered.
        with self.seq_lock:
            self.seq += 1
            events.publish(self.execution.pk, event_type, data, self.seq)

    def emit_token(self, node_id: str, text: str) -> None:
        """A streaming node (llm) produced text: forward it live, without storing it."""
        self.publish("token", {"node_id": node_id, "text": text})

    def status_data(self, status: str) -> dict:
        return {"status": status, "progress": self.percent,
                "current_node": self.current_node or None}

    # -- reporter callbacks -----------------------------------------------------------------
    def node_started(self, node_id: str, node_type: str, input, attempt: int = 1) -> None:
        self.current_node = node_id
        self.started[node_id] = (time.time(), input)
        self.publish("node_started", {"node_id": node_id, "node_type": node_type,
                                      "attempt": attempt})

    def _record(self, node_id: str, node_type: str, result, status: str) -> None:
        started_at, node_input = self.started.pop(node_id, (None, None))
        if node_id not in self.graph.nodes or self.graph.nodes[node_id].parent_id:
            return  # Loop-body runs are told through events and logs; the loop node is recorded.
        self.node_runs.append(NodeRun(
            execution_id=self.execution.pk,
            node_id=node_id,
            node_type=node_type,
            status=status,
            input=node_input,
            output=result.output,
            handles=sorted(result.handles) if result.handles is not None else None,
            error=result.error or "",
            attempts=result.attempts,
            started_at=_aware(result.started_at) or _aware(started_at),
            finished_at=_aware(result.finished_at),
            duration_ms=result.duration_ms,
        ))

    def node_finished(self, node_id: str, node_type: str, result) -> None:
        self._record(node_id, node_type, result, NodeRunStatus.COMPLETED)
        self._add_log(node_id, node_type, "info",
                      f"Completed in {result.duration_ms or 0:.1f} ms"
                      + (f" after {result.attempts} attempts" if result.attempts > 1 else ""),
                      None, result.duration_ms)
        self.publish("node_finished", {"node_id": node_id, "node_type": node_type,
                                       "output": result.output, "progress": self.percent,
                                       "duration_ms": result.duration_ms})
        self._after_node(node_type)

    def node_failed(self, node_id: str, node_type: str, result) -> None:
        self._record(node_id, node_type, result, NodeRunStatus.FAILED)
        self.publish("node_failed", {"node_id": node_id, "node_type": node_type,
                                     "error": result.error, "attempts": result.attempts,
                                     "duration_ms": result.duration_ms})
        self._add_log(node_id, node_type, "error", result.error or "The node failed.", None,
                      result.duration_ms)
        self._after_node(node_type)

    def node_skipped(self, node_id: str, node_type: str, result=None) -> None:
        if node_id in self.graph.nodes and not self.graph.nodes[node_id].parent_id:
            self.node_runs.append(NodeRun(
                execution_id=self.execution.pk, node_id=node_id, node_type=node_type,
                status=NodeRunStatus.SKIPPED,
            ))

    def log(self, node_id, node_type, level: str, message: str, data=None) -> None:
        self._add_log(node_id, node_type, level, message, data, None)
        self.publish("log", {"node_id": node_id, "node_type": node_type, "level": level,
                             "message": message})

    def progress(self, percent: int, current_node=None) -> None:
        self.percent = percent
        if current_node:
            self.current_node = current_node

    def _add_log(self, node_id, node_type, level, message, data, duration_ms) -> None:
        self.log_count += 1
        if self.log_count > self.log_limit:
            if self.log_count == self.log_limit + 1:
                message, level, data = (f"Log limit of {self.log_limit} lines reached; further "
                                        "lines of this execution are dropped.", "warn", None)
            else:
                return
        self.logs.append(ExecutionLog(
            execution_id=self.execution.pk, node_id=node_id or "", node_type=node_type or "",
            level=level if level in ("debug", "info", "warn", "error") else "info",
            message=str(message)[:10_000], data=data, timestamp=timezone.now(),
            duration_ms=duration_ms, seq=self.log_count,
        ))

    def _after_node(self, node_type: str) -> None:
        node_class = node_registry().get(node_type)
        durable = getattr(node_class, "blocking", True)
        if durable or time.monotonic() - self.last_flush > TIME_FLUSH_INTERVAL_S:
            self.flush()

    # -- control -----------------------------------------------------------------------------
    def should_stop(self) -> str | None:
        now = time.monotonic()
        if now - self.last_control_check < CONTROL_CHECK_INTERVAL_S:
            return self.stop_reason
        self.last_control_check = now
        row = Execution.objects.filter(pk=self.execution.pk).values(
            "status", "control", "worker_id").first()
        if row is None or row["status"] != ExecutionStatus.RUNNING \
                or row["worker_id"] != self.worker_id:
            self.stop_reason = "cancel"
        elif row["control"] == "pause":
            self.stop_reason = "pause"
        return self.stop_reason

    # -- persistence -------------------------------------------------------------------------
    def flush(self, **final_fields) -> int:
        """Write buffered records and the execution's progress; returns rows updated (0 or 1)."""
        runs, logs = self.node_runs, self.logs
        self.node_runs, self.logs = [], []
        with transaction.atomic():
            if runs:
                # A node's record is written once: should another delivery have recorded some of
                # these nodes first, theirs stay (the unique constraint decides).
                NodeRun.objects.bulk_create(runs, ignore_conflicts=True)
            if logs:
                ExecutionLog.objects.bulk_create(logs)
            updated = Execution.objects.filter(
                pk=self.execution.pk, status=ExecutionStatus.RUNNING, worker_id=self.worker_id,
            ).update(**{
                "progress": self.percent,
                "current_node": self.current_node or "",
                "event_seq": self.seq + (1 if final_fields else 0),
                "heartbeat_at": timezone.now(),
                **final_fields,
            })
        self.last_flush = time.monotonic()
        return updated

    def finish(self, result) -> None:
        """Record how the run ended and announce it."""
        now = timezone.now()
        elapsed = int((now - self.execution.started_at).total_seconds() * 1000) \
            if self.execution.started_at else None
        if result.status == "completed":
            self.percent = 100
            self._terminal("completed", output_data=result.output, finished_at=now,
                           execution_time=elapsed, current_node="")
        elif result.status == "failed":
            error = result.error or "The run failed."
            if result.failed_node and result.failed_node not in error:
                error = f"Node '{result.failed_node}': {error}"
            self._terminal("failed", error=error[:10_000], finished_at=now,
                           execution_time=elapsed)
        elif result.status == "cancelled":
            self.flush()
            row = Execution.objects.filter(pk=self.execution.pk).values("status").first()
            if row and row["status"] == ExecutionStatus.CANCELLED:
                self.publish("cancelled", self.status_data(ExecutionStatus.CANCELLED))
                execution_ended(self.execution)
        else:  # paused, or a node waits for an answer (approval)
            if result.status == "waiting" and result.waiting_node:
                self.current_node = result.waiting_node
            self.publish("status", self.status_data(ExecutionStatus.WAITING))
            self.flush(status=ExecutionStatus.WAITING, control="")

    def _terminal(self, status: str, **fields) -> None:
        data = {**self.status_data(status),
                **{k: fields.get(k) for k in ("output_data", "error", "execution_time")}}
        if "current_node" in fields:
            data["current_node"] = None
        if self.flush(status=status, **fields):
            self.publish(status, data)
            execution_ended(self.execution)  # e.g. a batch starts its next item

    def waiting_node(self, node_id: str, node_type: str, data=None) -> None:
        """A node suspended the run (e.g. approval): record it as waiting."""
        started_at, node_input = self.started.pop(node_id, (time.time(), None))
        self.node_runs.append(NodeRun(
            execution_id=self.execution.pk, node_id=node_id, node_type=node_type,
            status=NodeRunStatus.WAITING, input=node_input, output=data,
            started_at=_aware(started_at), attempts=1,
        ))


def execution_run(*, execution_id: str, worker_id: str) -> str | None:
    """Run one execution to its end, a pause or a waiting node; returns the final status."""
    execution = execution_claim(execution_id=execution_id, worker_id=worker_id)
    if execution is None:
        return None
    try:
        return _run_claimed(execution, worker_id)
    finally:
        _release(execution_id)


def _run_claimed(execution: Execution, worker_id: str) -> str:
    try:
        graph = graph_of_version_id(execution.workflow_version_id)
    except Exception as exc:
        recorder = Recorder(execution, worker_id, graph=None)
        recorder._terminal("failed", error=f"The workflow cannot run: {exc}",
                           finished_at=timezone.now())
        return ExecutionStatus.FAILED
    recorder = Recorder(execution, worker_id, graph)
    checkpoint = _checkpoint(execution) if execution.claims > 1 or execution.progress else {}
    if execution.claims == 1 and not checkpoint:
        recorder.publish("status", recorder.status_data(ExecutionStatus.RUNNING))
    runner = Runner(graph, registry=node_registry(), reporter=recorder,
                    max_output_bytes=settings.MAX_NODE_OUTPUT_BYTES,
                    services=host_services(execution, emit_token=recorder.emit_token))
    try:
        result = runner.run(execution.input_data, checkpoint=checkpoint, control=recorder)
        if result.status == "waiting" and result.waiting_node:
            node = graph.nodes[result.waiting_node]
            waiting = result.node_results.get(result.waiting_node)
            recorder.waiting_node(result.waiting_node, node.type,
                                  getattr(waiting, "output", None))
        recorder.finish(result)
    except (OperationalError, InterfaceError):
        # The platform's own database went away under the run (a restart, a failover): that
        # is no fault of the workflow, so nothing is marked failed; the message is retried, and
        # this worker (or, once its heartbeat is stale, another) goes on from the checkpoint.
        # Other database errors (bad data, e.g. a DataError) still fail the run below.
        logger.warning("Database error during execution %s; it will be retried", execution.pk,
                       exc_info=True)
        connection.close()
        raise
    except Exception as exc:
        # The engine, or the final write of the run's records, failed: the run still ends, with
        # a reason, rather than being retried into the same failure while it shows `running`.
        logger.exception("The engine failed on execution %s", execution.pk)
        recorder._terminal("failed", error=f"Internal error: {type(exc).__name__}",
                           finished_at=timezone.now())
        return ExecutionStatus.FAILED
    return result.status
