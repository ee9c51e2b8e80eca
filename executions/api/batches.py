"""`/api/v1/batch`: batch runs of a workflow over many inputs, as seeds/003 describes them."""

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from executions import batches, servers
from executions.models import Batch, BatchItem, BatchItemStatus, BatchStatus, ComputeServer, Upload
from platform_site.api.errors import APIError
from platform_site.api.negotiation import FirstRendererNegotiation
from platform_site.api.pagination import SkipLimitPagination
from platform_site.api.viewsets import UUID_PATTERN, OwnedModelViewSet, visible_to
from workflows.models import Workflow


class BatchSerializer(serializers.ModelSerializer):
    """A batch with its progress (0 to 1) and counts; `task_id` is its id (seeds/003)."""

    task_id = serializers.UUIDField(source="id", read_only=True)
    workflow_id = serializers.UUIDField(read_only=True)
    server_id = serializers.UUIDField(read_only=True, allow_null=True)
    server_name = serializers.CharField(source="server.name", read_only=True, allow_null=True,
                                        default=None)
    progress = serializers.FloatField(read_only=True)
    running = serializers.IntegerField(source="running_count", read_only=True)
    completed = serializers.IntegerField(source="completed_count", read_only=True)
    failed = serializers.IntegerField(source="failed_count", read_only=True)
    cancelled = serializers.IntegerField(source="cancelled_count", read_only=True)
    results = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()

    class Meta:
        model = Batch
        fields = ["id", "task_id", "name", "description", "workflow_id", "status", "message",
                  "progress", "total", "running", "completed", "failed", "cancelled",
                  "concurrency", "parameters", "server_id", "server_name", "results", "error",
                  "created_at", "updated_at", "started_at", "finished_at"]
        read_only_fields = fields

    def get_results(self, batch: Batch) -> dict | None:
        """The counts once the batch has ended (per item: /items and /export)."""
        if batch.status not in (BatchStatus.COMPLETED, BatchStatus.CANCELLED):
            return None
        return {"total": batch.total, "completed": batch.completed_count,
                "failed": batch.failed_count, "cancelled": batch.cancelled_count}

    def get_error(self, batch: Batch) -> str | None:
        return f"{batch.failed_count} of {batch.total} items failed." \
            if batch.failed_count else None


class _ConcurrencyLimit:
    def validate_concurrency(self, value: int) -> int:
        if value > settings.BATCH_MAX_CONCURRENCY:
            raise serializers.ValidationError(f"At most {settings.BATCH_MAX_CONCURRENCY}.")
        return value


class BatchCreateSerializer(_ConcurrencyLimit, serializers.Serializer):
    workflow_id = serializers.UUIDField()
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    inputs = serializers.ListField(child=serializers.DictField(), required=False, default=list,
                                   help_text="One run's input_data per item.")
    upload_ids = serializers.ListField(child=serializers.UUIDField(), required=False,
                                       default=list, help_text="Uploaded files, one item each.")
    target_folders = serializers.ListField(
        child=serializers.CharField(max_length=255), required=False, default=list,
        help_text="Uploaded folders (the `folder` given at upload): each file is an item.")
    folder_keywords = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list,
        help_text="Only files of the folders whose name holds one of these.")
    parameters = serializers.DictField(required=False, default=dict,
                                       help_text="Merged under every item's input.")
    concurrency = serializers.IntegerField(min_value=1, default=5)
    server_id = serializers.UUIDField(required=False, allow_null=True, default=None)
    start = serializers.BooleanField(default=True, help_text="false: start later with "
                                                             "POST /batch/{id}/execute.")


class BatchUpdateSerializer(_ConcurrencyLimit, serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    parameters = serializers.DictField(required=False)
    concurrency = serializers.IntegerField(min_value=1, required=False)


class BatchExecuteSerializer(serializers.Serializer):
    server_id = serializers.UUIDField(required=False, allow_null=True, default=None)


class CheckServerSerializer(serializers.Serializer):
    server_id = serializers.UUIDField()
    workflow_id = serializers.UUIDField(required=False)


class ServerAvailabilitySerializer(serializers.Serializer):
    available = serializers.BooleanField()
    server_id = serializers.UUIDField()
    server_name = serializers.CharField()
    batch_size = serializers.IntegerField()
    message = serializers.CharField()


class BatchItemSerializer(serializers.ModelSerializer):
    """One item of a batch: its input, and once run its output or error."""

    execution_id = serializers.UUIDField(read_only=True, allow_null=True)
    upload_id = serializers.UUIDField(read_only=True, allow_null=True)
    error = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = BatchItem
        fields = ["id", "index", "status", "input_data", "output_data", "error", "execution_id",
                  "upload_id", "started_at", "finished_at"]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["error"] = data["error"] or None
        return data


class BatchItemQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=BatchItemStatus.choices, required=False)


class BatchResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=BatchItemStatus.choices)
    execution_id = serializers.UUIDField(allow_null=True)
    input = serializers.DictField()
    output = serializers.JSONField(allow_null=True)
    error = serializers.CharField(allow_null=True)


