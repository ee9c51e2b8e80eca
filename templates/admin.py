from django.contrib import admin, messages

from workflows.diagram import svg_html

from . import services
from .models import TemplateStatus, WorkflowTemplate


@admin.register(WorkflowTemplate)
class WorkflowTemplateAdmin(admin.ModelAdmin):
    """Template curation: operators publish, reject and feature what users submit."""

    list_display = ("name", "category", "status", "featured", "origin", "times_used",
                    "updated_at")
    list_filter = ("status", "featured", "category")
    search_fields = ("name", "description", "category", "author__username", "source_key")
    list_select_related = ("author",)
    readonly_fields = ("id", "graph_picture", "author", "source_key", "times_used",
                       "created_at", "updated_at")
    fields = ("id", "name", "description", "category", "tags", "status", "featured",
              "review_comment", "graph_picture", "nodes", "edges", "author", "source_key",
              "times_used", "created_at", "updated_at")
    actions = ("publish", "reject", "feature", "unfeature")

    @admin.display(description="Origin")
    def origin(self, obj: WorkflowTemplate) -> str:
        return "built-in" if obj.is_builtin else (obj.author.username if obj.author else "-")

    @admin.display(description="Graph")
    def graph_picture(self, obj: WorkflowTemplate) -> str:
        return svg_html(obj.nodes, obj.edges)

    @admin.action(description="Publish the selected templates")
    def publish(self, request, queryset) -> None:
        for template in queryset:
            services.template_set_status(template=template, status=TemplateStatus.PUBLISHED)
        self.message_user(request, f"Published {queryset.count()} template(s).",
                          messages.SUCCESS)

    @admin.action(description="Reject the selected templates")
    def reject(self, request, queryset) -> None:
        for template in queryset:
            services.template_set_status(template=template, status=TemplateStatus.REJECTED)
        self.message_user(request, f"Rejected {queryset.count()} template(s).",
                          messages.WARNING)

    @admin.action(description="Feature the selected templates")
    def feature(self, request, queryset) -> None:
        for template in queryset:
            services.template_set_featured(template=template, featured=True)
        self.message_user(request, f"Featured {queryset.count()} template(s).")

    @admin.action(description="Stop featuring the selected templates")
    def unfeature(self, request, queryset) -> None:
        for template in queryset:
            services.template_set_featured(template=template, featured=False)
        self.message_user(request, f"{queryset.count()} template(s) no longer featured.")
