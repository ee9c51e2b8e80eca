"""Reads of the executions app."""

from django.db.models import Count, Q, QuerySet, Sum

from platform_site.api.viewsets import visible_to

from .models import TERMINAL_STATUSES, Execution, ExecutionLog, ExecutionStatus


def execution_status_data(execution: Execution) -> dict:
    return {"status": execution.status, "progress": execution.progress,
            "current_node": execution.current_node or None}


def execution_result_data(execution: Execution) -> dict:
    return {**execution_status_data(execution), "output_data": execution.output_data,
            "error": execution.error or None, "execution_time": execution.execution_time}


def execution_snapshot(*, execution_id, user) -> dict | None:
    """What a new subscriber sees first, or None when the execution is not the user's."""
    execution = (
        visible_to(Execution.objects.all(), user)
        .filter(pk=execution_id)
        .only("id", "owner_id", "status", "progress", "current_node", "event_seq",
              "output_data", "error", "execution_time")
        .first()
    )
    if execution is None:
        return None
    return {
        "status": execution_status_data(execution),
        "seq": execution.event_seq,
        "terminal": execution.status in TERMINAL_STATUSES,
        "result": execution_result_data(execution),
    }


def log_summary(*, execution: Execution) -> dict:
    """Counts of an execution's logs by level and by node, and its error lines."""
    logs = ExecutionLog.objects.filter(execution=execution)
    level_stats = {level: 0 for level in ("debug", "info", "warn", "error")}
    level_stats.update(dict(logs.values_list("level").annotate(n=Count("id")).order_by()))
    node_stats = [
        {"node_id": row["node_id"], "node_type": row["node_type"], "log_count": row["n"],
         "total_duration_ms": row["total"] or 0}
        for row in logs.exclude(node_id="").values("node_id", "node_type")
        .annotate(n=Count("id"), total=Sum("duration_ms")).order_by("node_id")
    ]
    return {
        "total_logs": sum(level_stats.values()),
        "level_stats": level_stats,
        "node_stats": node_stats,
        "error_logs": list(logs.filter(level="error").order_by("timestamp", "seq")[:100]),
    }


def executions_for(*, user, workflow_id=None, status=None, search=None) -> QuerySet:
    queryset = visible_to(Execution.objects.all(), user)
    if workflow_id:
        queryset = queryset.filter(workflow_id=workflow_id)
    if status:
        queryset = queryset.filter(status=status)
    if search:
        queryset = queryset.filter(
            Q(workflow__name__icontains=search) | Q(error__icontains=search)
            | Q(current_node__icontains=search)
        )
    return queryset


__all__ = ["ExecutionStatus", "execution_snapshot", "executions_for", "log_summary"]
