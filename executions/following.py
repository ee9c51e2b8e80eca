"""Following one execution from a request thread: its live events, then how it ended.

Live events come from the channel-layer group the WebSocket consumer uses, when they reach this
process:
- a Redis layer: the group is subscribed from a private event loop in a helper thread;
- the in-memory layer with the in-process worker (embedded default): the layer lives on the
  loop `events.publisher.home_loop` sends to, so the subscription runs there. Under ASGI that is
  the server's loop, which becomes the home loop if no WebSocket has set it yet; a WSGI request
  has no such loop;
- otherwise (in-memory layer with workers in other processes, or no home loop) the database is
  polled: node records appear as the runner writes them.
How the run ended is always read from the database, which is the truth: a live event may be lost.
"""

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings

from . import events
from .models import TERMINAL_STATUSES, Execution, ExecutionStatus, NodeRun, NodeRunStatus

logger = logging.getLogger(__name__)

NODE_EVENTS = frozenset({"node_started", "node_finished", "node_failed", "token"})
SUBSCRIBE_TIMEOUT_S = 5.0
# With live events, the database is still read this often in case an event was lost.
SAFETY_CHECK_S = 1.0
# After an event that announces a change of status, how often and how long to look for it in
# the database (the runner announces "waiting" just before it writes it).
SETTLE_CHECK_S = 0.05
SETTLE_CHECKS = 60
POLL_MIN_S = 0.05
POLL_MAX_S = 0.5
# Quiet this long, following yields an `idle` event (streams send a keep-alive comment).
IDLE_EVENT_S = 15.0
# A run has settled once it has ended or waits (for an answer, or to be resumed).
SETTLED_STATUSES = frozenset({*TERMINAL_STATUSES, ExecutionStatus.WAITING})
_ROW_FIELDS = ("id", "workflow_id", "status", "progress", "current_node", "output_data", "error",
               "execution_time", "event_seq", "finished_at")


@dataclass
class End:
    """How following ended: the execution's row, and whether the time ran out first."""

    execution: Execution
    timed_out: bool = False


@dataclass
class _Subscription:
    """An execution's group subscribed on an event loop, its events handed over by a queue."""

    group: str
    events: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    ready: threading.Event = field(default_factory=threading.Event)

    async def pump(self, layer) -> None:
        channel = await layer.new_channel()
        try:
            await layer.group_add(self.group, channel)
            self.ready.set()
            while True:
                message = await layer.receive(channel)
                for event in message.get("events", ()):
                    self.events.put(event)
        finally:
            with contextlib.suppress(Exception):
                await layer.group_discard(self.group, channel)

    def get(self, timeout: float) -> list[dict]:
        """Events received so far, waiting up to `timeout` for the first one."""
        try:
            got = [self.events.get(timeout=max(timeout, 0.0))]
        except queue.Empty:
            return []
        while True:
            try:
                got.append(self.events.get_nowait())
            except queue.Empty:
                return got

    def close(self) -> None:
        raise NotImplementedError


class _ThreadSubscription(_Subscription):
    """For a Redis layer: a helper thread owns the loop (and so the layer's connections)."""

    def start(self) -> bool:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="execution-follower",
                                        daemon=True)
        self._thread.start()
        return self.ready.wait(SUBSCRIBE_TIMEOUT_S)

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            self._task = loop.create_task(self.pump(get_channel_layer()))
            if self._closing.is_set():
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(self._task)
        except Exception:
            logger.warning("Following %s through the channel layer failed", self.group,
                           exc_info=True)
        finally:
            loop.close()  # channels_redis closes this loop's connections with it

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def close(self) -> None:
        self._closing.set()
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed already
                loop.call_soon_threadsafe(self._cancel)
        self._thread.join(SUBSCRIBE_TIMEOUT_S)


class _HomeLoopSubscription(_Subscription):
    """For the in-memory layer: the subscription runs on the loop the layer lives on."""

    def start(self, loop: asyncio.AbstractEventLoop) -> bool:
        self._future = asyncio.run_coroutine_threadsafe(self.pump(get_channel_layer()), loop)
        return self.ready.wait(SUBSCRIBE_TIMEOUT_S)

    def close(self) -> None:
        self._future.cancel()


async def _running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def _home_loop() -> asyncio.AbstractEventLoop | None:
    """The loop the in-memory layer lives on: the publisher's, or this ASGI request's."""
    home = events.publisher.home_loop
    if home is not None and home.is_running() and not home.is_closed():
        return home
    # From a request thread under ASGI this runs on the server's loop; under WSGI on a
    # throw-away loop that is closed by the time it returns.
    loop = async_to_sync(_running_loop)()
    if loop.is_closed() or not loop.is_running():
        return None
    events.publisher.home_loop = loop
    return loop


def _subscribe(execution_id) -> _Subscription | None:
    """Live events of the execution where they reach this process, else None (poll instead)."""
    group = events.group_name(execution_id)
    layer = get_channel_layer()
    try:
        if layer is None:
            return None
        if not isinstance(layer, InMemoryChannelLayer):
            subscription = _ThreadSubscription(group)
            if subscription.start():
                return subscription
            subscription.close()
            return None
        if not settings.EMBEDDED_WORKER:
            return None  # the workers publish into their own processes' memory
        loop = _home_loop()
        if loop is None:
            return None
        subscription = _HomeLoopSubscription(group)
        if subscription.start(loop):
            return subscription
        subscription.close()
    except Exception:  # Following still works by polling.
        logger.warning("Could not subscribe to %s", group, exc_info=True)
    return None


