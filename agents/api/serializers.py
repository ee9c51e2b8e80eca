from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agents import selectors
from agents.llm import PROVIDERS
from agents.llm.settings import RESERVED_DEFAULTS
from agents.models import (
    Agent,
    AgentStatus,
    AgentVersion,
    ChatMessage,
    ChatSession,
    ModelConfig,
)
from agents.models.agents import DEFAULT_ITERATION_LIMIT
from agents.tools_host import tool_names

MAX_ITERATION_LIMIT = 50
MAX_MESSAGE_CHARS = 100_000
MASK_CHARS = frozenset("*•")


# -- model configs ---------------------------------------------------------------------------


def _check_defaults(value: Any) -> dict:
    if not isinstance(value, dict):
        raise serializers.ValidationError("Must be an object such as {\"temperature\": 0.2}.")
    reserved = sorted(RESERVED_DEFAULTS.intersection(value))
    if reserved:
        raise serializers.ValidationError(
            f"May not set {', '.join(reserved)}: the client sets these itself."
        )
    temperature = value.get("temperature")
    if temperature is not None and (
        isinstance(temperature, bool) or not isinstance(temperature, int | float)
        or not 0 <= temperature <= 2
    ):
        raise serializers.ValidationError("temperature must be a number from 0 to 2.")
    max_tokens = value.get("max_tokens")
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
    ):
        raise serializers.ValidationError("max_tokens must be a whole number of at least 1.")
    return value


class ModelConfigSerializer(serializers.ModelSerializer):
    """A model config as the API shows it: the key only as `api_key_set`."""

    owner_id = serializers.UUIDField(read_only=True, allow_null=True)
    shared = serializers.BooleanField(source="is_shared", read_only=True)
    api_key_set = serializers.BooleanField(read_only=True)

    class Meta:
        model = ModelConfig
        fields = ["id", "name", "provider", "base_url", "model", "api_key_set", "defaults",
                  "timeout_s", "is_default", "shared", "owner_id", "created_at", "updated_at"]
        read_only_fields = fields


class ModelConfigWriteSerializer(serializers.Serializer):
    """What a client sends to create or change a model config; `api_key` is write-only."""

    name = serializers.CharField(max_length=200)
    provider = serializers.CharField(max_length=64)
    base_url = serializers.CharField(max_length=500, allow_blank=True, required=False)
    model = serializers.CharField(max_length=200)
    api_key = serializers.CharField(
        max_length=4096, allow_blank=True, allow_null=True, required=False, write_only=True,
        trim_whitespace=True,
        help_text="Write-only. Omit (or send null or a masked value) to keep the stored key; "
                  "send \"\" to remove it.",
    )
    defaults = serializers.JSONField(required=False)
    timeout_s = serializers.FloatField(min_value=0.1, max_value=600, required=False)
    is_default = serializers.BooleanField(required=False)
    shared = serializers.BooleanField(
        required=False, help_text="Admins only: a config every user may use (read-only to them)."
    )

    def validate_provider(self, value: str) -> str:
        if value not in PROVIDERS:
            raise serializers.ValidationError(
                f"Unknown provider {value!r}; use one of: {', '.join(sorted(PROVIDERS))}."
            )
        return value

    def validate_base_url(self, value: str) -> str:
        value = value.strip()
        if value and not value.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError(
                "Must be an http(s) URL such as http://host:11434/v1 (or empty for the "
                "provider's default)."
            )
        return value

    def validate_api_key(self, value: str | None) -> str | None:
        if value and set(value) <= MASK_CHARS:
            return None  # a client sending back the mask it was shown means "unchanged"
        return value

    def validate_defaults(self, value: Any) -> dict:
        return _check_defaults(value)


class ModelConfigTestResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["success", "failed"])
    message = serializers.CharField()
    latency_ms = serializers.IntegerField()


class ProviderSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    default_base_url = serializers.CharField()
    requires_api_key = serializers.BooleanField()


# -- agents ----------------------------------------------------------------------------------


class ModelParamsSerializer(serializers.Serializer):
    model = serializers.CharField(max_length=200, required=False, allow_blank=True)
    temperature = serializers.FloatField(min_value=0, max_value=2, required=False,
                                         allow_null=True)
    max_tokens = serializers.IntegerField(min_value=1, required=False, allow_null=True)


