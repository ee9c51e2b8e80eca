"""`/api/v1/servers`: compute servers (named worker pools), as seeds/003 describes them."""

from urllib.parse import urlsplit

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from executions import servers
from executions.models import ComputeServer, ServerStatus, ServerType
from platform_site.api.viewsets import OwnedModelViewSet

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"


def _http_url(value: str) -> None:
    """An http(s) URL with a host; internal names without a dot (http://gpu-1:8001) are fine."""
    if not value:
        return
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok \
            or parts.username or any(ch.isspace() for ch in value):
        raise serializers.ValidationError("Enter an http:// or https:// URL with a host.")


class ServerSerializer(serializers.ModelSerializer):
    """A server as the API shows it; `current_task_id` is the batch it works on."""

    current_task_id = serializers.UUIDField(source="current_batch_id", read_only=True,
                                            allow_null=True)
    queue = serializers.CharField(source="queue_name", read_only=True)
    url = serializers.CharField(read_only=True, help_text="Empty for a local pool.")

    class Meta:
        model = ComputeServer
        fields = ["id", "name", "url", "type", "enabled", "batch_size", "status",
                  "current_task_id", "queue", "last_checked_at", "created_at", "updated_at"]
        read_only_fields = fields


class ServerWriteSerializer(serializers.Serializer):
    name = serializers.RegexField(
        NAME_PATTERN, max_length=63,
        error_messages={"invalid": "Lower-case letters, digits, '-' and '_' (it names the "
                                   "queue executions.<name>)."})
    url = serializers.CharField(max_length=500, required=False, allow_blank=True, default="",
                                validators=[_http_url],
                                help_text="A remote pool's base URL; `<url>/health` is probed.")
    type = serializers.ChoiceField(choices=ServerType.choices, default=ServerType.LOCAL)
    enabled = serializers.BooleanField(default=True)
    batch_size = serializers.IntegerField(min_value=1, max_value=1000, default=5,
                                          help_text="How many of its runs may go at once.")


class ServerUpdateSerializer(ServerWriteSerializer):
    name = serializers.CharField(required=False, help_text="Cannot change: it names the queue.")


class ServerStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ServerStatus.choices)


class ServerHealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["healthy", "unhealthy"])
    workers = serializers.IntegerField(help_text="Live workers consuming the server's queue.")
    queue = serializers.CharField()
    detail = serializers.CharField()
    checked_at = serializers.DateTimeField()


@extend_schema(tags=["servers"])
class ServerViewSet(OwnedModelViewSet):
    """Compute servers of the requesting user: register, change, check and list available."""

    queryset = ComputeServer.objects.all()
    serializer_class = ServerSerializer
    filter_backends: list = []
    deleted_message = "Server deleted successfully"

    @extend_schema(request=ServerWriteSerializer, responses={201: ServerSerializer})
    def create(self, request, *args, **kwargs):
        """Register a server; it is online at once if a worker already consumes its queue."""
        serializer = ServerWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        server = servers.server_create(owner=request.user, **serializer.validated_data)
        return Response(ServerSerializer(server).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ServerWriteSerializer, responses={201: ServerSerializer})
    @action(detail=False, methods=["post"])
    def register(self, request):
        """Register a server (the seed's path for `POST /servers`)."""
        return self.create(request)

    @extend_schema(request=ServerUpdateSerializer, responses={200: ServerSerializer})
    def update(self, request, *args, **kwargs):
        """Change url, type, enabled or batch_size (every field optional)."""
        server = self.get_object()
        serializer = ServerUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        if changes.pop("name", server.name) != server.name:
            raise serializers.ValidationError(
                {"name": ["The name cannot change: it names the server's queue."]})
        return Response(ServerSerializer(servers.server_update(server=server, **changes)).data)

    @extend_schema(request=ServerUpdateSerializer, responses={200: ServerSerializer})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance) -> None:
        servers.server_delete(server=instance)

    @extend_schema(request=ServerStatusSerializer, responses={200: ServerSerializer},
                   description='Body `{"status": "online"}` or the bare string `"online"`; '
                               "maintenance or offline take the server out of service.")
    @action(detail=True, methods=["put"], url_path="status")
    def set_status(self, request, pk=None):
        """Set the server's status by hand."""
        server = self.get_object()
        data = request.data if isinstance(request.data, dict) else {"status": request.data}
        serializer = ServerStatusSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        server = servers.server_set_status(server=server,
                                           status=serializer.validated_data["status"])
        return Response(ServerSerializer(server).data)

    @extend_schema(responses={200: ServerHealthSerializer})
    @action(detail=True, methods=["get"])
    def health(self, request, pk=None):
        """Check the server now: live workers on its queue (or, for a remote one, its URL)."""
        server = self.get_object()
        health = servers.server_check_health(server=server)
        return Response(health.to_dict(server))

    @extend_schema(responses={200: ServerSerializer(many=True)})
    @action(detail=False, methods=["get"])
    def available(self, request):
        """Servers that would take new work now."""
        page = self.paginate_queryset(servers.servers_available(user=request.user))
        return self.get_paginated_response(ServerSerializer(page, many=True).data)