def _row(execution_id) -> Execution:
    return Execution.objects.only(*_ROW_FIELDS).get(pk=execution_id)


def _recorded_nodes(execution_id, seen: set[str]) -> list[dict]:
    """Node records written since `seen`, as node events."""
    rows = (NodeRun.objects.filter(execution_id=execution_id,
                                   status__in=[NodeRunStatus.COMPLETED, NodeRunStatus.FAILED])
            .exclude(node_id__in=seen).order_by("finished_at")
            .values("node_id", "node_type", "status", "output", "error", "duration_ms"))
    found = []
    for row in rows:
        seen.add(row["node_id"])
        if row["status"] == NodeRunStatus.COMPLETED:
            found.append({"type": "node_finished", "data": {
                "node_id": row["node_id"], "node_type": row["node_type"],
                "output": row["output"], "duration_ms": row["duration_ms"]}})
        else:
            found.append({"type": "node_failed", "data": {
                "node_id": row["node_id"], "node_type": row["node_type"],
                "error": row["error"], "duration_ms": row["duration_ms"]}})
    return found


class ExecutionFollower:
    """Follows one execution from a request: subscribe first, then iterate `events()`.

    Make it before the run can start, e.g. inside the transaction that creates the execution
    (its message is sent on commit), so that no event is missed. Close it when done.
    """

    def __init__(self, execution_id, *, known_nodes: set[str] | None = None) -> None:
        self.execution_id = execution_id
        # Node ids whose records were there before (a resumed run): not reported again.
        self.known_nodes = set(known_nodes or ())
        self.subscription = _subscribe(execution_id)

    def events(self, *, timeout: float) -> Iterator[dict | End]:
        """Node events as they happen, then one `End` when the run ends, waits or times out."""
        deadline = time.monotonic() + timeout
        seen = set(self.known_nodes)
        row = _row(self.execution_id)
        yield from _recorded_nodes(self.execution_id, seen)
        if self.subscription is None:
            yield from _poll(self.execution_id, row, seen, deadline)
        else:
            yield from _listen(self.execution_id, row, seen, deadline, self.subscription)

    def wait(self, *, timeout: float) -> End:
        """Block until the run ends or waits (or `timeout` passes); closes the follower."""
        try:
            for item in self.events(timeout=timeout):
                if isinstance(item, End):
                    return item
            raise AssertionError("events() always ends with an End")  # pragma: no cover
        finally:
            self.close()

    def close(self) -> None:
        """Stop listening (idempotent)."""
        subscription, self.subscription = self.subscription, None
        if subscription is not None:
            subscription.close()


def _listen(execution_id, row: Execution, seen: set[str], deadline: float,
            subscription: _Subscription) -> Iterator[dict | End]:
    settle_checks = 0
    last_check = last_yield = time.monotonic()
    while row.status not in SETTLED_STATUSES:
        now = time.monotonic()
        if now >= deadline:
            yield End(row, timed_out=True)
            return
        if now - last_yield >= IDLE_EVENT_S:
            last_yield = now
            yield {"type": "idle", "data": {}}
        wait = SETTLE_CHECK_S if settle_checks else SAFETY_CHECK_S - (now - last_check)
        check = False
        for event in subscription.get(min(wait, deadline - now)):
            kind = event.get("type")
            if kind in NODE_EVENTS:
                node_id = (event.get("data") or {}).get("node_id")
                if kind in ("node_finished", "node_failed"):
                    if node_id in seen:
                        continue  # already reported from the node's record
                    seen.add(node_id)
                last_yield = time.monotonic()
                yield {"type": kind, "data": event.get("data") or {}}
            elif kind == "status" or kind in events.TERMINAL_EVENTS:
                settle_checks = SETTLE_CHECKS
                check = True
        if settle_checks:
            settle_checks -= 1
            check = True
        if check or time.monotonic() - last_check >= SAFETY_CHECK_S:
            row = _row(execution_id)
            last_check = time.monotonic()
            if row.status in SETTLED_STATUSES:
                settle_checks = 0
    # The end can be read before the last live events arrive: their records are written.
    yield from _recorded_nodes(execution_id, seen)
    yield End(row)


def _poll(execution_id, row: Execution, seen: set[str], deadline: float
          ) -> Iterator[dict | End]:
    interval = POLL_MIN_S
    started: set[str] = set()
    last_change = time.monotonic()
    while row.status not in SETTLED_STATUSES:
        now = time.monotonic()
        if now >= deadline:
            yield End(row, timed_out=True)
            return
        if now - last_change >= IDLE_EVENT_S:
            last_change = now
            yield {"type": "idle", "data": {}}
        time.sleep(min(interval, deadline - now))
        previous = row
        row = _row(execution_id)
        changed = row.event_seq != previous.event_seq or row.status != previous.status
        if row.current_node and row.current_node not in started and row.current_node not in seen:
            started.add(row.current_node)
            yield {"type": "node_started", "data": {"node_id": row.current_node}}
        if changed:
            yield from _recorded_nodes(execution_id, seen)
        if changed:
            last_change = time.monotonic()
        interval = POLL_MIN_S if changed else min(interval * 1.5, POLL_MAX_S)
    yield End(row)
