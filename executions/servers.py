"""Compute servers: named worker pools, each with its own Dramatiq queue `executions.<name>`.

A run sent to a server is a message on that queue; `manage.py rundramatiq --queues
executions.<name>` workers consume it (their heartbeat lists the queues they consume, which is
how a server's health is known). In the embedded default the in-process worker consumes every
queue declared in its process, so it serves every server: the queue is declared before the first
message goes to it. A remote server (one with a `url`) with no worker heartbeat of its own is
checked at `<url>/health` instead.

A server is refused for new work when disabled (400), in maintenance, set offline or without a
live worker (503), or busy: working on a batch, or running `batch_size` runs already (503).
"""

from dataclasses import dataclass
from datetime import timedelta

import dramatiq
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from platform_site.api.errors import APIError, Conflict, ServiceUnavailable
from platform_site.api.viewsets import visible_to

from .models import (
    ACTIVE_STATUSES,
    SERVER_QUEUE_PREFIX,
    ComputeServer,
    Execution,
    ServerStatus,
    ServerType,
    WorkerHeartbeat,
)

HEALTH_PROBE_TIMEOUT_S = 3.0


def server_queue(name: str) -> str:
    """The queue of a server, declared on this process's broker.

    The stub broker of the embedded default refuses messages to undeclared queues, and
    declaring a queue gives the in-process worker a consumer for it; elsewhere it costs nothing.
    """
    queue = SERVER_QUEUE_PREFIX + name
    broker = dramatiq.get_broker()
    if queue not in broker.get_declared_queues():
        broker.declare_queue(queue)
    return queue


def send_run(execution_id, *, server_id=None) -> None:
    """Send the message that runs an execution to its server's queue (or the default one)."""
    from .actors import run_execution

    message = run_execution.message(str(execution_id))
    if server_id is not None:
        name = ComputeServer.objects.filter(pk=server_id).values_list("name", flat=True).first()
        if name:
            message = message.copy(queue_name=server_queue(name))
    dramatiq.get_broker().enqueue(message)


# -- health ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Health:
    """How a server is: `healthy` when something will run its queue."""

    healthy: bool
    workers: int
    detail: str

    def to_dict(self, server: ComputeServer) -> dict:
        return {"status": "healthy" if self.healthy else "unhealthy", "workers": self.workers,
                "queue": server.queue_name, "detail": self.detail,
                "checked_at": server.last_checked_at or timezone.now()}


def _live_heartbeats() -> list[dict]:
    horizon = timezone.now() - timedelta(seconds=settings.WORKER_HEARTBEAT_SECONDS * 3)
    return list(WorkerHeartbeat.objects.filter(last_seen__gte=horizon)
                .values("worker_id", "embedded", "queues"))


def _workers_serving(server: ComputeServer, beats: list[dict]) -> int:
    if settings.EMBEDDED_WORKER:
        # The in-process worker consumes every declared queue, server queues included.
        return sum(1 for beat in beats if beat["embedded"])
    return sum(1 for beat in beats if server.queue_name in (beat["queues"] or []))


def _probe(url: str) -> tuple[bool, str]:
    from datasources.outbound import OutboundError
    from platform_site.outbound import outbound_client

    target = url.rstrip("/") + "/health"
    try:
        response = outbound_client().request("GET", target, timeout=HEALTH_PROBE_TIMEOUT_S)
    except OutboundError as exc:
        return False, f"{target}: {exc}"
    if response.ok:
        return True, f"{target} answered {response.status_code}."
    return False, f"{target} answered {response.status_code}."


def server_health(server: ComputeServer, *, beats: list[dict] | None = None,
                  probe: bool = True) -> Health:
    """Whether a worker serves the server's queue now (or, for a remote one, its URL answers)."""
    workers = _workers_serving(server, _live_heartbeats() if beats is None else beats)
    if workers:
        return Health(True, workers, f"{workers} worker(s) consume {server.queue_name}.")
    if server.type == ServerType.REMOTE and server.url and probe:
        healthy, detail = _probe(server.url)
        return Health(healthy, 0, detail)
    return Health(False, 0, f"No worker consumes {server.queue_name}: start one with "
                            f"`manage.py rundramatiq --queues {server.queue_name}`.")


def server_check_health(*, server: ComputeServer) -> Health:
    """Check a server and record the outcome: healthy brings it online, unhealthy offline."""
    health = server_health(server)
    status = server.status
    if health.healthy and status == ServerStatus.OFFLINE:
        status = ServerStatus.ONLINE
    elif not health.healthy and status == ServerStatus.ONLINE:
        status = ServerStatus.OFFLINE
    server.status = status
    server.last_checked_at = timezone.now()
    server.save(update_fields=["status", "last_checked_at", "updated_at"])
    return health


# -- availability ----------------------------------------------------------------------------


class ServerDisabled(APIError):
    error_code = "SERVER_DISABLED"
    default_detail = "The server is disabled."


