"""Writes of the workflows app: every change of graph, name or description is a new version."""

from django.db import transaction
from django.utils import timezone

from platform_site.api.errors import Conflict, Unprocessable

from .graphs import validate_graph
from .models import Workflow, WorkflowStatus, WorkflowVersion

VERSIONED_FIELDS = ("name", "description", "nodes", "edges")
EXPORT_FORMAT_VERSION = 1


def _snapshot(workflow: Workflow, *, author, comment: str) -> WorkflowVersion:
    return WorkflowVersion.objects.create(
        workflow=workflow,
        number=workflow.version,
        name=workflow.name,
        description=workflow.description,
        nodes=workflow.nodes,
        edges=workflow.edges,
        comment=comment,
        author=author,
    )


@transaction.atomic
def workflow_create(*, owner, name: str, description: str = "", nodes: list | None = None,
                    edges: list | None = None, comment: str = "Created") -> Workflow:
    """Create a draft workflow and its version 1."""
    workflow = Workflow.objects.create(
        owner=owner, name=name, description=description, nodes=nodes or [], edges=edges or []
    )
    _snapshot(workflow, author=owner, comment=comment)
    return workflow


def _new_version(locked: Workflow, *, fields: list[str], author, comment: str) -> Workflow:
    locked.version += 1
    locked.save(update_fields=[*fields, "version", "updated_at"])
    _snapshot(locked, author=author, comment=comment)
    return locked


@transaction.atomic
def workflow_update(*, workflow: Workflow, author, comment: str = "", **changes) -> Workflow:
    """Apply changes; a change to a versioned field makes a new version in the same transaction."""
    locked = Workflow.objects.select_for_update().get(pk=workflow.pk)
    changed = [f for f in VERSIONED_FIELDS if f in changes and changes[f] != getattr(locked, f)]
    if not changed:
        return locked
    for field in changed:
        setattr(locked, field, changes[field])
    return _new_version(locked, fields=changed, author=author,
                        comment=comment or f"Changed {', '.join(changed)}")


@transaction.atomic
def workflow_rollback(*, workflow: Workflow, number: int, author, comment: str = "") -> Workflow:
    """Make a new version equal to version `number` (raises WorkflowVersion.DoesNotExist)."""
    old = WorkflowVersion.objects.get(workflow=workflow, number=number)
    locked = Workflow.objects.select_for_update().get(pk=workflow.pk)
    for field in VERSIONED_FIELDS:
        setattr(locked, field, getattr(old, field))
    return _new_version(locked, fields=list(VERSIONED_FIELDS), author=author,
                        comment=comment or f"Rolled back to version {number}")


def require_valid(nodes: list, edges: list) -> None:
    """Refuse with 422 and the validation errors when the graph cannot run."""
    result = validate_graph(nodes, edges)
    if not result.valid:
        raise Unprocessable(
            f"The workflow graph is invalid: {result.errors[0].message}"
            + (f" (and {len(result.errors) - 1} more problems)" if len(result.errors) > 1 else ""),
            error_code="INVALID_GRAPH",
            errors=[issue.to_dict() for issue in result.errors],
        )


def workflow_set_status(*, workflow: Workflow, status: str) -> Workflow:
    """Publish, archive or re-activate a workflow; publishing requires a valid graph."""
    if status == WorkflowStatus.PUBLISHED:
        if workflow.status == WorkflowStatus.ARCHIVED:
            raise Conflict("An archived workflow must be activated before it is published.",
                           error_code="WORKFLOW_ARCHIVED")
        require_valid(workflow.nodes, workflow.edges)
    if status == WorkflowStatus.DRAFT and workflow.status != WorkflowStatus.ARCHIVED:
        raise Conflict("Only an archived workflow can be activated.", error_code="NOT_ARCHIVED")
    workflow.status = status
    workflow.save(update_fields=["status", "updated_at"])
    return workflow


def workflow_export(*, workflow: Workflow) -> dict:
    """The portable document of a workflow."""
    return {
        "workflow": {
            "name": workflow.name,
            "description": workflow.description,
            "nodes": workflow.nodes,
            "edges": workflow.edges,
        },
        "exported_at": timezone.now().isoformat(),
        "format_version": EXPORT_FORMAT_VERSION,
    }


def workflow_import(*, owner, document: dict) -> Workflow:
    """Create a draft workflow from an exported document (already checked by the serializer)."""
    data = document["workflow"]
    return workflow_create(
        owner=owner, name=data["name"], description=data.get("description", ""),
        nodes=data.get("nodes", []), edges=data.get("edges", []), comment="Imported",
    )
