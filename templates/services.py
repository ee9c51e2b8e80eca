"""Writes of the templates app: use a template, submit one, curate, import the built-ins."""

import copy
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.db.models import F

from platform_site.api.parsers import loads_storable
from workflows.graphs import validate_graph
from workflows.models import Workflow
from workflows.services import require_valid, workflow_create

from .models import TemplateStatus, WorkflowTemplate

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"
BUILTIN_FIELDS = ("name", "description", "category", "tags", "nodes", "edges", "featured")


@transaction.atomic
def template_create_workflow(*, template: WorkflowTemplate, owner, name: str | None = None,
                             description: str | None = None) -> Workflow:
    """A new draft workflow of `owner` made from the template; counts the use."""
    workflow = workflow_create(
        owner=owner,
        name=name or template.name,
        description=template.description if description is None else description,
        # Deep copies: the workflow must never share JSON objects with the template row.
        nodes=copy.deepcopy(template.nodes),
        edges=copy.deepcopy(template.edges),
        comment=f"Created from template {template.name!r}",
    )
    WorkflowTemplate.objects.filter(pk=template.pk).update(times_used=F("times_used") + 1)
    return workflow


def template_submit(*, author, workflow: Workflow, category: str, tags: list[str],
                    name: str | None = None, description: str | None = None
                    ) -> WorkflowTemplate:
    """Offer one of the author's workflows as a template; it waits as a draft for an operator."""
    require_valid(workflow.nodes, workflow.edges)  # 422: only runnable graphs become templates
    return WorkflowTemplate.objects.create(
        name=name or workflow.name,
        description=workflow.description if description is None else description,
        category=category or "general",
        tags=list(tags),
        nodes=copy.deepcopy(workflow.nodes),
        edges=copy.deepcopy(workflow.edges),
        status=TemplateStatus.DRAFT,
        author=author,
    )


def template_set_status(*, template: WorkflowTemplate, status: str, comment: str = ""
                        ) -> WorkflowTemplate:
    """Publish or reject a template (operators)."""
    template.status = status
    template.review_comment = comment[:500]
    template.save(update_fields=["status", "review_comment", "updated_at"])
    return template


def template_set_featured(*, template: WorkflowTemplate, featured: bool) -> WorkflowTemplate:
    """Feature a template at the top of the catalogue, or stop featuring it."""
    template.featured = featured
    template.save(update_fields=["featured", "updated_at"])
    return template


@dataclass
class ImportSummary:
    """What an import of built-in templates did, file by file."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)


def load_builtin(path: Path) -> dict:
    """Read and check one built-in template file; raises ValueError saying what is wrong."""
    try:
        document = loads_storable(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise ValueError(f"not readable JSON ({exc})") from None
    if not isinstance(document, dict):
        raise ValueError("the document is not a JSON object")
    key = document.get("source_key") or path.stem
    if not isinstance(key, str) or not key.strip():
        raise ValueError("'source_key' must be a non-empty string")
    if not isinstance(document.get("name"), str) or not document["name"].strip():
        raise ValueError("'name' is required")
    tags = document.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise ValueError("'tags' must be a list of strings")
    result = validate_graph(document.get("nodes", []), document.get("edges", []))
    if not result.valid:
        raise ValueError("invalid graph: " + "; ".join(i.message for i in result.errors[:5]))
    return {
        "source_key": key.strip(),
        "name": document["name"].strip(),
        "description": str(document.get("description", "")),
        "category": str(document.get("category") or "general"),
        "tags": tags,
        "nodes": document.get("nodes", []),
        "edges": document.get("edges", []),
        "featured": bool(document.get("featured", False)),
    }


@transaction.atomic
def builtin_templates_import(*, directory: Path = BUILTIN_DIR) -> ImportSummary:
    """Create or update the built-in templates from JSON files, matched by `source_key`.

    Idempotent: an unchanged file changes nothing. A built-in that an operator rejected stays
    rejected; `featured` is only set when the template is created, so curation survives.
    """
    summary = ImportSummary()
    for path in sorted(Path(directory).glob("*.json")):
        try:
            data = load_builtin(path)
        except ValueError as exc:
            summary.invalid.append((path.name, str(exc)))
            continue
        key = data.pop("source_key")
        existing = WorkflowTemplate.objects.select_for_update().filter(source_key=key).first()
        if existing is None:
            WorkflowTemplate.objects.create(source_key=key, status=TemplateStatus.PUBLISHED,
                                            author=None, **data)
            summary.created.append(key)
            continue
        data.pop("featured")
        changed = [name for name, value in data.items() if getattr(existing, name) != value]
        if not changed:
            summary.unchanged.append(key)
            continue
        for name in changed:
            setattr(existing, name, data[name])
        existing.save(update_fields=[*changed, "updated_at"])
        summary.updated.append(key)
    return summary