def _refusal(server: ComputeServer, *, beats: list[dict] | None = None,
             for_batch: bool = False) -> APIError | None:
    """Why the server cannot take new work now, or None."""
    if not server.enabled:
        return ServerDisabled(f"Server '{server.name}' is disabled.")
    if server.status == ServerStatus.MAINTENANCE:
        return ServiceUnavailable(f"Server '{server.name}' is in maintenance.",
                                  error_code="SERVER_MAINTENANCE")
    if server.status == ServerStatus.BUSY or server.current_batch_id is not None:
        return ServiceUnavailable(f"Server '{server.name}' is busy with another batch.",
                                  error_code="SERVER_BUSY")
    if server.status == ServerStatus.OFFLINE:
        return ServiceUnavailable(f"Server '{server.name}' is offline.",
                                  error_code="SERVER_OFFLINE")
    if not for_batch:
        active = Execution.objects.filter(server=server, status__in=ACTIVE_STATUSES).count()
        if active >= server.batch_size:
            return ServiceUnavailable(
                f"Server '{server.name}' runs {active} executions, its limit (batch_size).",
                error_code="SERVER_BUSY")
    health = server_health(server, beats=beats)
    if not health.healthy:
        return ServiceUnavailable(f"Server '{server.name}' is offline: {health.detail}",
                                  error_code="SERVER_OFFLINE")
    return None


def server_require_available(*, server: ComputeServer, for_batch: bool = False) -> None:
    """Refuse a server that cannot take new work: 400 when disabled, 503 otherwise."""
    refusal = _refusal(server, for_batch=for_batch)
    if refusal is not None:
        raise refusal


def server_for_run(*, user, server_id) -> ComputeServer | None:
    """The server an execute request names (None: the default pool), checked for new work."""
    if server_id is None:
        return None
    server = visible_to(ComputeServer.objects.all(), user).filter(pk=server_id).first()
    if server is None:
        from rest_framework.exceptions import NotFound

        raise NotFound("Compute server not found.")
    server_require_available(server=server)
    return server


def servers_available(*, user) -> QuerySet:
    """The user's servers that would take new work now (remote ones by their last check)."""
    beats = _live_heartbeats()
    candidates = visible_to(ComputeServer.objects.all(), user).filter(
        enabled=True, status=ServerStatus.ONLINE, current_batch__isnull=True)
    # No probing here: a list must stay fast; a remote server's last check stands.
    ids = [server.pk for server in candidates
           if _workers_serving(server, beats) or (server.type == ServerType.REMOTE and server.url)]
    return candidates.filter(pk__in=ids)


# -- writes ----------------------------------------------------------------------------------


def server_create(*, owner, name: str, url: str = "", type: str = ServerType.LOCAL,
                  enabled: bool = True, batch_size: int = 5) -> ComputeServer:
    """Register a server; it starts online when a worker already serves its queue."""
    server = ComputeServer(owner=owner, name=name, url=url, type=type, enabled=enabled,
                           batch_size=batch_size)
    server.status = (ServerStatus.ONLINE if server_health(server, probe=False).healthy
                     else ServerStatus.OFFLINE)
    try:
        with transaction.atomic():
            server.save(force_insert=True)
    except IntegrityError:
        raise Conflict(f"A server named '{name}' exists already.",
                       error_code="SERVER_NAME_TAKEN") from None
    return server


def server_update(*, server: ComputeServer, **changes) -> ComputeServer:
    """Change a server's url, type, enabled flag or batch size (the name is its queue's)."""
    fields = [field for field in ("url", "type", "enabled", "batch_size") if field in changes]
    for field in fields:
        setattr(server, field, changes[field])
    if fields:
        server.save(update_fields=[*fields, "updated_at"])
    return server


def server_set_status(*, server: ComputeServer, status: str) -> ComputeServer:
    """Set a server's status by hand (maintenance or offline take it out of service)."""
    server.status = status
    server.save(update_fields=["status", "updated_at"])
    return server


def server_delete(*, server: ComputeServer) -> None:
    """Delete a server that has no batch and no active run."""
    if server.current_batch_id is not None or Execution.objects.filter(
            server=server, status__in=ACTIVE_STATUSES).exists():
        raise Conflict(f"Server '{server.name}' has work in progress; cancel it first.",
                       error_code="SERVER_IN_USE")
    server.delete()


def server_reserve(*, server: ComputeServer, batch) -> None:
    """Give the server to a batch (it is busy until the batch ends); checks it first."""
    locked = ComputeServer.objects.select_for_update().get(pk=server.pk)
    server_require_available(server=locked, for_batch=True)
    ComputeServer.objects.filter(pk=server.pk).update(current_batch=batch,
                                                      status=ServerStatus.BUSY,
                                                      updated_at=timezone.now())


def server_release(*, server_id, batch_id) -> None:
    """Free a server from a batch that has ended (only if that batch still holds it)."""
    ComputeServer.objects.filter(pk=server_id, current_batch_id=batch_id).update(
        current_batch=None, status=ServerStatus.ONLINE, updated_at=timezone.now())
