from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from rest_framework.exceptions import APIException
from rest_framework_simplejwt.tokens import AccessToken

from workflows.diagram import svg_html

from . import services
from .approvals import pending_approvals
from .models import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    Batch,
    BatchItem,
    ComputeServer,
    Execution,
    ExecutionLog,
    ExecutionStatus,
    NodeRun,
    NodeRunStatus,
    Upload,
    WorkerHeartbeat,
)


def node_states(execution: Execution) -> dict[str, str]:
    """Each node's state for the picture: its NodeRun's status, else running or pending."""
    version = execution.workflow_version
    parents = {n["id"]: n.get("parentId") for n in version.nodes or []
               if isinstance(n, dict) and isinstance(n.get("id"), str)}
    recorded = dict(NodeRun.objects.filter(execution=execution)
                    .values_list("node_id", "status"))
    states = {}
    for node_id, parent in parents.items():
        state = recorded.get(node_id)
        if state is None and parent is not None:
            # Loop bodies are recorded through their loop: a finished loop finished them.
            loop_state = recorded.get(parent)
            state = loop_state if loop_state in (NodeRunStatus.COMPLETED,
                                                 NodeRunStatus.FAILED) else None
        if state is None and execution.current_node == node_id \
                and execution.status == ExecutionStatus.RUNNING:
            state = "running"
        states[node_id] = state or "pending"
    return states


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


