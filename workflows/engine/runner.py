"""The runner: schedules a graph's nodes, applies policies, reports, checkpoints and resumes.

Scheduling. A node is ready when all its incoming edges are resolved. An edge is active when
its source completed and the edge's `sourceHandle` is among the source's active handles
(handles None: every edge but "error" ones). A node with no active incoming edge is skipped,
and skipping propagates. A ready node runs with the merged outputs of its active predecessors
(in edge order, later keys winning); a node with no predecessors gets the execution's input.

Threads. Everything (reporter calls included) happens on the thread that called `run()`, the
scheduler, except the `run()` of blocking node types, which go to a thread pool so that
independent I/O overlaps; their results and log lines come back through a queue. No pool is
created for a graph without blocking nodes.

Policies. `retry.max_attempts` attempts, waiting `backoff_ms` doubled after each failure.
`timeout_ms` bounds each attempt of a blocking node (the attempt is abandoned: its thread may
run on, `ctx.cancel_requested()` turns True, its result is ignored); pure nodes run inline and
are not interrupted. `on_error`: "fail" ends the run failed once in-flight nodes finish;
"continue" records the node failed and goes on as if it output `{"error": message}`;
"branch" does the same but activates only the node's "error" handle.

Loops. A composite node (loop) runs its body once per item as sub-runs (frames) of the same
scheduler, `max_concurrency` items at a time. An item's result is the merged output of the
body's last nodes (those with no outgoing edge in the body). A loop is not checkpointed item by
item: a paused or resumed run re-runs an unfinished loop from its first item.

Waiting. A node raising `Suspend` (e.g. approval) is recorded as waiting and its successors
stay blocked; independent branches run on, then the run ends with status "waiting". The host
resumes by putting the node's output in the checkpoint.

Control. `control.should_stop()` is asked before each node starts (so between loop items too)
and while waiting on blocking nodes: "cancel" returns at once (in-flight nodes are abandoned);
"pause" stops starting nodes and returns once in-flight nodes finish.

Outputs. With `max_output_bytes` (a host that stores outputs as JSON), a node whose output
serialises larger fails, and NaN or infinite numbers in an output (arithmetic overflow, a
remote answer's `NaN`) become null, with a warning, so that later nodes, events and the
stored record all see the same value.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import queue
import threading
import time
from collections import deque
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import ExpressionError, NodeError, Suspend
from .expressions import Scope, type_name
from .graph import ERROR_HANDLE, Graph, Node, Policy
from .nodes.base import BodySpec, NodeContext, NodeOutcome, NodeRegistry, NodeType
from .nodes.base import default_registry as _default_registry
from .nodes.core import check_fields, input_node
from .values import finite_only

ERROR_HANDLES = frozenset({ERROR_HANDLE})
CONTROL_POLL_S = 0.1


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------
@dataclass(slots=True)
class NodeResult:
    """One node's run: status completed | failed | skipped | waiting; times are epoch seconds."""

    status: str
    output: dict[str, Any] | None = None
    handles: frozenset[str] | None = None
    error: str | None = None
    attempts: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    duration_ms: float | None = None
    restored: bool = False

    def to_checkpoint(self) -> dict[str, Any]:
        """The serialisable checkpoint entry of this result."""
        return {"status": self.status, "output": self.output,
                "handles": sorted(self.handles) if self.handles is not None else None}


@dataclass(slots=True)
class RunResult:
    """How a run ended: status completed | failed | cancelled | paused | waiting."""

    status: str
    output: dict[str, Any] | None = None
    error: str | None = None
    failed_node: str | None = None
    node_results: dict[str, NodeResult] = field(default_factory=dict)
    waiting_node: str | None = None

    def checkpoint(self) -> dict[str, dict[str, Any]]:
        """A checkpoint to resume this run from (see `checkpoint_from_results`)."""
        return checkpoint_from_results(self.node_results)


def checkpoint_from_results(node_results: Mapping[str, NodeResult]
                            ) -> dict[str, dict[str, Any]]:
    """`{node_id: {status, output, handles}}` of the nodes that are done (not waiting)."""
    return {node_id: result.to_checkpoint() for node_id, result in node_results.items()
            if result.status in ("completed", "failed", "skipped")}


