"""`manage.py export_workflows [--owner USERNAME] [--out DIR]`: one export file per workflow.

Files have the `GET /api/v1/workflows/{id}/export` format, so `import_workflows DIR` (or
`POST /api/v1/workflows/import`) reads them back.
"""

import json
import re
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from workflows.models import Workflow
from workflows.services import workflow_export

from ._progress import ProgressBar


def file_name(workflow: Workflow) -> str:
    """A readable, unique file name: the name's slug and the id's first characters."""
    slug = re.sub(r"[^a-z0-9]+", "-", workflow.name.lower()).strip("-")[:60] or "workflow"
    return f"{slug}-{str(workflow.pk)[:8]}.json"


class Command(BaseCommand):
    help = __doc__.strip().splitlines()[0]

    def add_arguments(self, parser) -> None:
        parser.add_argument("--owner", help="Only this user's workflows (default: everyone's).")
        parser.add_argument("--out", help="Folder to write to (default: "
                                          "$DATA_DIR/exports/<timestamp>).")

    def handle(self, *args, **options) -> None:
        workflows = Workflow.objects.select_related("owner").order_by("owner__username", "name")
        if options.get("owner"):
            owner = get_user_model().objects.filter(username=options["owner"]).first()
            if owner is None:
                raise CommandError(f"There is no user {options['owner']!r}.")
            workflows = workflows.filter(owner=owner)
        out = Path(options.get("out") or Path(settings.DATA_DIR) / "exports"
                   / timezone.now().strftime("%Y%m%d-%H%M%S"))
        out.mkdir(parents=True, exist_ok=True)
        total = workflows.count()
        bar = ProgressBar(self.stdout, total)
        failed = []
        for workflow in workflows.iterator(chunk_size=200):
            target = out / file_name(workflow)
            try:
                target.write_text(json.dumps(workflow_export(workflow=workflow), indent=2,
                                             ensure_ascii=False) + "\n", encoding="utf-8")
            except OSError as exc:
                failed.append((target.name, str(exc)))
            bar.advance(target.name)
        bar.close()
        self.stdout.write(f"Exported {total - len(failed)} workflow(s) to {out}.")
        for name, reason in failed:
            self.stderr.write(f"  failed  {name}: {reason}")
        if failed and len(failed) == total:
            raise CommandError("No workflow could be written.")
