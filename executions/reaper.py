"""Finding executions nobody is running any more, and giving them to a worker again."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from . import events
from .models import Execution, ExecutionStatus

logger = logging.getLogger(__name__)


def execution_fail(*, execution_id: str, error: str) -> bool:
    """End a still-active execution as failed with a reason (conditional)."""
    now = timezone.now()
    updated = Execution.objects.filter(
        pk=execution_id, status__in=[ExecutionStatus.PENDING, ExecutionStatus.RUNNING]
    ).update(status=ExecutionStatus.FAILED, error=error, finished_at=now)
    if updated:
        row = Execution.objects.only("event_seq", "progress").get(pk=execution_id)
        events.publish(execution_id, "failed",
                       {"status": "failed", "progress": row.progress, "error": error},
                       row.event_seq + 1)
    return bool(updated)


def reap_stalled_executions(*, limit: int = 100) -> int:
    """Re-enqueue executions whose worker went quiet or whose message was lost.

    Running executions whose heartbeat is older than EXECUTION_STALE_SECONDS, and pending ones
    enqueued longer ago than that, get a new message; the claim decides who runs them, so a
    message that was only slow costs nothing. Executions re-enqueued too often fail with a reason.
    """
    from .servers import send_run

    now = timezone.now()
    horizon = now - timedelta(seconds=settings.EXECUTION_STALE_SECONDS)
    stalled = Q(status=ExecutionStatus.RUNNING, heartbeat_at__lt=horizon) | Q(
        status=ExecutionStatus.PENDING, enqueued_at__lt=horizon
    )
    count = 0
    with transaction.atomic():
        queryset = Execution.objects.filter(stalled).order_by("pk")
        if connection.features.has_select_for_update_skip_locked:
            queryset = queryset.select_for_update(skip_locked=True)
        rows = list(queryset.values_list("pk", "claims", "server_id")[:limit])
        for pk, claims, server_id in rows:
            if claims > settings.EXECUTION_MAX_CLAIMS:
                transaction.on_commit(lambda pk=pk: execution_fail(
                    execution_id=pk,
                    error="The run was interrupted too many times (its worker kept stopping)."))
                continue
            Execution.objects.filter(pk=pk).update(enqueued_at=now)
            # Back to the queue of its server's pool, if it has one.
            transaction.on_commit(lambda pk=pk, server_id=server_id: send_run(
                pk, server_id=server_id))
            count += 1
    if count:
        logger.info("Re-enqueued %d stalled executions", count)
    return count
