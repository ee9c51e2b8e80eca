"""`manage.py import_workflows PATH [--owner USERNAME]`: import exported workflow documents.

PATH is one file or a folder (searched recursively for *.json); each file holds one document of
the `GET /api/v1/workflows/{id}/export` format (or a JSON list of them). Every document becomes
a draft workflow of the owner, unless the owner already has a workflow with the same name and
the same graph (a duplicate: skipped). A file that cannot be read or is not such a document is
reported by name with the reason and the import goes on.

Exit status: 0 when anything could be read (imported or skipped), 1 when nothing could: the path
is missing, holds no JSON file, or every file was invalid.
"""

import hashlib
import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from platform_site.api.parsers import loads_storable
from workflows.api.serializers import ImportSerializer
from workflows.graphs import validate_graph
from workflows.models import Workflow
from workflows.services import workflow_import

from ._progress import ProgressBar

MAX_FILE_BYTES = 20 * 1024 * 1024


def graph_fingerprint(name: str, nodes: list, edges: list) -> str:
    """What makes two workflows duplicates: the same name and the same graph."""
    canonical = json.dumps([name, nodes, edges], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def default_owner():
    """The first superuser, for imports that name no owner."""
    return get_user_model().objects.filter(is_superuser=True, is_active=True) \
        .order_by("date_joined").first()


def _errors_text(errors: dict) -> str:
    flat = []
    for field, messages in errors.items():
        if isinstance(messages, dict):
            flat.append(f"{field}: {_errors_text(messages)}")
        else:
            items = messages if isinstance(messages, list) else [messages]
            flat.append(f"{field}: {' '.join(str(m) for m in items)}")
    return "; ".join(flat)


class Command(BaseCommand):
    help = __doc__.strip().splitlines()[0]

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", help="An exported workflow file, or a folder of them.")
        parser.add_argument("--owner", help="Username of the new workflows' owner "
                                            "(default: the first superuser).")

    def handle(self, *args, **options) -> None:
        owner = self._owner(options.get("owner"))
        files = self._files(Path(options["path"]))
        existing = {graph_fingerprint(w.name, w.nodes, w.edges)
                    for w in Workflow.objects.filter(owner=owner).only("name", "nodes", "edges")}
        imported, skipped, invalid, warnings = [], [], [], []
        bar = ProgressBar(self.stdout, len(files))
        for path in files:
            try:
                documents = self._read(path)
            except ValueError as exc:
                invalid.append((path, str(exc)))
                bar.advance(path.name)
                continue
            for index, document in enumerate(documents):
                where = path.name if len(documents) == 1 else f"{path.name}[{index}]"
                try:
                    outcome = self._import_one(owner, document, existing)
                except ValueError as exc:
                    invalid.append((where, str(exc)))
                    continue
                except Exception as exc:  # one bad document never loses the rest
                    invalid.append((where, f"could not be imported ({type(exc).__name__}: "
                                           f"{exc})"))
                    continue
                kind, workflow_name, problem = outcome
                (imported if kind == "imported" else skipped).append((where, workflow_name))
                if problem:
                    warnings.append((where, problem))
            bar.advance(path.name)
        bar.close()
        self._report(owner, imported, skipped, invalid, warnings)
        if not imported and not skipped:
            raise CommandError("Nothing could be imported: every file was invalid.")

    # -- steps -----------------------------------------------------------------------------
    def _owner(self, username: str | None):
        if username:
            user = get_user_model().objects.filter(username=username).first()
            if user is None:
                raise CommandError(f"There is no user {username!r}; create it or pass "
                                   "another --owner.")
            return user
        user = default_owner()
        if user is None:
            raise CommandError("Name the owner with --owner USERNAME (there is no superuser "
                               "to default to; create one with `make admin`).")
        return user

    def _files(self, path: Path) -> list[Path]:
        if path.is_file():
            return [path]
        if path.is_dir():
            files = sorted(p for p in path.rglob("*.json") if p.is_file())
            if not files:
                raise CommandError(f"{path} holds no .json file.")
            return files
        raise CommandError(f"{path} does not exist.")

    def _read(self, path: Path) -> list:
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise ValueError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
            document = loads_storable(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"not readable ({exc})") from None
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
            raise ValueError(f"not valid JSON ({exc})") from None
        documents = document if isinstance(document, list) else [document]
        if not documents:
            raise ValueError("an empty list")
        return documents

    def _import_one(self, owner, document, existing: set[str]) -> tuple[str, str, str]:
        if not isinstance(document, dict) or "workflow" not in document:
            raise ValueError('not an exported workflow (expected {"workflow": {...}, '
                             '"format_version": 1})')
        serializer = ImportSerializer(data=document)
        if not serializer.is_valid():
            raise ValueError(_errors_text(serializer.errors))
        data = serializer.validated_data["workflow"]
        fingerprint = graph_fingerprint(data["name"], data["nodes"], data["edges"])
        if fingerprint in existing:
            return "skipped", data["name"], ""
        workflow = workflow_import(owner=owner, document=serializer.validated_data)
        existing.add(fingerprint)
        result = validate_graph(workflow.nodes, workflow.edges)
        problem = "" if result.valid else (
            f"imported as a draft that cannot run yet: {result.errors[0].message}")
        return "imported", workflow.name, problem

    def _report(self, owner, imported, skipped, invalid, warnings) -> None:
        self.stdout.write(
            f"Imported {len(imported)}, skipped {len(skipped)} (duplicates), "
            f"invalid {len(invalid)} - owner {owner.username}."
        )
        for where, name in skipped:
            self.stdout.write(f"  skipped  {where}: {name!r} already exists with this graph")
        for where, problem in warnings:
            self.stdout.write(f"  warning  {where}: {problem}")
        for where, reason in invalid:
            self.stderr.write(f"  invalid  {where}: {reason}")
