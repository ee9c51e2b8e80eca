"""`/api/v1/schedules`: cron schedules of workflows, and the runs each one started."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from executions.api.serializers import ExecutionSerializer
from executions.graphs import current_graph, input_errors
from executions.models import Execution, ExecutionTrigger
from platform_site.api.pagination import SkipLimitPagination
from platform_site.api.viewsets import OwnedModelViewSet, visible_to
from workflows import schedules
from workflows.models import Schedule, Workflow


class ScheduleSerializer(serializers.ModelSerializer):
    """A schedule as the API shows it; times are UTC."""

    workflow_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Schedule
        fields = ["id", "name", "workflow_id", "cron", "timezone", "enabled", "input_data",
                  "next_run_at", "last_run_at", "last_error", "created_at", "updated_at"]
        read_only_fields = fields


class ScheduleWriteSerializer(serializers.Serializer):
    workflow_id = serializers.UUIDField()
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    cron = serializers.CharField(max_length=100, help_text="Five fields, e.g. '0 9 * * 1-5', "
                                                           "or an alias such as @daily.")
    timezone = serializers.CharField(max_length=64, default="UTC",
                                     help_text="An IANA time zone, e.g. Europe/Paris.")
    enabled = serializers.BooleanField(default=True)
    input_data = serializers.DictField(required=False, default=dict)

    def validate_cron(self, value: str) -> str:
        try:
            return schedules.clean_cron(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_timezone(self, value: str) -> str:
        try:
            return schedules.clean_timezone(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


@extend_schema(tags=["schedules"])
class ScheduleViewSet(OwnedModelViewSet):
    """Schedules of the requesting user: a workflow started on a cron expression."""

    queryset = Schedule.objects.all()
    serializer_class = ScheduleSerializer
    filter_backends: list = []
    deleted_message = "Schedule deleted."

    def _checked(self, data: dict, schedule: Schedule | None = None) -> dict:
        """The write's fields with `workflow` resolved (404) and the input checked (400)."""
        changes = dict(data)
        if "workflow_id" in changes:
            changes["workflow"] = get_object_or_404(
                visible_to(Workflow.objects.all(), self.request.user),
                pk=changes.pop("workflow_id"))
        if "workflow" in changes or "input_data" in changes:
            workflow = changes.get("workflow") or schedule.workflow
            input_data = changes.get("input_data", schedule.input_data if schedule else {})
            problems = input_errors(current_graph(workflow).graph, input_data)
            if problems:
                raise serializers.ValidationError({"input_data": problems})
        return changes

    @extend_schema(request=ScheduleWriteSerializer, responses={201: ScheduleSerializer})
    def create(self, request, *args, **kwargs):
        serializer = ScheduleWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = self._checked(serializer.validated_data)
        schedule = schedules.schedule_create(
            owner=request.user, workflow=changes["workflow"], cron=changes["cron"],
            timezone_name=changes["timezone"], enabled=changes["enabled"],
            input_data=changes["input_data"], name=changes["name"])
        return Response(ScheduleSerializer(schedule).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ScheduleWriteSerializer, responses={200: ScheduleSerializer})
    def update(self, request, *args, **kwargs):
        schedule = self.get_object()
        serializer = ScheduleWriteSerializer(data=request.data,
                                             partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        schedule = schedules.schedule_update(
            schedule=schedule, **self._checked(serializer.validated_data, schedule))
        return Response(ScheduleSerializer(schedule).data)

    @extend_schema(request=ScheduleWriteSerializer, responses={200: ScheduleSerializer})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(responses={200: ExecutionSerializer(many=True)}, tags=["schedules"])
    @action(detail=True, methods=["get"], pagination_class=SkipLimitPagination)
    def runs(self, request, pk=None):
        """The executions this schedule started, newest first."""
        schedule = self.get_object()
        runs = (Execution.objects.filter(trigger=ExecutionTrigger.SCHEDULE,
                                         trigger_ref=schedule.pk, owner=schedule.owner)
                .select_related("workflow_version")
                .defer("workflow_version__nodes", "workflow_version__edges",
                       "workflow_version__description")
                .order_by("-created_at"))
        page = self.paginate_queryset(runs)
        return self.get_paginated_response(ExecutionSerializer(page, many=True).data)