@extend_schema(tags=["batch"])
class BatchViewSet(OwnedModelViewSet):
    """Batches of the requesting user: create, follow, cancel and export the results."""

    queryset = Batch.objects.select_related("server")
    serializer_class = BatchSerializer
    filter_backends: list = []
    deleted_message = "Task deleted successfully"

    def _server(self, server_id) -> ComputeServer | None:
        if server_id is None:
            return None
        return get_object_or_404(visible_to(ComputeServer.objects.all(), self.request.user),
                                 pk=server_id)

    def _uploads(self, data: dict) -> list[Upload]:
        owner = self.request.user
        chosen = list(Upload.objects.filter(owner=owner, pk__in=data["upload_ids"]))
        missing = set(data["upload_ids"]) - {upload.pk for upload in chosen}
        if missing:
            raise ValidationError({"upload_ids": [
                f"No upload of yours has the id {', '.join(sorted(map(str, missing)))}."]})
        if data["target_folders"]:
            found = batches.uploads_in_folders(owner=owner, folders=data["target_folders"],
                                               keywords=data["folder_keywords"])
            if not found:
                raise ValidationError({"target_folders": [
                    "No uploaded file in these folders matches the keywords."]})
            chosen += [upload for upload in found if upload not in chosen]
        return chosen

    def _create(self, request) -> Response:
        serializer = BatchCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        workflow = get_object_or_404(visible_to(Workflow.objects.all(), request.user),
                                     pk=data["workflow_id"])
        batch = batches.batch_create(
            owner=request.user, workflow=workflow, inputs=data["inputs"],
            uploads=self._uploads(data), parameters=data["parameters"],
            concurrency=data["concurrency"], server=self._server(data["server_id"]),
            name=data["name"], description=data["description"], start=data["start"])
        return Response(BatchSerializer(batch).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=BatchCreateSerializer, responses={201: BatchSerializer})
    def create(self, request, *args, **kwargs):
        """Create a batch over `inputs` and/or uploaded files; it starts at once by default."""
        return self._create(request)

    @extend_schema(request=BatchCreateSerializer, responses={201: BatchSerializer})
    @action(detail=False, methods=["post"])
    def process(self, request):
        """Create and start a batch (the seed's path)."""
        return self._create(request)

    @extend_schema(request=CheckServerSerializer, responses={200: ServerAvailabilitySerializer})
    @action(detail=False, methods=["post"], url_path="check-server")
    def check_server(self, request):
        """Whether a server would take a batch now: 400 with the reason when it would not."""
        serializer = CheckServerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        server = self._server(serializer.validated_data["server_id"])
        if "workflow_id" in serializer.validated_data:
            get_object_or_404(visible_to(Workflow.objects.all(), request.user),
                              pk=serializer.validated_data["workflow_id"])
        try:
            servers.server_require_available(server=server, for_batch=True)
        except APIError as exc:
            raise APIError(str(exc.detail), error_code=exc.error_code) from None
        return Response({"available": True, "server_id": str(server.pk),
                         "server_name": server.name, "batch_size": server.batch_size,
                         "message": "The server is available."})

    @extend_schema(responses={200: BatchSerializer(many=True)})
    @action(detail=False, methods=["get"])
    def tasks(self, request):
        """Every batch with its status (the seed's path for the list)."""
        return self.list(request)

    @extend_schema(responses={200: BatchSerializer})
    @action(detail=False, methods=["get"], url_path=f"tasks/(?P<task_id>{UUID_PATTERN})",
            url_name="task-detail")
    def task_detail(self, request, task_id=None):
        """One batch's status (the seed's path)."""
        batch = get_object_or_404(self.get_queryset(), pk=task_id)
        return Response(BatchSerializer(batch).data)

    @extend_schema(request=BatchUpdateSerializer, responses={200: BatchSerializer})
    def update(self, request, *args, **kwargs):
        """Rename or describe a batch; parameters and concurrency only before it starts."""
        batch = self.get_object()
        serializer = BatchUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        batch = batches.batch_update(batch=batch, **serializer.validated_data)
        return Response(BatchSerializer(batch).data)

    @extend_schema(request=BatchUpdateSerializer, responses={200: BatchSerializer})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance) -> None:
        batches.batch_delete(batch=instance)

    @extend_schema(request=BatchExecuteSerializer, responses={200: BatchSerializer})
    @action(detail=True, methods=["post"])
    def execute(self, request, pk=None):
        """Start a batch created with `start: false`, on a server if one is named."""
        batch = self.get_object()
        serializer = BatchExecuteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        batch = batches.batch_start(batch=batch,
                                    server=self._server(serializer.validated_data["server_id"]))
        return Response(BatchSerializer(batch).data)

    @extend_schema(request=None, responses={200: BatchSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel the batch: pending items never start, running ones are cancelled."""
        return Response(BatchSerializer(batches.batch_cancel(batch=self.get_object())).data)

    @extend_schema(parameters=[BatchItemQuerySerializer],
                   responses={200: BatchItemSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=SkipLimitPagination)
    def items(self, request, pk=None):
        """The batch's items in order, with their results and errors."""
        batch = self.get_object()
        query = BatchItemQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        items = BatchItem.objects.filter(batch=batch, **query.validated_data).order_by("index")
        page = self.paginate_queryset(items)
        return self.get_paginated_response(BatchItemSerializer(page, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["json", "csv"], default="json")],
        responses={(200, "application/json"): BatchResultSerializer(many=True),
                   (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description=(
                       "index, status, execution_id, error, then input.<key> and "
                       "output.<key> columns."))},
    )
    @action(detail=True, methods=["get"], content_negotiation_class=FirstRendererNegotiation)
    def export(self, request, pk=None):
        """Every item's result, as JSON or CSV."""
        batch = self.get_object()
        kind = request.query_params.get("format", "json")
        filename = f"batch-{batch.pk}.{kind}"
        if kind == "csv":
            response = HttpResponse(batches.batch_results_csv(batch=batch),
                                    content_type="text/csv; charset=utf-8")
        elif kind == "json":
            response = Response(list(batches.batch_result_rows(batch=batch)))
        else:
            raise ValidationError({"format": ["Use csv or json."]})
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