class Reporter:
    """Receives a run's events, on the scheduler thread; subclass and override what you need."""

    def node_started(self, node_id: str, node_type: str, input: Any, attempt: int) -> None:
        """A node (attempt) starts with `input`, the data flowing in."""

    def node_finished(self, node_id: str, node_type: str, result: NodeResult) -> None:
        """A node completed."""

    def node_failed(self, node_id: str, node_type: str, result: NodeResult) -> None:
        """A node failed for good (after its retries)."""

    def node_skipped(self, node_id: str, node_type: str, result: NodeResult) -> None:
        """A node was skipped: no active incoming edge."""

    def log(self, node_id: str | None, node_type: str | None, level: str, message: str,
            data: dict[str, Any] | None) -> None:
        """A log line of a node (or of the runner, e.g. a retry)."""

    def progress(self, percent: int, current_node: str | None) -> None:
        """Share of top-level nodes resolved, 0-100."""


class Control(Protocol):
    """Asked between nodes whether to stop."""

    def should_stop(self) -> str | None:
        """None to go on, "cancel" or "pause"."""


# --------------------------------------------------------------------------------------------
# Per-graph preparation (cached on the graph per registry)
# --------------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Info:
    node: Node
    impl: NodeType | None
    type_name: str
    policy: Policy
    blocking: bool
    composite: bool
    terminal: str | None
    prepared: Any = None
    prepare_error: str | None = None


@dataclass(slots=True)
class _Plan:
    """One scope (top level or a loop body): its nodes and in-scope edges."""

    nodes: list[str]
    incoming: dict[str, tuple[tuple[int, str], ...]]
    outgoing: dict[str, tuple[tuple[int, str, str | None], ...]]
    indegree: dict[str, int]
    roots: list[str]
    terminals: list[str]


@dataclass(slots=True)
class _Runtime:
    registry: NodeRegistry
    version: int
    info: dict[str, _Info]
    plans: dict[str | None, _Plan]
    has_blocking: bool
    input_node: Node | None


def _prepare(graph: Graph, registry: NodeRegistry) -> _Runtime:
    cache = graph._runtime_cache
    found = cache.get(id(registry))
    if found is not None and found.registry is registry and found.version == registry.version:
        return found
    compiler = graph.compiler
    info: dict[str, _Info] = {}
    for node in graph.nodes.values():
        impl = registry.instance(node.type)
        item = _Info(node, impl, node.type, node.policy, bool(impl and impl.blocking),
                     bool(impl and impl.composite), impl.terminal if impl else None)
        if impl is None:
            item.prepare_error = f"Unknown node type '{node.type}'."
        else:
            try:
                item.prepared = impl.prepare(node, compiler)
            except ExpressionError as exc:
                item.prepare_error = f"Node '{node.id}' ({node.type}): {exc}"
            except Exception as exc:
                item.prepare_error = _describe(exc)
        info[node.id] = item
    plans = {scope: _plan(graph, scope, members) for scope, members in graph.children.items()}
    for node in graph.nodes.values():
        if info[node.id].composite and node.id not in plans:
            plans[node.id] = _plan(graph, node.id, [])
    runtime = _Runtime(registry, registry.version, info, plans,
                       any(item.blocking for item in info.values()), input_node(graph))
    cache[id(registry)] = runtime
    return runtime


def _plan(graph: Graph, scope: str | None, members: list[str]) -> _Plan:
    inside = set(members)
    index_of = {id(edge): index for index, edge in enumerate(graph.edges)}
    incoming: dict[str, tuple[tuple[int, str], ...]] = {}
    outgoing: dict[str, tuple[tuple[int, str, str | None], ...]] = {}
    for node_id in members:
        # Edges from a loop into its own body, or across scopes, are not followed.
        incoming[node_id] = tuple((index_of[id(e)], e.source) for e in graph.incoming[node_id]
                                  if e.source in inside and e.source != node_id)
        outgoing[node_id] = tuple((index_of[id(e)], e.target, e.source_handle)
                                  for e in graph.outgoing[node_id]
                                  if e.target in inside and e.target != node_id)
    return _Plan(
        nodes=list(members),
        incoming=incoming,
        outgoing=outgoing,
        indegree={node_id: len(incoming[node_id]) for node_id in members},
        roots=[node_id for node_id in members if not incoming[node_id]],
        terminals=[node_id for node_id in members if not outgoing[node_id]],
    )


