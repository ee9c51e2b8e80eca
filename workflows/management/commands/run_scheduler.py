"""`manage.py run_scheduler`: a dedicated process that fires due schedules.

Workers already fire schedules from their heartbeat (unless SCHEDULER_IN_WORKERS is off), and
any number of schedulers may run at once: each due run is claimed by exactly one of them.
"""

import logging
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections

from workflows.schedules import schedules_fire_due

logger = logging.getLogger(__name__)


def _instant(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--now {value!r} is not an ISO 8601 time "
                           "(e.g. 2030-01-01T09:00:00+00:00).") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Fire due schedules, every --interval seconds (or once with --once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="One pass, then exit.")
        parser.add_argument("--interval", type=float, default=5.0,
                            help="Seconds between passes (default 5).")
        parser.add_argument("--now", type=_instant, default=None,
                            help="With --once: the time to fire at, ISO 8601 (for tests).")

    def handle(self, *args, once: bool, interval: float, now: datetime | None, **options):
        if now is not None and not once:
            raise CommandError("--now only makes sense with --once.")
        if settings.EMBEDDED_WORKER:
            self.stderr.write("Note: without BROKER_URL the runs this process starts reach no "
                              "worker until the reaper re-enqueues them; in the embedded default "
                              "the in-process worker fires schedules itself.")
        if once:
            fired = schedules_fire_due(now=now)
            self.stdout.write(f"fired {fired}")
            return
        while True:
            close_old_connections()
            try:
                schedules_fire_due()
            except DatabaseError:  # The database may be restarting; the next pass tries again.
                logger.warning("Firing schedules failed", exc_info=True)
            time.sleep(interval)
