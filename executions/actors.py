"""Dramatiq actors of the executions app: they take ids and call a service."""

import logging

import dramatiq
from django.conf import settings
from dramatiq.middleware import TimeLimitExceeded

from . import worker
from .running import execution_run

logger = logging.getLogger(__name__)


@dramatiq.actor(
    queue_name="executions",
    max_retries=settings.EXECUTION_MAX_RETRIES,
    min_backoff=1_000,
    max_backoff=30_000,
    time_limit=settings.EXECUTION_TIME_LIMIT_S * 1000,
    throws=(TimeLimitExceeded,),
)
def run_execution(execution_id: str) -> None:
    """Run an execution; safe to deliver twice (claims are conditional updates)."""
    try:
        execution_run(execution_id=execution_id, worker_id=worker.current_worker_id())
    except TimeLimitExceeded:
        from .reaper import execution_fail

        execution_fail(execution_id=execution_id,
                       error=f"The run exceeded its time limit of "
                             f"{settings.EXECUTION_TIME_LIMIT_S} s.")
        raise
