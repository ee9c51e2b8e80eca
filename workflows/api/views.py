from django.db.models import F, Q
from django.db.models.functions import Lower
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from executions.api.serializers import ExecuteSerializer, ExecutionCreatedSerializer
from executions.api.views import created_response
from executions.servers import server_for_run
from executions.services import execution_create
from platform_site.api.pagination import SkipLimitPagination
from platform_site.api.throttles import ExecuteRateThrottle
from platform_site.api.viewsets import OwnedModelViewSet
from workflows import services
from workflows.graphs import validate_graph
from workflows.models import Workflow, WorkflowStatus, WorkflowVersion

from .serializers import (
    ExportSerializer,
    GraphSerializer,
    ImportSerializer,
    RollbackSerializer,
    ValidationResultSerializer,
    WorkflowListQuerySerializer,
    WorkflowSerializer,
    WorkflowVersionDetailSerializer,
    WorkflowVersionSerializer,
    WorkflowWriteSerializer,
)


@extend_schema(tags=["workflows"])
class WorkflowViewSet(OwnedModelViewSet):
    """Workflows of the requesting user: CRUD, status, versions, validation, export and import."""

    queryset = Workflow.objects.all()
    serializer_class = WorkflowSerializer
    filter_backends: list = []
    deleted_message = "Workflow deleted."

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action != "list":
            return queryset
        query = WorkflowListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        if params.get("search"):
            queryset = queryset.filter(
                Q(name__icontains=params["search"]) | Q(description__icontains=params["search"])
            )
        if params.get("status"):
            queryset = queryset.filter(status=params["status"])
        key = Lower("name") if params["sort_by"] == "name" else F(params["sort_by"])
        descending = params["sort_order"] == "desc"
        return queryset.order_by(key.desc() if descending else key.asc(),
                                 "-id" if descending else "id")

    @extend_schema(parameters=[WorkflowListQuerySerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=WorkflowWriteSerializer, responses={201: WorkflowSerializer})
    def create(self, request, *args, **kwargs):
        serializer = WorkflowWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("comment", None)
        workflow = services.workflow_create(owner=request.user, **data)
        return Response(WorkflowSerializer(workflow).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=WorkflowWriteSerializer, responses={200: WorkflowSerializer})
    def update(self, request, *args, **kwargs):
        workflow = self.get_object()
        partial = kwargs.get("partial", False)
        serializer = WorkflowWriteSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        comment = data.pop("comment", "")
        workflow = services.workflow_update(
            workflow=workflow, author=request.user, comment=comment, **data
        )
        return Response(WorkflowSerializer(workflow).data)

    @extend_schema(request=WorkflowWriteSerializer, responses={200: WorkflowSerializer})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def _set_status(self, new_status: str) -> Response:
        workflow = services.workflow_set_status(workflow=self.get_object(), status=new_status)
        return Response(WorkflowSerializer(workflow).data)

    @extend_schema(request=None, responses={200: WorkflowSerializer})
    @action(detail=True, methods=["post", "put"])
    def publish(self, request, pk=None):
        """Publish the workflow; an invalid graph is refused with 422."""
        return self._set_status(WorkflowStatus.PUBLISHED)

    @extend_schema(request=None, responses={200: WorkflowSerializer})
    @action(detail=True, methods=["post", "put"])
    def archive(self, request, pk=None):
        """Archive the workflow; it can no longer be executed."""
        return self._set_status(WorkflowStatus.ARCHIVED)

    @extend_schema(request=None, responses={200: WorkflowSerializer})
    @action(detail=True, methods=["post", "put"])
    def activate(self, request, pk=None):
        """Bring an archived workflow back as a draft."""
        return self._set_status(WorkflowStatus.DRAFT)

    @extend_schema(responses={200: WorkflowVersionSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=SkipLimitPagination)
    def versions(self, request, pk=None):
        """The versions of the workflow, newest first."""
        workflow = self.get_object()
        queryset = WorkflowVersion.objects.filter(workflow=workflow).order_by("-number")
        page = self.paginate_queryset(queryset.only(
            "id", "number", "name", "description", "comment", "author_id", "created_at"
        ))
        return self.get_paginated_response(WorkflowVersionSerializer(page, many=True).data)

    def _version(self, number: str) -> WorkflowVersion:
        try:
            return WorkflowVersion.objects.get(workflow=self.get_object(), number=int(number))
        except (ValueError, WorkflowVersion.DoesNotExist) as exc:
            raise Http404 from exc

    @extend_schema(responses={200: WorkflowVersionDetailSerializer})
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>[0-9]+)")
    def version_detail(self, request, pk=None, number=None):
        """One version's snapshot."""
        return Response(WorkflowVersionDetailSerializer(self._version(number)).data)

    @extend_schema(request=RollbackSerializer, responses={200: WorkflowSerializer})
    @action(detail=True, methods=["post"], url_path=r"versions/(?P<number>[0-9]+)/rollback")
    def rollback(self, request, pk=None, number=None):
        """Make a new version equal to an old one."""
        old = self._version(number)
        serializer = RollbackSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        workflow = services.workflow_rollback(
            workflow=old.workflow, number=old.number, author=request.user,
            comment=serializer.validated_data["comment"],
        )
        return Response(WorkflowSerializer(workflow).data)

    @extend_schema(request=GraphSerializer, responses={200: ValidationResultSerializer})
    @action(detail=False, methods=["post"])
    def validate(self, request):
        """Every problem of a graph at once, with warnings for what is legal but suspicious."""
        serializer = GraphSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = validate_graph(serializer.validated_data["nodes"],
                                serializer.validated_data["edges"])
        return Response({
            "valid": result.valid,
            "errors": [issue.to_dict() for issue in result.errors],
            "warnings": [issue.to_dict() for issue in result.warnings],
        })

    @extend_schema(responses={200: ExportSerializer})
    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        """A portable document of the workflow that `import` reads back."""
        return Response(services.workflow_export(workflow=self.get_object()))

    @extend_schema(request=ExecuteSerializer, responses={201: ExecutionCreatedSerializer},
                   tags=["executions"])
    @action(detail=True, methods=["post"], throttle_classes=[ExecuteRateThrottle])
    def execute(self, request, pk=None):
        """Start an execution of the workflow's current version."""
        workflow = self.get_object()
        serializer = ExecuteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        server = server_for_run(user=request.user,
                                server_id=serializer.validated_data["server_id"])
        execution = execution_create(owner=request.user, workflow=workflow,
                                     input_data=serializer.validated_data["input_data"],
                                     server=server)
        return created_response(execution)

    @extend_schema(request=ImportSerializer, responses={201: WorkflowSerializer})
    @action(detail=False, methods=["post"], url_path="import")
    def import_(self, request):
        """Create a new draft workflow from an exported document."""
        serializer = ImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        workflow = services.workflow_import(owner=request.user,
                                            document=serializer.validated_data)
        return Response(WorkflowSerializer(workflow).data, status=status.HTTP_201_CREATED)



