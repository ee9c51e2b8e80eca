"""Live events of executions: the worker publishes through `publish`, consumers only forward.

Events travel to the channel-layer group of their execution as batches: one publisher thread per
process drains a queue, so whatever piles up while a send is in flight goes out in one group send
(a channels-redis send costs milliseconds; a busy run would otherwise queue behind its own logs).
The thread owns its event loop for its whole life, which keeps channels-redis connection pools
bound to one loop.
"""

import asyncio
import logging
import queue
import threading
import time
from collections import defaultdict

from channels.layers import InMemoryChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)

TERMINAL_EVENTS = frozenset({"completed", "failed", "cancelled"})
MESSAGE_TYPE = "execution.events"
SEND_TIMEOUT_S = 5.0
FLUSH = "__flush__"


def group_name(execution_id) -> str:
    return f"execution.{execution_id}"


class EventPublisher:
    """Sends events to execution groups from one background thread per process."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pid = None
        # The in-memory layer lives on the web process's event loop: sends must run there.
        self.home_loop: asyncio.AbstractEventLoop | None = None

    def publish(self, execution_id, event: dict) -> None:
        """Queue an event (`type`, `seq`, `data`) for the subscribers of an execution."""
        self._ensure_thread()
        self._queue.put((str(execution_id), event))

    def _ensure_thread(self) -> None:
        import os

        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="event-publisher",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        while True:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            by_execution: dict[str, list] = defaultdict(list)
            flushed = []
            for execution_id, event in batch:
                if execution_id == FLUSH:
                    flushed.append(event["done"])
                else:
                    by_execution[execution_id].append(event)
            for execution_id, events in by_execution.items():
                try:
                    self._send(loop, group_name(execution_id), events)
                except Exception:  # A lost live event is recoverable: clients resync on reconnect.
                    logger.warning("Could not publish %d events of %s", len(events),
                                   execution_id, exc_info=True)
            for done in flushed:
                done.set()

    def _send(self, loop: asyncio.AbstractEventLoop, group: str, events: list) -> None:
        layer = get_channel_layer()
        message = {"type": MESSAGE_TYPE, "events": events}
        if isinstance(layer, InMemoryChannelLayer):
            home = self.home_loop
            if home is None or home.is_closed():
                return  # Nobody has subscribed in this process.
            asyncio.run_coroutine_threadsafe(layer.group_send(group, message), home).result(
                SEND_TIMEOUT_S
            )
        else:
            loop.run_until_complete(asyncio.wait_for(layer.group_send(group, message),
                                                     SEND_TIMEOUT_S))

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until everything queued so far has been sent (tests and shutdown)."""
        done = threading.Event()
        self._ensure_thread()
        self._queue.put((FLUSH, {"done": done}))
        done.wait(timeout)


publisher = EventPublisher()


def publish(execution_id, event_type: str, data: dict, seq: int) -> None:
    """The one way to tell subscribers of an execution that something happened."""
    publisher.publish(execution_id,
                      {"type": event_type, "seq": seq, "ts": time.time(), "data": data})
