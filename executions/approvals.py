"""Reads of pending approvals: approval nodes whose execution waits for an answer."""

from django.db.models import QuerySet

from platform_site.api.viewsets import visible_to

from .models import Execution, ExecutionStatus, NodeRun, NodeRunStatus


def pending_approvals(user) -> QuerySet[NodeRun]:
    """Waiting approval nodes of the executions the user may see (admins: all), oldest first."""
    return (NodeRun.objects.filter(
        status=NodeRunStatus.WAITING, node_type="approval",
        execution__status=ExecutionStatus.WAITING,
        execution__in=visible_to(Execution.objects.all(), user),
    ).select_related("execution", "execution__workflow", "execution__owner")
        .order_by("started_at", "id"))
