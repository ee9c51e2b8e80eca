from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from workflows.engine.graph import MAX_NODE_ID_LENGTH
from workflows.models import Workflow, WorkflowStatus, WorkflowVersion


def _limit(name: str, default: int) -> int:
    return getattr(settings, name, default)


NODE_ID_SCHEMA = {"type": "string", "minLength": 1, "maxLength": MAX_NODE_ID_LENGTH}


@extend_schema_field({"type": "array", "items": {"type": "object", "additionalProperties": True,
                                                  "properties": {"id": NODE_ID_SCHEMA,
                                                                 "type": {"type": "string"}}}})
class NodesField(serializers.ListField):
    """React Flow nodes: objects with a string `id` and `type`."""

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        limit = _limit("MAX_GRAPH_NODES", 1000)
        if len(data) > limit:
            raise serializers.ValidationError(f"A graph may have at most {limit} nodes.")
        problems = []
        for index, node in enumerate(data):
            if not isinstance(node, dict):
                problems.append(f"Node {index} is not an object.")
            elif not isinstance(node.get("id"), str) or not node["id"]:
                problems.append(f"Node {index} needs a non-empty string `id`.")
            elif len(node["id"]) > MAX_NODE_ID_LENGTH:
                problems.append(f"Node {index}: the `id` is longer than {MAX_NODE_ID_LENGTH} "
                                "characters.")
            elif not isinstance(node.get("type"), str) or not node["type"]:
                problems.append(f"Node {node['id']!r} needs a string `type`.")
            elif "data" in node and not isinstance(node["data"], dict):
                problems.append(f"Node {node['id']!r}: `data` must be an object.")
        if problems:
            raise serializers.ValidationError(problems[:20])
        return data


@extend_schema_field({"type": "array", "items": {"type": "object", "additionalProperties": True,
                                                  "properties": {"id": {"type": "string"},
                                                                 "source": {"type": "string"},
                                                                 "target": {"type": "string"},
                                                                 "sourceHandle": {
                                                                     "type": "string",
                                                                     "nullable": True}}}})
class EdgesField(serializers.ListField):
    """React Flow edges: objects with string `source` and `target`."""

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        limit = _limit("MAX_GRAPH_EDGES", 5000)
        if len(data) > limit:
            raise serializers.ValidationError(f"A graph may have at most {limit} edges.")
        problems = []
        for index, edge in enumerate(data):
            if not isinstance(edge, dict):
                problems.append(f"Edge {index} is not an object.")
            elif not all(isinstance(edge.get(k), str) and edge[k] for k in ("source", "target")):
                problems.append(f"Edge {index} needs string `source` and `target`.")
        if problems:
            raise serializers.ValidationError(problems[:20])
        return data


class WorkflowSerializer(serializers.ModelSerializer):
    """A workflow as the API shows it."""

    owner_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Workflow
        fields = ["id", "name", "description", "nodes", "edges", "version", "status",
                  "owner_id", "created_at", "updated_at"]
        read_only_fields = fields


class WorkflowWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=10_000, allow_blank=True, required=False)
    nodes = NodesField(child=serializers.JSONField(), required=False)
    edges = EdgesField(child=serializers.JSONField(), required=False)
    comment = serializers.CharField(max_length=500, allow_blank=True, required=False,
                                    help_text="Describes the version this change makes.")


class GraphSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    nodes = NodesField(child=serializers.JSONField())
    edges = EdgesField(child=serializers.JSONField(), required=False, default=list)


class IssueSerializer(serializers.Serializer):
    node_id = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


class ValidationResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    errors = IssueSerializer(many=True)
    warnings = IssueSerializer(many=True)


class WorkflowVersionSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="number")
    author_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = WorkflowVersion
        fields = ["id", "version", "name", "description", "comment", "author_id", "created_at"]
        read_only_fields = fields


class WorkflowVersionDetailSerializer(WorkflowVersionSerializer):
    workflow_id = serializers.UUIDField(read_only=True)

    class Meta(WorkflowVersionSerializer.Meta):
        fields = [*WorkflowVersionSerializer.Meta.fields, "workflow_id", "nodes", "edges"]
        read_only_fields = fields


class RollbackSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=500, allow_blank=True, required=False, default="")


class PortableWorkflowSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=10_000, allow_blank=True, required=False,
                                        default="")
    nodes = NodesField(child=serializers.JSONField(), required=False, default=list)
    edges = EdgesField(child=serializers.JSONField(), required=False, default=list)


class ExportSerializer(serializers.Serializer):
    workflow = PortableWorkflowSerializer()
    exported_at = serializers.DateTimeField()
    format_version = serializers.IntegerField()


class ImportSerializer(serializers.Serializer):
    workflow = PortableWorkflowSerializer()
    format_version = serializers.IntegerField(required=False, default=1, min_value=1)
    exported_at = serializers.CharField(required=False)

    def validate_format_version(self, value: int) -> int:
        from workflows.services import EXPORT_FORMAT_VERSION

        if value > EXPORT_FORMAT_VERSION:
            raise serializers.ValidationError(
                f"Format version {value} is newer than this platform reads "
                f"({EXPORT_FORMAT_VERSION})."
            )
        return value


class WorkflowListQuerySerializer(serializers.Serializer):
    search = serializers.CharField(required=False, max_length=200)
    status = serializers.ChoiceField(choices=WorkflowStatus.choices, required=False)
    sort_by = serializers.ChoiceField(choices=["name", "created_at", "updated_at"],
                                      required=False, default="created_at")
    sort_order = serializers.ChoiceField(choices=["asc", "desc"], required=False, default="desc")
