"""Schedules: cron expressions in a time zone that start a workflow, each due run exactly once.

`next_run_at` is both the plan and the claim. `schedules_fire_due(now=...)` moves a due
schedule's `next_run_at` forward with a conditional update (`WHERE next_run_at = <the time it
read>`) in the same transaction that creates the execution, so however many processes run it at
once (every worker's heartbeat thread, `manage.py run_scheduler`), one wins each due run and the
others update nothing. Runs missed while no scheduler ran are not made up: the schedule fires
once and moves on to its next time after now.
"""

import logging
import zoneinfo
from datetime import UTC, datetime
from functools import lru_cache

from croniter import croniter
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import APIException, ValidationError

from executions.models import ExecutionTrigger
from executions.services import execution_create

from .models import Schedule, Workflow

logger = logging.getLogger(__name__)

CRON_ALIASES = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily",
                          "@midnight", "@hourly"})


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def clean_cron(expression: str) -> str:
    """A standard five-field cron expression (or an @alias), normalised; ValueError otherwise."""
    fields = expression.split()
    text = " ".join(fields)
    if len(fields) == 1 and text.lower() in CRON_ALIASES:
        return text.lower()
    if len(fields) != 5:
        raise ValueError("Use five fields (minute hour day-of-month month day-of-week), "
                         "e.g. '*/15 * * * *', or an alias such as @daily.")
    if not croniter.is_valid(text):
        raise ValueError(f"'{text}' is not a valid cron expression.")
    return text


def clean_timezone(name: str) -> str:
    """An IANA time zone name such as Europe/Paris; ValueError otherwise."""
    if name not in _timezones():
        raise ValueError(f"'{name}' is not an IANA time zone name (e.g. UTC, Europe/Paris).")
    return name


def next_run(cron: str, tz: str, *, after: datetime) -> datetime:
    """The first time strictly after `after` that the expression names, in UTC."""
    local = after.astimezone(zoneinfo.ZoneInfo(tz))
    return croniter(cron, local).get_next(datetime).astimezone(UTC)


def _plan(schedule: Schedule, now: datetime) -> None:
    schedule.next_run_at = next_run(schedule.cron, schedule.timezone, after=now) \
        if schedule.enabled else None


def schedule_create(*, owner, workflow: Workflow, cron: str, timezone_name: str = "UTC",
                    enabled: bool = True, input_data: dict | None = None, name: str = ""
                    ) -> Schedule:
    """Create a schedule (expression and zone already cleaned) with its first run planned."""
    schedule = Schedule(owner=owner, workflow=workflow, cron=cron, timezone=timezone_name,
                        enabled=enabled, input_data=input_data or {}, name=name)
    _plan(schedule, timezone.now())
    schedule.save(force_insert=True)
    return schedule


def schedule_update(*, schedule: Schedule, **changes) -> Schedule:
    """Change a schedule; a new expression, zone or enabling plans the next run afresh."""
    fields = [f for f in ("workflow", "cron", "timezone", "enabled", "input_data", "name")
              if f in changes]
    replan = any(f in fields and changes[f] != getattr(schedule, f)
                 for f in ("cron", "timezone", "enabled"))
    for field in fields:
        setattr(schedule, field, changes[field])
    if replan:
        _plan(schedule, timezone.now())
        fields.append("next_run_at")
    if fields:
        schedule.save(update_fields=[*fields, "updated_at"])
    return schedule


def _fire(schedule_id, planned: datetime, now: datetime) -> bool:
    """Claim one due run of a schedule and start it; False when another process claimed it."""
    with transaction.atomic():
        schedule = Schedule.objects.select_related("workflow", "owner").get(pk=schedule_id)
        following = next_run(schedule.cron, schedule.timezone, after=now)
        claimed = Schedule.objects.filter(pk=schedule_id, enabled=True,
                                          next_run_at=planned).update(
            next_run_at=following, last_run_at=now, last_error="")
        if not claimed:
            return False
        try:
            with transaction.atomic():  # a savepoint: a refused run keeps the claim
                execution_create(owner=schedule.owner, workflow=schedule.workflow,
                                 input_data=schedule.input_data,
                                 trigger=ExecutionTrigger.SCHEDULE, trigger_ref=schedule.pk)
        except (APIException, ValidationError) as exc:
            detail = getattr(exc, "detail", exc)
            Schedule.objects.filter(pk=schedule_id).update(
                last_error=f"The run could not start: {detail}"[:2000])
    return True


def schedules_fire_due(*, now: datetime | None = None, limit: int = 100) -> int:
    """Start every schedule due at `now` (default: the clock) once; returns how many fired."""
    now = now or timezone.now()
    due = list(Schedule.objects.filter(enabled=True, next_run_at__lte=now)
               .order_by("next_run_at").values_list("pk", "next_run_at")[:limit])
    fired = 0
    for schedule_id, planned in due:
        try:
            fired += _fire(schedule_id, planned, now)
        except Exception:  # One broken schedule must not stop the others.
            logger.warning("Could not fire schedule %s", schedule_id, exc_info=True)
    return fired
