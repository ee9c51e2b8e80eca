from rest_framework import serializers

from executions.models import Execution, ExecutionLog, ExecutionStatus, LogLevel, NodeRun


class ExecutionSerializer(serializers.ModelSerializer):
    """An execution as the API shows it."""

    workflow_id = serializers.UUIDField(read_only=True)
    workflow_version = serializers.IntegerField(source="workflow_version.number", read_only=True)
    current_node = serializers.CharField(allow_null=True, read_only=True)
    error = serializers.CharField(allow_null=True, read_only=True)

    class Meta:
        model = Execution
        fields = ["id", "workflow_id", "workflow_version", "status", "input_data", "output_data",
                  "error", "progress", "current_node", "execution_time", "task_id",
                  "created_at", "started_at", "finished_at"]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["current_node"] = data["current_node"] or None
        data["error"] = data["error"] or None
        return data


class ExecutionCreatedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    workflow_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=ExecutionStatus.choices)
    task_id = serializers.CharField()


class ExecuteSerializer(serializers.Serializer):
    input_data = serializers.DictField(required=False, default=dict)
    server_id = serializers.UUIDField(
        required=False, allow_null=True, default=None,
        help_text="Run on this compute server's worker pool (default: the platform's).")


class ExecutionCreateSerializer(ExecuteSerializer):
    workflow_id = serializers.UUIDField()


class ExecutionStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ExecutionStatus.choices)
    progress = serializers.IntegerField()
    current_node = serializers.CharField(allow_null=True)


class ExecutionListQuerySerializer(serializers.Serializer):
    workflow_id = serializers.UUIDField(required=False)
    status = serializers.ChoiceField(choices=ExecutionStatus.choices, required=False)
    search = serializers.CharField(required=False, max_length=200)


class ResumeSerializer(serializers.Serializer):
    node_id = serializers.CharField(required=False, max_length=200)
    content = serializers.JSONField(required=False)


class NodeRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = NodeRun
        fields = ["id", "node_id", "node_type", "status", "input", "output", "error", "attempts",
                  "started_at", "finished_at", "duration_ms"]
        read_only_fields = fields


class ExecutionLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExecutionLog
        fields = ["id", "node_id", "node_type", "level", "message", "data", "timestamp",
                  "duration_ms"]
        read_only_fields = fields


class LogPageSerializer(serializers.Serializer):
    logs = ExecutionLogSerializer(many=True)
    total = serializers.IntegerField()
    skip = serializers.IntegerField()
    limit = serializers.IntegerField()


class LogQuerySerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=LogLevel.choices, required=False)
    node_id = serializers.CharField(required=False, max_length=200)


class NodeStatSerializer(serializers.Serializer):
    node_id = serializers.CharField()
    node_type = serializers.CharField()
    log_count = serializers.IntegerField()
    total_duration_ms = serializers.FloatField()


class LogSummarySerializer(serializers.Serializer):
    total_logs = serializers.IntegerField()
    level_stats = serializers.DictField(child=serializers.IntegerField())
    node_stats = NodeStatSerializer(many=True)
    error_logs = ExecutionLogSerializer(many=True)
