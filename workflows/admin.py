from django.contrib import admin, messages
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from rest_framework.exceptions import APIException

from . import services
from .diagram import svg_html
from .diff import diff_versions
from .models import Workflow, WorkflowVersion


def graph_picture(nodes, edges) -> str:
    """The graph's SVG, inline and scrollable, for readonly admin fields."""
    return svg_html(nodes, edges)


class WorkflowVersionInline(admin.TabularInline):
    model = WorkflowVersion
    fields = ("number", "name", "comment", "author", "created_at", "compare")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-number",)
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Changes")
    def compare(self, obj: WorkflowVersion) -> str:
        if obj.number <= 1:
            return "-"
        url = reverse("admin:workflows_workflow_diff", args=[obj.workflow_id])
        return format_html('<a href="{}?from={}&amp;to={}">diff with v{}</a>', url,
                           obj.number - 1, obj.number, obj.number - 1)


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    """Workflows with their graph as a picture, their versions and diffs between versions."""

    list_display = ("name", "status", "owner", "version", "updated_at")
    list_filter = ("status",)
    search_fields = ("name", "description", "owner__username")
    list_select_related = ("owner",)
    readonly_fields = ("id", "version", "graph", "created_at", "updated_at")
    raw_id_fields = ("owner",)
    inlines = [WorkflowVersionInline]

    @admin.display(description="Graph")
    def graph(self, obj: Workflow) -> str:
        return graph_picture(obj.nodes, obj.edges)

    def save_model(self, request, obj: Workflow, form, change: bool) -> None:
        """Edits go through the services, so that every change is a new numbered version."""
        if not change:
            created = services.workflow_create(
                owner=obj.owner, name=obj.name, description=obj.description,
                nodes=obj.nodes, edges=obj.edges, comment=f"Created by {request.user} (admin)")
            obj.pk, obj.version = created.pk, created.version
            return
        versioned = {name: getattr(obj, name) for name in services.VERSIONED_FIELDS}
        updated = services.workflow_update(workflow=obj, author=request.user,
                                           comment=f"Edited by {request.user} (admin)",
                                           **versioned)
        if "owner" in form.changed_data:
            Workflow.objects.filter(pk=obj.pk).update(owner=obj.owner)
        if "status" in form.changed_data:
            try:
                services.workflow_set_status(workflow=updated, status=obj.status)
            except APIException as exc:  # e.g. publishing an invalid graph
                obj.status = updated.status
                self.message_user(request, f"Status not changed: {exc.detail}", messages.ERROR)
        obj.version = updated.version

    def get_urls(self):
        return [
            path("<uuid:object_id>/diff/", self.admin_site.admin_view(self.diff_view),
                 name="workflows_workflow_diff"),
            *super().get_urls(),
        ]

    def diff_view(self, request, object_id):
        """Two versions side by side: pictures plus nodes/edges added, removed and changed."""
        workflow = get_object_or_404(Workflow, pk=object_id)
        if not self.has_view_permission(request, workflow):
            raise Http404
        versions = list(WorkflowVersion.objects.filter(workflow=workflow).order_by("number")
                        .values_list("number", flat=True))
        try:
            new_number = int(request.GET.get("to") or workflow.version)
            old_number = int(request.GET.get("from") or max(new_number - 1, 1))
        except ValueError as exc:
            raise Http404("Versions are numbers.") from exc
        old = get_object_or_404(WorkflowVersion, workflow=workflow, number=old_number)
        new = get_object_or_404(WorkflowVersion, workflow=workflow, number=new_number)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{workflow.name}: version {old.number} → {new.number}",
            "workflow": workflow,
            "old": old,
            "new": new,
            "versions": versions,
            "diff": diff_versions(old, new),
            "old_graph": graph_picture(old.nodes, old.edges),
            "new_graph": graph_picture(new.nodes, new.edges),
        }
        return TemplateResponse(request, "admin/workflows/workflow/diff.html", context)


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(admin.ModelAdmin):
    """Immutable snapshots of workflows."""

    list_display = ("workflow", "number", "comment", "author", "created_at")
    search_fields = ("workflow__name", "comment")
    list_select_related = ("workflow", "author")
    readonly_fields = [*[f.name for f in WorkflowVersion._meta.fields], "graph"]

    @admin.display(description="Graph")
    def graph(self, obj: WorkflowVersion) -> str:
        return graph_picture(obj.nodes, obj.edges)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
