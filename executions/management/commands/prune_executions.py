"""Delete finished executions (with their node runs and logs) older than a given age."""

import re
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from executions.models import TERMINAL_STATUSES, Execution

UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([smhdw])", text.strip())
    if not match:
        raise CommandError(f"--older-than {text!r}: use a number and a unit, e.g. 30d, 12h, 90m.")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


class Command(BaseCommand):
    help = "Delete finished executions older than --older-than (e.g. 30d), in batches."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--older-than", default="30d",
                            help="Age such as 30d, 12h (default 30d).")
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--dry-run", action="store_true", help="Only count what would go.")

    def handle(self, *args, older_than: str, batch_size: int, dry_run: bool, **options) -> None:
        cutoff = timezone.now() - parse_age(older_than)
        old = Execution.objects.filter(status__in=TERMINAL_STATUSES, created_at__lt=cutoff)
        total = old.count()
        if dry_run:
            self.stdout.write(f"{total} executions finished before {cutoff:%Y-%m-%d %H:%M} "
                              "would be deleted.")
            return
        deleted = 0
        while True:
            ids = list(old.values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            Execution.objects.filter(pk__in=ids).delete()
            deleted += len(ids)
            width = 30
            done = int(width * deleted / total) if total else width
            self.stdout.write(f"\r[{'#' * done}{'.' * (width - done)}] {deleted}/{total}",
                              ending="")
            self.stdout.flush()
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(
            f"Deleted {deleted} executions finished before {cutoff:%Y-%m-%d %H:%M}."))
