"""`manage.py import_templates`: create or update the built-in templates (idempotent)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from templates.services import BUILTIN_DIR, builtin_templates_import


class Command(BaseCommand):
    help = ("Create or update the built-in workflow templates from templates/builtin/*.json, "
            "matched by source_key; running it again changes nothing unless a file changed.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dir", default=str(BUILTIN_DIR),
                            help="Folder of template JSON files (default: the built-ins).")

    def handle(self, *args, **options) -> None:
        directory = Path(options["dir"])
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a folder.")
        summary = builtin_templates_import(directory=directory)
        for name, reason in summary.invalid:
            self.stderr.write(f"  invalid  {name}: {reason}")
        self.stdout.write(
            f"Templates: {len(summary.created)} created, {len(summary.updated)} updated, "
            f"{len(summary.unchanged)} unchanged, {len(summary.invalid)} invalid."
        )
        for label, keys in (("created", summary.created), ("updated", summary.updated)):
            for key in keys:
                self.stdout.write(f"  {label}  {key}")
