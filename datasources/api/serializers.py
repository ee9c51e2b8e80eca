from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from datasources.connectors import registry
from datasources.models import DataSource, DataSourceStatus, connector_choices
from datasources.secrets import MASK, mask_secrets

MAX_QUERY_CHARS = 100_000


@extend_schema_field({
    "type": "object", "additionalProperties": True,
    "description": f"The connector's settings (see GET /data-sources/types). Secret values are "
                   f"shown as {MASK!r}; sending them back as {MASK!r}, or leaving them out, "
                   f"keeps the stored secret.",
})
class ConfigField(serializers.JSONField):
    """A JSON object of connector settings."""

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be an object.")
        return data


# A pattern rather than an enum: the status enum then belongs to the output component alone,
# which keeps its OpenAPI name (DataSourceStatusEnum) free of collisions.
@extend_schema_field({"type": "string", "pattern": "^(active|inactive)$",
                      "description": "active or inactive (an inactive source refuses queries); "
                                     "`error` is set by a failed test and cannot be written."})
class WritableStatusField(serializers.CharField):
    """The statuses a client may set."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value not in (DataSourceStatus.ACTIVE, DataSourceStatus.INACTIVE):
            raise serializers.ValidationError("Must be active or inactive.")
        return value


class DataSourceSerializer(serializers.ModelSerializer):
    """A data source as the API shows it: secrets masked."""

    config = serializers.SerializerMethodField()

    class Meta:
        model = DataSource
        fields = ["id", "name", "type", "description", "config", "status", "created_at",
                  "updated_at", "last_test_status", "last_test_message", "last_tested_at",
                  "last_test_latency_ms"]
        read_only_fields = fields

    @extend_schema_field({"type": "object", "additionalProperties": True,
                          "description": f"Settings with every secret shown as {MASK!r}."})
    def get_config(self, obj: DataSource) -> dict:
        return mask_secrets(registry.get(obj.type), obj.config or {})


class DataSourceWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    type = serializers.ChoiceField(choices=connector_choices())
    description = serializers.CharField(max_length=10_000, allow_blank=True, required=False)
    config = ConfigField(required=False, default=dict)
    status = WritableStatusField(required=False)


class DataSourceUpdateSerializer(DataSourceWriteSerializer):
    """PUT and PATCH both change only the fields they send."""

    name = serializers.CharField(max_length=200, required=False)
    type = serializers.ChoiceField(choices=connector_choices(), required=False)
    config = ConfigField(required=False)


class DataSourceListQuerySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=connector_choices(), required=False)
    status = serializers.ChoiceField(choices=DataSourceStatus.choices, required=False)


class ConnectionTestSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["success", "failed"])
    message = serializers.CharField()
    latency_ms = serializers.FloatField()


@extend_schema_field({
    "oneOf": [{"type": "string"}, {"type": "object", "additionalProperties": True}],
    "description": "SQL (a single read) for database sources; for `api` a path or "
                   "{path, params, method, body}; for `json` an optional dotted path; "
                   "ignored for `csv`.",
})
class QueryTextField(serializers.JSONField):
    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        if data is not None and not isinstance(data, str | dict):
            raise serializers.ValidationError("Must be text or an object.")
        if isinstance(data, str) and len(data) > MAX_QUERY_CHARS:
            raise serializers.ValidationError(f"At most {MAX_QUERY_CHARS} characters.")
        return data


@extend_schema_field({
    "oneOf": [{"type": "object", "additionalProperties": True},
              {"type": "array", "items": {}}],
    "nullable": True,
    "description": "Bound parameters: an object for named (%(name)s, :name) or a list for "
                   "positional (%s, ?) placeholders. Values are never pasted into the SQL.",
})
class ParamsField(serializers.JSONField):
    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        if data is not None and not isinstance(data, dict | list):
            raise serializers.ValidationError("Must be an object or a list.")
        return data


class QueryRequestSerializer(serializers.Serializer):
    query = QueryTextField(required=False, allow_null=True, default=None)
    params = ParamsField(required=False, allow_null=True, default=None)
    limit = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                     help_text="Rows at most (capped by the platform's row cap).")


class QueryResultSerializer(serializers.Serializer):
    data = serializers.ListField(child=serializers.DictField())
    count = serializers.IntegerField()
    columns = serializers.ListField(child=serializers.CharField())
    truncated = serializers.BooleanField(help_text="True when the row cap or limit cut rows off.")


class ConnectorFieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    required = serializers.BooleanField()
    secret = serializers.BooleanField()
    default = serializers.JSONField(allow_null=True)
    description = serializers.CharField()
    choices = serializers.ListField(child=serializers.CharField(), required=False)


class ConnectorTypeSerializer(serializers.Serializer):
    type = serializers.CharField()
    label = serializers.CharField()
    fields = ConnectorFieldSerializer(many=True)
