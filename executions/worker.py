"""Worker processes: their heartbeat, and the embedded in-process worker.

Every Dramatiq worker process (a `manage.py rundramatiq` process, or the worker thread inside the
web process in the embedded default) records a heartbeat row; `/health` and the reaper of stalled
executions read it.
"""

import atexit
import logging
import os
import socket
import threading
import uuid

import dramatiq
from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone
from dramatiq.middleware import Middleware

logger = logging.getLogger(__name__)

_embedded_worker: dramatiq.Worker | None = None
_embedded_lock = threading.Lock()
_worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def current_worker_id() -> str:
    """The id of this worker process (a forked process gets its own)."""
    global _worker_id
    if f":{os.getpid()}:" not in _worker_id:
        _worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    return _worker_id


class WorkerHeartbeatMiddleware(Middleware):
    """Records a heartbeat for the worker process every WORKER_HEARTBEAT_SECONDS."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._worker: dramatiq.Worker | None = None

    def before_worker_boot(self, broker, worker) -> None:
        # `rundramatiq` has no flag for it: the longest an idle consumer waits before it looks
        # at its queue again (an enqueue wakes it sooner: platform_site/broker.py).
        worker.worker_timeout = settings.DRAMATIQ_WORKER_TIMEOUT_MS
        from .models import SERVER_QUEUE_PREFIX

        # A compute server's queue (`--queues executions.<name>`) is declared by no actor:
        # declare it, so that this worker gets a consumer for it.
        for queue in sorted(worker.consumer_whitelist or ()):
            if queue.startswith(SERVER_QUEUE_PREFIX):
                broker.declare_queue(queue)

    def after_worker_boot(self, broker, worker) -> None:
        self._worker = worker
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name="worker-heartbeat", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker, worker) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            from .models import WorkerHeartbeat

            WorkerHeartbeat.objects.filter(worker_id=current_worker_id()).delete()
        except Exception:  # Shutting down: the row simply goes stale.
            logger.debug("Could not remove the heartbeat of %s", current_worker_id(),
                         exc_info=True)
        finally:
            connections.close_all()

    def _beat(self) -> None:
        from workflows.schedules import schedules_fire_due

        from .batches import batches_advance_stalled
        from .models import Execution, ExecutionStatus, WorkerHeartbeat
        from .reaper import reap_stalled_executions

        started_at = timezone.now()
        beats = 0
        while not self._stop.is_set():
            worker_id = current_worker_id()
            try:
                close_old_connections()
                now = timezone.now()
                # One query keeps every execution this process runs marked alive.
                Execution.objects.filter(
                    worker_id=worker_id, status=ExecutionStatus.RUNNING
                ).update(heartbeat_at=now)
                WorkerHeartbeat.objects.update_or_create(
                    worker_id=worker_id,
                    defaults={
                        "hostname": socket.gethostname(),
                        "pid": os.getpid(),
                        "embedded": settings.EMBEDDED_WORKER,
                        "started_at": started_at,
                        "last_seen": now,
                        "queues": self._queues(),
                    },
                )
                if beats % settings.REAPER_EVERY_BEATS == 0:
                    reap_stalled_executions()
                    batches_advance_stalled()
                if settings.SCHEDULER_IN_WORKERS:
                    schedules_fire_due(now=now)
                beats += 1
            except Exception:  # The database may be restarting; the next beat tries again.
                logger.warning("Worker heartbeat failed", exc_info=True)
            self._stop.wait(settings.WORKER_HEARTBEAT_SECONDS)
        connections.close_all()

    def _queues(self) -> list[str]:
        """The queues this process consumes (delay queues aside)."""
        consumers = list(self._worker.consumers) if self._worker is not None else []
        return sorted(queue for queue in consumers if not queue.endswith(".DQ"))


def start_embedded_worker() -> dramatiq.Worker | None:
    """Start the in-process worker of the embedded default, once per process."""
    global _embedded_worker
    if not settings.EMBEDDED_WORKER:
        return None
    with _embedded_lock:
        if _embedded_worker is None:
            worker = dramatiq.Worker(
                dramatiq.get_broker(),
                worker_threads=settings.EMBEDDED_WORKER_THREADS,
                worker_timeout=settings.DRAMATIQ_WORKER_TIMEOUT_MS,
            )
            worker.start()
            _embedded_worker = worker
            atexit.register(stop_embedded_worker)
            logger.info("Started the in-process worker (%s threads)",
                        settings.EMBEDDED_WORKER_THREADS)
    return _embedded_worker


def stop_embedded_worker() -> None:
    """Stop the in-process worker, letting in-flight messages finish."""
    global _embedded_worker
    with _embedded_lock:
        if _embedded_worker is not None:
            _embedded_worker.stop(timeout=10_000)
            _embedded_worker = None
