"""`/api/v1/api-keys`: make (the key is shown once), list (prefixes only) and revoke keys."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from accounts import api_keys
from accounts.models import ApiKey
from platform_site.api.viewsets import UUID_PATTERN, MessageSerializer, OwnedQuerysetMixin


class ApiKeySerializer(serializers.ModelSerializer):
    """A key as lists show it: never the key, only its first characters."""

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class ApiKeyCreatedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    key = serializers.CharField(help_text="The key itself: shown this once, store it now.")
    prefix = serializers.CharField()
    created_at = serializers.DateTimeField()


@extend_schema(tags=["api-keys"])
class ApiKeyViewSet(OwnedQuerysetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """API keys of the requesting user; a key reaches only its owner's published workflows."""

    queryset = ApiKey.objects.all()
    serializer_class = ApiKeySerializer
    lookup_value_regex = UUID_PATTERN
    filter_backends: list = []

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer})
    def create(self, request):
        """Make a key; the answer holds the key itself, which is never shown again."""
        serializer = ApiKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        made = api_keys.api_key_create(owner=request.user, name=serializer.validated_data["name"])
        row = made.api_key
        return Response({"id": str(row.id), "name": row.name, "key": made.key,
                         "prefix": row.prefix, "created_at": row.created_at},
                        status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: MessageSerializer})
    def destroy(self, request, pk=None):
        """Revoke a key: calls with it answer 401 from now on."""
        api_keys.api_key_revoke(api_key=self.get_object())
        return Response({"message": "API key revoked."})
