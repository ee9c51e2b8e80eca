from django.urls import path, re_path

from platform_site.api.routers import OptionalSlashRouter

from .approvals import PendingApprovalListView
from .views import ExecutionLogSummaryView, ExecutionLogsView, ExecutionViewSet

router = OptionalSlashRouter()
router.register("executions", ExecutionViewSet, basename="execution")

urlpatterns = [
    *router.urls,
    re_path(r"^approvals/?$", PendingApprovalListView.as_view(), name="approvals"),
    path("execution-logs/executions/<uuid:execution_id>", ExecutionLogsView.as_view(),
         name="execution-logs"),
    path("execution-logs/executions/<uuid:execution_id>/summary",
         ExecutionLogSummaryView.as_view(), name="execution-log-summary"),
]
