from django.contrib import admin

from .models import Execution, ExecutionLog, NodeRun, WorkerHeartbeat


class NodeRunInline(admin.TabularInline):
    model = NodeRun
    fields = ("node_id", "node_type", "status", "attempts", "duration_ms", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("started_at",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ExecutionLogInline(admin.TabularInline):
    model = ExecutionLog
    fields = ("timestamp", "level", "node_id", "message", "duration_ms")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("timestamp", "seq")
    max_num = 0

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    """Executions with their status, node runs and logs."""

    list_display = ("id", "workflow", "owner", "status", "progress", "current_node",
                    "execution_time", "created_at")
    list_filter = ("status", "created_at")
    search_fields = ("id", "workflow__name", "owner__username", "error")
    list_select_related = ("workflow", "owner")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Execution._meta.fields]
    inlines = [NodeRunInline, ExecutionLogInline]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    """Worker processes and when each last reported."""

    list_display = ("worker_id", "hostname", "pid", "embedded", "started_at", "last_seen")
    readonly_fields = [f.name for f in WorkerHeartbeat._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