@extend_schema_field({
    "oneOf": [
        {"type": "string", "format": "uuid"},
        {"type": "object", "properties": {
            "id": {"type": "string", "format": "uuid"},
            "provider": {"type": "string"}, "model": {"type": "string"},
            "temperature": {"type": "number"}, "max_tokens": {"type": "integer"}}},
    ],
    "nullable": True,
    "description": "A model config id, or {provider, model?, temperature?, max_tokens?} to use "
                   "your (or the shared) default config of that provider.",
})
class ModelConfigRefField(serializers.Field):
    """A model config the requesting user may use: by id, or by provider (their default)."""

    default_error_messages = {
        "unknown": "No model config {value} that you may use; list yours at "
                   "GET /api/v1/model-configs.",
        "no_provider": "You have no model config for provider {value!r}; create one with "
                       "POST /api/v1/model-configs.",
        "invalid": "Give a model config id, or an object with `id` or `provider`.",
    }

    def to_representation(self, value: Any) -> Any:
        return None if value is None else str(value.pk)

    def to_internal_value(self, data: Any) -> dict:
        """{"config": ModelConfig | None, "params": {...overrides}}."""
        user = self.context["request"].user
        if data is None or data == "":
            return {"config": None, "params": {}}
        params: dict[str, Any] = {}
        if isinstance(data, dict):
            params = {key: data[key] for key in ("temperature", "max_tokens") if key in data}
            model = data.get("model") or data.get("model_name")
            if data.get("id"):
                data = data["id"]
            elif data.get("provider"):
                provider = str(data["provider"])
                config = selectors.model_config_for_provider(
                    user=user, provider=provider, model=model
                )
                if config is None:
                    self.fail("no_provider", value=provider)
                if model and model != config.model:
                    params["model"] = model
                return {"config": config, "params": params}
            else:
                self.fail("invalid")
        if not isinstance(data, str):
            self.fail("invalid")
        config = selectors.model_config_for(user=user, config_id=data)
        if config is None:
            self.fail("unknown", value=data)
        return {"config": config, "params": params}


class ToolsField(serializers.ListField):
    """Names of registered tools."""

    child = serializers.CharField(max_length=64)

    def to_internal_value(self, data: Any) -> list[str]:
        names = super().to_internal_value(data)
        known = tool_names()
        unknown = [name for name in names if name not in known]
        if unknown:
            raise serializers.ValidationError(
                f"Unknown tool(s): {', '.join(unknown)}; available: {', '.join(known)} "
                "(GET /api/v1/agents/tools)."
            )
        return list(dict.fromkeys(names))


def _check_workflow_config(value: Any) -> dict:
    if not isinstance(value, dict):
        raise serializers.ValidationError('Must be an object such as {"nodes": [], "edges": []}.')
    for key in ("nodes", "edges"):
        if key in value and not isinstance(value[key], list):
            raise serializers.ValidationError(f"`{key}` must be a list.")
    return value


class AgentSerializer(serializers.ModelSerializer):
    """An agent as the API shows it."""

    model_config = serializers.UUIDField(source="model_config_id", allow_null=True,
                                         read_only=True)
    owner_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Agent
        fields = ["id", "name", "description", "system_prompt", "model_config", "model_params",
                  "tools", "iteration_limit", "workflow_config", "status", "version",
                  "owner_id", "created_at", "updated_at"]
        read_only_fields = fields


class AgentWriteSerializer(serializers.Serializer):
    """What a client sends to create or change an agent (`include_tools` is read as `tools`)."""

    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=10_000, allow_blank=True, required=False)
    system_prompt = serializers.CharField(max_length=100_000, allow_blank=True, required=False,
                                          trim_whitespace=False)
    model_config = ModelConfigRefField(required=False, allow_null=True)
    model_params = ModelParamsSerializer(required=False)
    tools = ToolsField(required=False)
    iteration_limit = serializers.IntegerField(min_value=1, max_value=MAX_ITERATION_LIMIT,
                                               required=False)
    workflow_config = serializers.JSONField(required=False)
    comment = serializers.CharField(max_length=500, allow_blank=True, required=False,
                                    help_text="Describes the version this change makes.")

    def to_internal_value(self, data: Any) -> dict:
        if isinstance(data, dict) and "tools" not in data and "include_tools" in data:
            data = {**data, "tools": data["include_tools"]}
        return super().to_internal_value(data)

    def validate_workflow_config(self, value: Any) -> dict:
        return _check_workflow_config(value)

    def validated_changes(self) -> dict:
        """Service keyword arguments: the config reference split into config and overrides."""
        data = dict(self.validated_data)
        data.pop("comment", None)
        if "model_config" in data:
            ref = data.pop("model_config")
            # `null` detaches the agent from its model config.
            data["model_config"] = ref["config"] if ref else None
            if ref and ref["params"]:
                data["model_params"] = {**ref["params"], **data.get("model_params", {})}
        if "model_params" in data:
            data["model_params"] = {
                key: value for key, value in data["model_params"].items()
                if value not in (None, "")
            }
        return data


class AgentVersionSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="number")
    model_config = serializers.UUIDField(source="model_config_id", allow_null=True)
    author_id = serializers.UUIDField(allow_null=True)

    class Meta:
        model = AgentVersion
        fields = ["id", "version", "name", "description", "system_prompt", "model_config",
                  "model_params", "tools", "iteration_limit", "workflow_config", "comment",
                  "author_id", "created_at"]
        read_only_fields = fields


class PortableAgentSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=10_000, allow_blank=True, required=False,
                                        default="")
    system_prompt = serializers.CharField(max_length=100_000, allow_blank=True, required=False,
                                          default="", trim_whitespace=False)
    model_config = serializers.JSONField(required=False, allow_null=True, default=None)
    model_params = ModelParamsSerializer(required=False, default=dict)
    tools = ToolsField(required=False, default=list)
    iteration_limit = serializers.IntegerField(min_value=1, max_value=MAX_ITERATION_LIMIT,
                                               required=False, default=DEFAULT_ITERATION_LIMIT)
    workflow_config = serializers.JSONField(required=False, default=dict)

    def validate_workflow_config(self, value: Any) -> dict:
        return _check_workflow_config(value)


class AgentExportSerializer(serializers.Serializer):
    agent = PortableAgentSerializer()
    exported_at = serializers.DateTimeField()
    format_version = serializers.IntegerField()


class AgentImportSerializer(serializers.Serializer):
    agent = PortableAgentSerializer()
    format_version = serializers.IntegerField(required=False, default=1, min_value=1)
    exported_at = serializers.CharField(required=False)

    def validate_format_version(self, value: int) -> int:
        from agents.services import EXPORT_FORMAT_VERSION

        if value > EXPORT_FORMAT_VERSION:
            raise serializers.ValidationError(
                f"Format version {value} is newer than this platform reads "
                f"({EXPORT_FORMAT_VERSION})."
            )
        return value

    def agent_data(self) -> dict:
        """Service keyword arguments, the model config matched among the importer's configs."""
        data = dict(self.validated_data["agent"])
        data["model_params"] = {k: v for k, v in dict(data.get("model_params") or {}).items()
                                if v not in (None, "")}
        data["model_config"] = self._match_config(data.get("model_config"))
        return data

    def _match_config(self, ref: Any) -> ModelConfig | None:
        # Same id if the importer may use it, else one of theirs with the same provider and
        # model; otherwise none, and the agent answers MODEL_NOT_CONFIGURED until one is set.
        user = self.context["request"].user
        if isinstance(ref, str):
            ref = {"id": ref}
        if not isinstance(ref, dict):
            return None
        if ref.get("id"):
            config = selectors.model_config_for(user=user, config_id=ref["id"])
            if config is not None:
                return config
        if ref.get("provider") and ref.get("model"):
            config = selectors.model_config_for_provider(
                user=user, provider=str(ref["provider"]), model=str(ref["model"])
            )
            if config is not None and config.model == ref["model"]:
                return config
        return None


class ToolSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    parameters = serializers.JSONField()


# -- chat ------------------------------------------------------------------------------------


class ChatRequestSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=MAX_MESSAGE_CHARS, trim_whitespace=False)
    session_id = serializers.UUIDField(required=False, allow_null=True)

    def validate_message(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("The message is empty.")
        return value


class UsageSerializer(serializers.Serializer):
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()


class ChatReplySerializer(serializers.Serializer):
    session_id = serializers.UUIDField()
    message_id = serializers.UUIDField()
    text = serializers.CharField()
    steps = serializers.ListField(child=serializers.JSONField())
    usage = UsageSerializer()
    model = serializers.CharField()
    stopped_reason = serializers.ChoiceField(choices=["answered", "iteration_limit"])


class ChatMessageSerializer(serializers.ModelSerializer):
    session_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = ChatMessage
        fields = ["id", "session_id", "role", "content", "steps", "usage", "model", "status",
                  "error", "created_at"]
        read_only_fields = fields


class ChatSessionSerializer(serializers.ModelSerializer):
    agent_id = serializers.UUIDField(read_only=True)
    owner_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = ChatSession
        fields = ["id", "agent_id", "owner_id", "title", "created_at", "updated_at"]
        read_only_fields = fields


class ChatSessionDetailSerializer(ChatSessionSerializer):
    messages = ChatMessageSerializer(many=True, read_only=True)

    class Meta(ChatSessionSerializer.Meta):
        fields = [*ChatSessionSerializer.Meta.fields, "messages"]
        read_only_fields = fields


class SessionListQuerySerializer(serializers.Serializer):
    agent_id = serializers.UUIDField(required=False)


class AgentListQuerySerializer(serializers.Serializer):
    search = serializers.CharField(required=False, max_length=200)
    status = serializers.ChoiceField(choices=AgentStatus.choices, required=False)