class _RecordAdmin(admin.ModelAdmin):
    """A monitoring view of records that the API writes: operators read, filter and delete."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "show_save": False,
                         "show_save_and_continue": False, "show_save_and_add_another": False}
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Execution)
class ExecutionAdmin(_RecordAdmin):
    """Executions: a live picture of the run, its node runs and logs, cancel and retry."""

    list_display = ("id", "workflow", "owner", "status", "progress", "current_node",
                    "execution_time", "created_at")
    list_filter = ("status", "created_at")
    search_fields = ("id", "workflow__name", "owner__username", "error")
    list_select_related = ("workflow", "owner")
    date_hierarchy = "created_at"
    inlines = [NodeRunInline, ExecutionLogInline]
    change_form_template = "admin/executions/execution/live_change_form.html"
    change_list_template = "admin/executions/execution/approvals_link_change_list.html"

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("approvals/", view(self.approvals_view), name="executions_approvals"),
            path("<uuid:object_id>/state/", view(self.state_view),
                 name="executions_execution_state"),
            path("<uuid:object_id>/cancel/", view(require_POST(self.cancel_view)),
                 name="executions_execution_cancel"),
            path("<uuid:object_id>/retry/", view(require_POST(self.retry_view)),
                 name="executions_execution_retry"),
            *super().get_urls(),
        ]

    # -- the live page -----------------------------------------------------------------------
    def _execution(self, request, object_id, *, change: bool = False) -> Execution:
        execution = get_object_or_404(Execution.objects.select_related("workflow_version"),
                                      pk=object_id)
        allowed = (self.has_change_permission(request, execution) if change
                   else self.has_view_permission(request, execution))
        if not allowed:
            raise PermissionDenied
        return execution

    @staticmethod
    def _socket_token(request) -> str:
        # A short-lived access token of the logged-in operator: the page's WebSocket sends it
        # in the query string, as every client of the contract does.
        return str(AccessToken.for_user(request.user))

    def _state(self, request, execution: Execution) -> dict:
        return {
            "id": str(execution.pk),
            "status": execution.status,
            "progress": execution.progress,
            "current_node": execution.current_node or None,
            "error": execution.error or None,
            "terminal": execution.status in TERMINAL_STATUSES,
            "nodes": node_states(execution),
            "token": self._socket_token(request),
        }

    def change_view(self, request, object_id, form_url="", extra_context=None):
        execution = self._execution(request, object_id)
        state = self._state(request, execution)
        version = execution.workflow_version
        extra_context = {
            **(extra_context or {}),
            "live_graph": svg_html(version.nodes, version.edges, state["nodes"],
                                   element_id="execution-graph"),
            "live_config": {
                "execution_id": state["id"], "token": state["token"],
                "status": state["status"], "terminal": state["terminal"],
                "state_url": reverse("admin:executions_execution_state", args=[execution.pk]),
                "socket_path": f"/api/v1/ws/executions/{execution.pk}",
            },
            "execution_status": execution.status,
            "can_cancel": execution.status in ACTIVE_STATUSES,
            "waiting_approvals": pending_approvals(request.user).filter(execution=execution),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def state_view(self, request, object_id):
        """The execution's state as JSON, for the live page to resync after events."""
        return JsonResponse(self._state(request, self._execution(request, object_id)))

    def cancel_view(self, request, object_id):
        execution = self._execution(request, object_id, change=True)
        try:
            services.execution_cancel(execution=execution)
            self.message_user(request, "The execution was cancelled.", messages.SUCCESS)
        except APIException as exc:
            self.message_user(request, str(exc.detail), messages.ERROR)
        return HttpResponseRedirect(reverse("admin:executions_execution_change",
                                            args=[execution.pk]))

    def retry_view(self, request, object_id):
        """A new execution of the workflow's current version with the same input."""
        execution = self._execution(request, object_id, change=True)
        try:
            again = services.execution_create(owner=execution.owner,
                                              workflow=execution.workflow,
                                              input_data=execution.input_data)
        except APIException as exc:
            self.message_user(request, f"Could not retry: {exc.detail}", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:executions_execution_change",
                                                args=[execution.pk]))
        self.message_user(request, f"Started execution {again.pk} with the same input.",
                          messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:executions_execution_change",
                                            args=[again.pk]))

    # -- the approval queue ----------------------------------------------------------------
    def approvals_view(self, request):
        """Pending approvals; approving or rejecting resumes the execution."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            return self._answer(request)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Pending approvals",
            "approvals": pending_approvals(request.user)[:500],
        }
        return TemplateResponse(request, "admin/executions/approvals.html", context)

    def _answer(self, request):
        if not self.has_change_permission(request):
            raise PermissionDenied
        decision = request.POST.get("decision")
        run = pending_approvals(request.user).filter(pk=request.POST.get("node_run")).first()
        if run is None or decision not in ("approve", "reject"):
            raise Http404("No such pending approval.")
        content = {"approved": decision == "approve",
                   "comment": request.POST.get("comment", "").strip()}
        try:
            services.execution_resume(execution=run.execution, by=request.user,
                                      node_id=run.node_id, content=content)
        except APIException as exc:
            detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
            self.message_user(request, f"Could not answer: {detail}", messages.ERROR)
        else:
            verb = "Approved" if content["approved"] else "Rejected"
            self.message_user(request, f"{verb} '{run.node_id}' of execution "
                                       f"{run.execution_id}.", messages.SUCCESS)
        target = request.POST.get("next") or ""
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = reverse("admin:executions_approvals")  # never an open redirect
        return HttpResponseRedirect(target)


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    """Worker processes and when each last reported."""

    list_display = ("worker_id", "hostname", "pid", "embedded", "started_at", "last_seen")
    readonly_fields = [f.name for f in WorkerHeartbeat._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


class BatchItemInline(admin.TabularInline):
    model = BatchItem
    fields = ("index", "status", "execution", "error", "started_at", "finished_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("index",)


@admin.register(Batch)
class BatchAdmin(_RecordAdmin):
    """Batch runs with their progress and items."""

    list_display = ("id", "name", "workflow", "owner", "status", "total", "completed_count",
                    "failed_count", "server", "created_at")
    list_filter = ("status", "created_at")
    search_fields = ("id", "name", "workflow__name", "owner__username")
    list_select_related = ("workflow", "owner", "server")
    inlines = [BatchItemInline]


@admin.register(ComputeServer)
class ComputeServerAdmin(_RecordAdmin):
    """Compute servers (named worker pools) and their state."""

    list_display = ("name", "type", "owner", "enabled", "status", "batch_size",
                    "last_checked_at")
    list_filter = ("type", "status", "enabled")
    search_fields = ("name", "url", "owner__username")
    list_select_related = ("owner",)


@admin.register(Upload)
class UploadAdmin(_RecordAdmin):
    """Uploaded files (stored under generated names)."""

    list_display = ("name", "folder", "owner", "content_type", "size", "created_at")
    list_filter = ("content_type", "created_at")
    search_fields = ("name", "folder", "owner__username", "sha256")
    list_select_related = ("owner",)
