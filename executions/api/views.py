from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from executions import selectors, services
from executions.models import Execution, ExecutionLog, NodeRun
from executions.servers import server_for_run
from platform_site.api.pagination import page_of, parse_skip_limit
from platform_site.api.throttles import ExecuteRateThrottle
from platform_site.api.viewsets import UUID_PATTERN, OwnedQuerysetMixin, visible_to
from workflows.models import Workflow

from .serializers import (
    ExecutionCreatedSerializer,
    ExecutionCreateSerializer,
    ExecutionListQuerySerializer,
    ExecutionLogSerializer,
    ExecutionSerializer,
    ExecutionStatusSerializer,
    LogPageSerializer,
    LogQuerySerializer,
    LogSummarySerializer,
    NodeRunSerializer,
    ResumeSerializer,
)


def created_response(execution: Execution) -> Response:
    return Response(
        {"id": str(execution.id), "workflow_id": str(execution.workflow_id),
         "status": execution.status, "task_id": execution.task_id},
        status=status.HTTP_201_CREATED,
    )


@extend_schema(tags=["executions"])
class ExecutionViewSet(OwnedQuerysetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                       viewsets.GenericViewSet):
    """Executions of the requesting user: start, follow, control."""

    queryset = Execution.objects.select_related("workflow_version").defer(
        "workflow_version__nodes", "workflow_version__edges", "workflow_version__description"
    )
    serializer_class = ExecutionSerializer
    lookup_value_regex = UUID_PATTERN
    filter_backends: list = []

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list":
            query = ExecutionListQuerySerializer(data=self.request.query_params)
            query.is_valid(raise_exception=True)
            queryset = selectors.executions_for(user=self.request.user, **query.validated_data) \
                .select_related("workflow_version").defer(
                    "workflow_version__nodes", "workflow_version__edges",
                    "workflow_version__description")
        return queryset

    @extend_schema(parameters=[ExecutionListQuerySerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_throttles(self):
        return [ExecuteRateThrottle()] if self.action == "create" else super().get_throttles()

    @extend_schema(request=ExecutionCreateSerializer, responses={201: ExecutionCreatedSerializer})
    def create(self, request):
        """Start an execution of one of your workflows."""
        serializer = ExecutionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        workflow = get_object_or_404(visible_to(Workflow.objects.all(), request.user),
                                     pk=serializer.validated_data["workflow_id"])
        execution = services.execution_create(
            owner=request.user, workflow=workflow,
            input_data=serializer.validated_data["input_data"],
            server=server_for_run(user=request.user,
                                  server_id=serializer.validated_data["server_id"]),
        )
        return created_response(execution)

    @extend_schema(responses={200: ExecutionStatusSerializer})
    @action(detail=True, methods=["get"], url_path="status")
    def status_(self, request, pk=None):
        """Status, progress and the node running now."""
        return Response(selectors.execution_status_data(self.get_object()))

    @extend_schema(responses={200: NodeRunSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def nodes(self, request, pk=None):
        """One record per node run: input, output, error, attempts, timings."""
        runs = NodeRun.objects.filter(execution=self.get_object()).order_by("started_at")
        return Response(NodeRunSerializer(runs, many=True).data)

    @extend_schema(request=None, responses={200: ExecutionSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Stop the run between nodes; it ends `cancelled`."""
        return Response(ExecutionSerializer(
            services.execution_cancel(execution=self.get_object())).data)

    @extend_schema(request=None, responses={200: ExecutionSerializer})
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        """Leave the run `waiting` once the node in flight has finished."""
        return Response(ExecutionSerializer(
            services.execution_pause(execution=self.get_object())).data)

    @extend_schema(request=ResumeSerializer, responses={200: ExecutionSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Continue a waiting run from its checkpoint (`node_id` + `content` answer a node)."""
        execution = self.get_object()
        serializer = ResumeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        execution = services.execution_resume(
            execution=execution, by=request.user, **serializer.validated_data
        )
        return Response(ExecutionSerializer(execution).data)


def _execution_of(request, execution_id) -> Execution:
    return get_object_or_404(visible_to(Execution.objects.all(), request.user).only("id"),
                             pk=execution_id)


class ExecutionLogsView(APIView):
    """The log lines of an execution, filtered and paginated."""

    @extend_schema(parameters=[LogQuerySerializer], responses={200: LogPageSerializer},
                   tags=["execution-logs"])
    def get(self, request, execution_id):
        execution = _execution_of(request, execution_id)
        query = LogQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        skip, limit = parse_skip_limit(request.query_params)
        logs = ExecutionLog.objects.filter(execution=execution, **query.validated_data)
        total = logs.count()
        page = page_of(logs.order_by("timestamp", "seq"), skip, limit, total)
        return Response({"logs": ExecutionLogSerializer(page, many=True).data, "total": total,
                         "skip": skip, "limit": limit})


class ExecutionLogSummaryView(APIView):
    """Counts of an execution's logs by level and node, and its errors."""

    @extend_schema(responses={200: LogSummarySerializer}, tags=["execution-logs"])
    def get(self, request, execution_id):
        summary = selectors.log_summary(execution=_execution_of(request, execution_id))
        return Response(LogSummarySerializer(summary).data)