def _json_size(value: Any) -> int | None:
    """Size of a value as JSON text (what the host will store); None if JSON cannot hold it."""
    try:
        return len(json.dumps(value, ensure_ascii=False, allow_nan=False))
    except (TypeError, ValueError, RecursionError):  # NaN, a set, a value holding itself...
        return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, NodeError | Suspend):
        return str(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --------------------------------------------------------------------------------------------
# Runner
# --------------------------------------------------------------------------------------------
class Runner:
    """Runs one graph, as many times as asked; compiled state is cached on the graph."""

    def __init__(self, graph: Graph | dict[str, Any], registry: NodeRegistry | None = None,
                 reporter: Any = None, services: Mapping[str, Any] | None = None,
                 max_workers: int = 8, max_output_bytes: int | None = None) -> None:
        self.graph = graph if isinstance(graph, Graph) else Graph.from_dict(graph)
        self.registry = registry if registry is not None else _default_registry
        self.reporter = reporter
        self.services = services if services is not None else {}
        self.max_workers = max_workers
        # A node whose output serialises larger than this fails (None: no limit, no JSON check).
        self.max_output_bytes = max_output_bytes

    def run(self, input_data: Any = None, checkpoint: Mapping[str, Any] | None = None,
            control: Control | None = None) -> RunResult:
        """Run the graph from `checkpoint` (nodes already done) until it ends, fails or stops."""
        runtime = _prepare(self.graph, self.registry)
        return _Run(self, runtime, input_data, checkpoint, control).execute()


class _Frame:
    """The state of one sub-run: the top level, or one loop item."""

    __slots__ = ("active_edges", "alive", "has_active", "index", "loop", "outputs", "parent_scope",
                 "plan", "remaining", "results", "root_data", "unresolved", "variables")

    def __init__(self, plan: _Plan, root_data: Any, variables: dict[str, Any] | None = None,
                 parent_scope: Scope | None = None, loop: _LoopState | None = None,
                 index: int = 0) -> None:
        self.plan = plan
        self.root_data = root_data
        self.variables = variables
        self.parent_scope = parent_scope
        self.loop = loop
        self.index = index
        self.outputs: dict[str, Any] = {}
        self.results: dict[str, NodeResult] = {}
        self.remaining = dict(plan.indegree)
        self.active_edges: set[int] = set()
        self.has_active: set[str] = set()
        self.unresolved = len(plan.nodes)
        self.alive = True


class _LoopState:
    __slots__ = ("attempt", "ctx", "frame", "frames", "next", "node_id", "over", "results",
                 "running", "spec", "started")

    def __init__(self, frame: _Frame, node_id: str, ctx: NodeContext, attempt: int,
                 started: float, spec: BodySpec) -> None:
        self.frame = frame
        self.node_id = node_id
        self.ctx = ctx
        self.attempt = attempt
        self.started = started
        self.spec = spec
        self.results: list[Any] = [None] * len(spec.items)
        self.next = 0
        self.running = 0
        self.over = False
        self.frames: set[_Frame] = set()


class _Attempt:
    __slots__ = ("attempt", "ctx", "frame", "node_id", "started")

    def __init__(self, frame: _Frame, node_id: str, attempt: int, ctx: NodeContext,
                 started: float) -> None:
        self.frame = frame
        self.node_id = node_id
        self.attempt = attempt
        self.ctx = ctx
        self.started = started


def _noop(*args: Any) -> None:
    return None


class _Run:
    """One execution of a graph (internal: use Runner.run)."""

    def __init__(self, runner: Runner, runtime: _Runtime, input_data: Any,
                 checkpoint: Mapping[str, Any] | None, control: Control | None) -> None:
        self.runner = runner
        self.graph = runner.graph
        self.rt = runtime
        self.info = runtime.info
        self.compiler = runner.graph.compiler
        self.services = runner.services
        self.control = control
        self.cancelled = False
        if input_data is None:
            input_data = {}
        if runtime.input_node is not None:
            checked, errors = check_fields(runtime.input_node.data.get("fields"), input_data)
            if not errors:
                input_data = checked  # templates read {input.x} with defaults filled in
        self.input = input_data
        self.checkpoint = dict(checkpoint or {})
        reporter = runner.reporter
        self.reporting = reporter is not None
        self.on_started = getattr(reporter, "node_started", _noop)
        self.on_finished = getattr(reporter, "node_finished", _noop)
        self.on_failed = getattr(reporter, "node_failed", _noop)
        self.on_skipped = getattr(reporter, "node_skipped", _noop)
        self.on_log = getattr(reporter, "log", _noop)
        self.on_progress = getattr(reporter, "progress", _noop)
        self.thread_id = threading.get_ident()
        self.ready: deque[tuple[_Frame, str]] = deque()
        self.messages: queue.SimpleQueue | None = queue.SimpleQueue() if runtime.has_blocking \
            else None
        self.executor: ThreadPoolExecutor | None = None
        self.inflight: dict[int, _Attempt] = {}
        self.deadlines: list[tuple[float, int]] = []
        self.delayed: list[tuple[float, int, _Frame, str, int]] = []
        self.tokens = itertools.count()
        self.stopping: str | None = None
        self.error: str | None = None
        self.failed_node: str | None = None
        self.waiting_node: str | None = None
        self.current: str | None = None
        self.top = _Frame(runtime.plans[None], input_data)
        self.total = len(self.top.plan.nodes)
        self.last_percent = -1

    # -- driving -------------------------------------------------------------------------------
    def execute(self) -> RunResult:
        try:
            self.ready.extend((self.top, node_id) for node_id in self.top.plan.roots)
            self._drive()
        finally:
            if self.executor is not None:
                self.executor.shutdown(wait=False, cancel_futures=True)
        return self._result()

    def _drive(self) -> None:
        ready = self.ready
        control = self.control
        while True:
            while ready and self.stopping is None:
                if control is not None and self._stop_requested():
                    break
                frame, node_id = ready.popleft()
                if frame.alive:
                    self._start(frame, node_id, 1)
            if self.stopping == "cancel":
                return
            if self.stopping is None and ready:
                continue
            if self.inflight or (self.delayed and self.stopping is None):
                self._wait()
                continue
            return

    def _stop_requested(self) -> bool:
        decision = self.control.should_stop()  # type: ignore[union-attr]
        if decision in ("cancel", "pause"):
            if decision == "cancel":
                self.cancelled = True
                self.stopping = "cancel"
            elif self.stopping is None:
                self.stopping = "pause"
            return True
        return False

    def _wait(self) -> None:
        now = time.monotonic()
        timeout: float | None = None
        if self.deadlines:
            timeout = self.deadlines[0][0] - now
        if self.delayed and self.stopping is None:
            due = self.delayed[0][0] - now
            timeout = due if timeout is None else min(timeout, due)
        if self.control is not None:
            timeout = CONTROL_POLL_S if timeout is None else min(timeout, CONTROL_POLL_S)
        if timeout is not None:
            timeout = max(timeout, 0.0)
        if self.messages is None or not self.inflight:
            time.sleep(timeout or 0.0)
        else:
            with contextlib.suppress(queue.Empty):
                self._handle(self.messages.get(timeout=timeout))
            while True:
                try:
                    self._handle(self.messages.get_nowait())
                except queue.Empty:
                    break
        now = time.monotonic()
        while self.deadlines and self.deadlines[0][0] <= now:
            _, token = heapq.heappop(self.deadlines)
            attempt = self.inflight.pop(token, None)
            if attempt is not None:
                attempt.ctx.abandoned = True
                timeout_ms = self.info[attempt.node_id].policy.timeout_ms
                self._attempt_failed(attempt.frame, attempt.node_id, attempt.ctx,
                                     attempt.attempt, attempt.started,
                                     NodeError(f"Timed out after {timeout_ms} ms."))
        while self.delayed and self.delayed[0][0] <= now and self.stopping is None:
            _, _, frame, node_id, attempt_no = heapq.heappop(self.delayed)
            if frame.alive:
                self._start(frame, node_id, attempt_no)
        if self.control is not None and self.stopping in (None, "pause"):
            self._stop_requested()

    def _handle(self, message: tuple) -> None:
        if message[0] == "log":
            _, ctx, level, text, data = message
            self.on_log(ctx.node.id, ctx.node.type, level, text, data)
            return
        _, token, kind, payload, finished = message
        attempt = self.inflight.pop(token, None)
        if attempt is None or not attempt.frame.alive:
            return  # timed out, or its loop item was abandoned
        self._settle(attempt.frame, attempt.node_id, attempt.ctx, attempt.attempt,
                     attempt.started, kind, payload, finished)

    def _work(self, token: int, impl: NodeType, ctx: NodeContext) -> None:
        """Runs on a pool thread: run the node and hand the result to the scheduler."""
        try:
            outcome: tuple[str, Any] = ("ok", impl.run(ctx))
        except Suspend as exc:
            outcome = ("suspend", exc)
        except BaseException as exc:
            outcome = ("error", exc)
        self.messages.put(("done", token, outcome[0], outcome[1], time.time()))  # type: ignore[union-attr]

    # -- node log (NodeContext calls this) ----------------------------------------------------
    def node_log(self, ctx: NodeContext, level: str, message: str, data: dict[str, Any]) -> None:
        if threading.get_ident() == self.thread_id:
            self.on_log(ctx.node.id, ctx.node.type, level, message, data or None)
        elif self.messages is not None:
            self.messages.put(("log", ctx, level, message, data or None))

    # -- starting nodes ---------------------------------------------------------------------------
    def _data_in(self, frame: _Frame, node_id: str) -> Any:
        incoming = frame.plan.incoming[node_id]
        if not incoming:
            return frame.root_data
        outputs = frame.outputs
        if len(incoming) == 1:
            return outputs[incoming[0][1]]
        active = frame.active_edges
        sources = [source for index, source in incoming if index in active]
        if len(sources) == 1:
            return outputs[sources[0]]
        merged: dict[str, Any] = {}
        for source in sources:
            output = outputs[source]
            if output:
                merged.update(output)
        return merged

    def _start(self, frame: _Frame, node_id: str, attempt: int) -> None:
        if frame is self.top and self.checkpoint and attempt == 1 and self._restore(node_id):
            return
        info = self.info[node_id]
        data = self._data_in(frame, node_id)
        started = time.time()
        if info.impl is None or info.prepare_error is not None:
            self._failed(frame, node_id, attempt, started, info.prepare_error or "")
            return
        scope = Scope(self.input, data, frame.outputs, frame.variables, frame.parent_scope)
        ctx = NodeContext(info.node, data, scope, services=self.services, attempt=attempt,
                          input_data=self.input, prepared=info.prepared, compiler=self.compiler,
                          run=self)
        if frame is self.top:
            self.current = node_id
        if self.reporting:
            self.on_started(node_id, info.type_name, data, attempt)
        if info.composite:
            self._begin_loop(frame, node_id, ctx, attempt, started)
            return
        if info.blocking:
            if self.executor is None:
                self.executor = ThreadPoolExecutor(self.runner.max_workers,
                                                   thread_name_prefix="conflux-node")
            token = next(self.tokens)
            self.inflight[token] = _Attempt(frame, node_id, attempt, ctx, started)
            timeout_ms = info.policy.timeout_ms
            if timeout_ms:
                heapq.heappush(self.deadlines, (time.monotonic() + timeout_ms / 1000, token))
            self.executor.submit(self._work, token, info.impl, ctx)
            return
        try:
            outcome = info.impl.run(ctx)
        except Suspend as exc:
            self._settle(frame, node_id, ctx, attempt, started, "suspend", exc, None)
        except Exception as exc:
            self._attempt_failed(frame, node_id, ctx, attempt, started, exc)
        else:
            self._succeeded(frame, node_id, attempt, started, outcome, None)

    def _settle(self, frame: _Frame, node_id: str, ctx: NodeContext, attempt: int,
                started: float, kind: str, payload: Any, finished: float | None) -> None:
        if kind == "ok":
            self._succeeded(frame, node_id, attempt, started, payload, finished)
        elif kind == "suspend":
            self._suspended(frame, node_id, attempt, started, payload)
        else:
            self._attempt_failed(frame, node_id, ctx, attempt, started, payload)

    def _restore(self, node_id: str) -> bool:
        """Take a checkpointed node's result instead of running it; False to run it."""
        entry = self.checkpoint.get(node_id)
        if entry is None:
            return False
        if isinstance(entry, NodeResult):
            entry = entry.to_checkpoint()
        if not isinstance(entry, Mapping):
            return False
        status = entry.get("status", "completed")
        output = entry.get("output")
        handles = entry.get("handles")
        handles = frozenset(handles) if handles is not None else None
        on_error = self.info[node_id].policy.on_error
        if status == "completed":
            result = NodeResult("completed", output if isinstance(output, dict) else {}, handles,
                                restored=True)
        elif status == "failed" and on_error in ("continue", "branch"):
            error = output.get("error") if isinstance(output, dict) else None
            if handles is None and on_error == "branch":
                handles = ERROR_HANDLES
            result = NodeResult("failed", output if isinstance(output, dict) else {"error": error},
                                handles, error, restored=True)
        else:
            return False  # a failed "fail" node or a skipped one: decide afresh
        self._resolve(self.top, node_id, result)
        return True

    # -- outcomes --------------------------------------------------------------------------------
    def _succeeded(self, frame: _Frame, node_id: str, attempt: int, started: float,
                   outcome: Any, finished: float | None) -> None:
        kind = type(outcome)
        if kind is dict:
            output, handles = outcome, None
        elif kind is NodeOutcome:
            output, handles = outcome.output, outcome.handles
            if handles is not None and type(handles) is not frozenset:
                handles = frozenset(handles)
        elif isinstance(outcome, Mapping):
            output, handles = dict(outcome), None
        else:
            output = None
        if type(output) is not dict:
            if isinstance(output, Mapping):
                output = dict(output)
            else:
                shown = type_name(output if kind is NodeOutcome else outcome)
                self._failed(frame, node_id, attempt, started,
                             f"The node returned {shown}, not an object.")
                return
        limit = self.runner.max_output_bytes
        if limit is not None:
            size = _json_size(output)
            if size is None:
                with contextlib.suppress(RecursionError):  # a value holding itself fails below
                    output = finite_only(output)
                size = _json_size(output)
                if size is None:
                    self._failed(frame, node_id, attempt, started,
                                 "The node's output cannot be written as JSON.")
                    return
                if self.reporting:
                    self.on_log(node_id, self.info[node_id].type_name, "warn",
                                "The output held NaN or infinite numbers, which JSON has no "
                                "numbers for; they are null.", None)
            if size > limit:
                self._failed(frame, node_id, attempt, started,
                             f"The node's output is larger than the limit of {limit} bytes.")
                return
        if finished is None:
            finished = time.time()
        result = NodeResult("completed", output, handles, None, attempt, started, finished,
                            (finished - started) * 1000)
        if self.reporting:
            self.on_finished(node_id, self.info[node_id].type_name, result)
        self._resolve(frame, node_id, result)

    def _attempt_failed(self, frame: _Frame, node_id: str, ctx: NodeContext | None,
                        attempt: int, started: float, exc: BaseException) -> None:
        info = self.info[node_id]
        if isinstance(exc, ExpressionError):
            message = f"Node '{node_id}' ({info.type_name}): {exc}"
        else:
            message = _describe(exc)
        policy = info.policy
        if attempt < policy.max_attempts and frame.alive and self.stopping != "fail":
            if self.stopping is not None:
                return  # paused: the node stays pending and runs again on resume
            delay = policy.backoff_s(attempt)
            if self.reporting:
                self.on_log(node_id, info.type_name, "warn",
                            f"Attempt {attempt} of {policy.max_attempts} failed: {message}"
                            + (f" Retrying in {delay * 1000:.0f} ms." if delay else
                               " Retrying."), {"attempt": attempt})
            heapq.heappush(self.delayed,
                           (time.monotonic() + delay, next(self.tokens), frame, node_id,
                            attempt + 1))
            return
        self._failed(frame, node_id, attempt, started, message)

    def _failed(self, frame: _Frame, node_id: str, attempt: int, started: float,
                message: str) -> None:
        info = self.info[node_id]
        finished = time.time()
        duration = (finished - started) * 1000
        on_error = info.policy.on_error
        if on_error in ("continue", "branch"):
            handles = ERROR_HANDLES if on_error == "branch" else None
            result = NodeResult("failed", {"error": message}, handles, message, attempt,
                                started, finished, duration)
            if self.reporting:
                self.on_failed(node_id, info.type_name, result)
            self._resolve(frame, node_id, result)
            return
        result = NodeResult("failed", None, None, message, attempt, started, finished, duration)
        frame.results[node_id] = result
        if self.reporting:
            self.on_failed(node_id, info.type_name, result)
        if frame is self.top:
            if self.stopping != "fail":
                self.stopping = "fail"
                self.error = message
                self.failed_node = node_id
        else:
            self._item_failed(frame, f"node '{node_id}' failed: {message}")

    def _suspended(self, frame: _Frame, node_id: str, attempt: int, started: float,
                   signal: Suspend) -> None:
        if frame is not self.top:
            self._failed(frame, node_id, attempt, started,
                         "A node inside a loop cannot wait for an answer.")
            return
        data = signal.data if isinstance(signal.data, dict) else {"message": signal.message}
        result = NodeResult("waiting", data, None, None, attempt, started, None, None)
        frame.results[node_id] = result
        if self.reporting:
            self.on_log(node_id, self.info[node_id].type_name, "info", signal.message, None)
        # Only this branch waits: independent branches go on until nothing else can run.
        if self.waiting_node is None:
            self.waiting_node = node_id

    def _resolve(self, frame: _Frame, node_id: str, result: NodeResult) -> None:
        """Record a node's end and route its edges; propagates skips without recursion."""
        work = [(node_id, result)]
        plan = frame.plan
        remaining = frame.remaining
        active = frame.active_edges
        has_active = frame.has_active
        outputs = frame.outputs
        top = frame is self.top
        while work:
            node_id, result = work.pop()
            frame.results[node_id] = result
            skipped = result.status == "skipped"
            if not skipped:
                outputs[node_id] = result.output
            handles = result.handles
            for index, target, handle in plan.outgoing[node_id]:
                if not skipped and (handle != ERROR_HANDLE if handles is None
                                    else handle in handles):
                    active.add(index)
                    has_active.add(target)
                left = remaining[target] - 1
                remaining[target] = left
                if left == 0:
                    if target in has_active:
                        self.ready.append((frame, target))
                    else:
                        skip = NodeResult("skipped")
                        if self.reporting:
                            self.on_skipped(target, self.info[target].type_name, skip)
                        work.append((target, skip))
            frame.unresolved -= 1
            if top and self.reporting:
                percent = (self.total - frame.unresolved) * 100 // (self.total or 1)
                if percent != self.last_percent:
                    self.last_percent = percent
                    self.on_progress(percent, self.current)
        if frame.unresolved == 0 and frame.loop is not None and frame.alive:
            self._item_succeeded(frame)

    # -- loops -----------------------------------------------------------------------------------
    def _begin_loop(self, frame: _Frame, node_id: str, ctx: NodeContext, attempt: int,
                    started: float) -> None:
        info = self.info[node_id]
        try:
            spec = info.impl.begin(ctx)  # type: ignore[union-attr]
        except Exception as exc:
            self._attempt_failed(frame, node_id, ctx, attempt, started, exc)
            return
        state = _LoopState(frame, node_id, ctx, attempt, started, spec)
        plan = self.rt.plans[node_id]
        if not plan.nodes or not spec.items:
            state.results = list(spec.items)  # an empty body passes each item through
            self._finish_loop(state)
            return
        for _ in range(min(max(spec.concurrency, 1), len(spec.items))):
            self._next_item(state)

    def _next_item(self, state: _LoopState) -> None:
        index = state.next
        state.next += 1
        state.running += 1
        spec = state.spec
        item = spec.items[index]
        data = state.ctx.data
        root_data = {**data, spec.variable: item, "index": index} if data else \
            {spec.variable: item, "index": index}
        frame = _Frame(self.rt.plans[state.node_id], root_data,
                       {spec.variable: item, "index": index}, state.ctx.scope, state, index)
        state.frames.add(frame)
        self.ready.extend((frame, node_id) for node_id in frame.plan.roots)

    def _item_succeeded(self, frame: _Frame) -> None:
        result: dict[str, Any] = {}
        for node_id in frame.plan.terminals:
            node_result = frame.results.get(node_id)
            if node_result is not None and node_result.status != "skipped" and node_result.output:
                result.update(node_result.output)
        self._item_done(frame, result, None)

    def _item_failed(self, frame: _Frame, error: str) -> None:
        self._item_done(frame, None, error)

    def _item_done(self, frame: _Frame, result: dict[str, Any] | None, error: str | None
                   ) -> None:
        frame.alive = False
        state = frame.loop
        assert state is not None
        state.running -= 1
        state.frames.discard(frame)
        if state.over:
            return
        if error is not None and state.spec.error_handling != "continue":
            state.over = True
            for other in state.frames:
                other.alive = False
            state.frames.clear()
            self._attempt_failed(state.frame, state.node_id, state.ctx, state.attempt,
                                 state.started, NodeError(f"Item {frame.index} {error}"))
            return
        state.results[frame.index] = result if error is None else {"error": error}
        if state.next < len(state.spec.items):
            if self.stopping is None:
                self._next_item(state)
        elif state.running == 0:
            self._finish_loop(state)

    def _finish_loop(self, state: _LoopState) -> None:
        state.over = True
        info = self.info[state.node_id]
        try:
            outcome = info.impl.finish(state.ctx, state.results)  # type: ignore[union-attr]
        except Exception as exc:
            self._attempt_failed(state.frame, state.node_id, state.ctx, state.attempt,
                                 state.started, exc)
            return
        self._succeeded(state.frame, state.node_id, state.attempt, state.started, outcome, None)

    # -- the end ---------------------------------------------------------------------------------
    def _result(self) -> RunResult:
        top = self.top
        results = top.results
        stopping = self.stopping
        if stopping == "cancel":
            return RunResult("cancelled", None, "The run was cancelled.", None, results)
        if stopping == "fail":
            return RunResult("failed", None, self.error, self.failed_node, results)
        if self.waiting_node is not None:
            return RunResult("waiting", None, None, None, results, self.waiting_node)
        if top.unresolved:
            if stopping == "pause":
                return RunResult("paused", None, None, None, results)
            stuck = [n for n in top.plan.nodes if n not in results][:10]
            return RunResult("failed", None,
                             "Some nodes could never run (a cycle or a missing dependency): "
                             + ", ".join(stuck), stuck[0] if stuck else None, results)
        return RunResult("completed", self._output(), None, None, results)

    def _output(self) -> dict[str, Any]:
        results = self.top.results
        for kind in ("output", "end"):
            merged: dict[str, Any] | None = None
            for node_id in self.top.plan.nodes:
                result = results.get(node_id)
                if self.info[node_id].terminal == kind and result is not None \
                        and result.status == "completed":
                    merged = {**(merged or {}), **(result.output or {})}
            if merged is not None:
                return merged
        merged = {}
        for node_id in self.top.plan.terminals:
            result = results.get(node_id)
            if result is not None and result.status == "completed":
                merged.update(result.output or {})
        return merged
