from django.contrib import admin

from .models import Workflow, WorkflowVersion


class WorkflowVersionInline(admin.TabularInline):
    model = WorkflowVersion
    fields = ("number", "name", "comment", "author", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-number",)
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    """Workflows with their status, owner and latest version."""

    list_display = ("name", "status", "owner", "version", "updated_at")
    list_filter = ("status",)
    search_fields = ("name", "description", "owner__username")
    list_select_related = ("owner",)
    readonly_fields = ("id", "version", "created_at", "updated_at")
    raw_id_fields = ("owner",)
    inlines = [WorkflowVersionInline]


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(admin.ModelAdmin):
    """Immutable snapshots of workflows."""

    list_display = ("workflow", "number", "comment", "author", "created_at")
    search_fields = ("workflow__name", "comment")
    list_select_related = ("workflow", "author")
    readonly_fields = [f.name for f in WorkflowVersion._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
