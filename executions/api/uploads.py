"""`/api/v1/uploads`: files checked by their content, for batches and workflows."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from accounts.authentication import PUBLISHED_API_AUTHENTICATION
from executions import uploads
from executions.models import Upload
from platform_site.api.viewsets import UUID_PATTERN, MessageSerializer, OwnedQuerysetMixin


class UploadSerializer(serializers.ModelSerializer):
    """An upload: `name` is cleaned for display, `content_type` what its bytes turned out to be."""

    class Meta:
        model = Upload
        fields = ["id", "name", "size", "content_type", "folder", "sha256", "created_at"]
        read_only_fields = fields


class UploadCreateSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="JSON, CSV, text, PDF, PNG or JPEG.")
    folder = serializers.CharField(max_length=255, required=False, allow_blank=True, default="",
                                   help_text="Uploads sharing a folder form an uploaded folder "
                                             "a batch can take as inputs.")


@extend_schema(tags=["uploads"])
class UploadViewSet(OwnedQuerysetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                    viewsets.GenericViewSet):
    """Files of the requesting user (an API key may upload too)."""

    queryset = Upload.objects.all()
    serializer_class = UploadSerializer
    authentication_classes = PUBLISHED_API_AUTHENTICATION
    parser_classes = [MultiPartParser]
    lookup_value_regex = UUID_PATTERN
    filter_backends: list = []

    @extend_schema(request={"multipart/form-data": UploadCreateSerializer},
                   responses={201: UploadSerializer})
    def create(self, request):
        """Upload one file (multipart field `file`); its type is checked by its content."""
        serializer = UploadCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = uploads.upload_create(owner=request.user, **serializer.validated_data)
        return Response(UploadSerializer(upload).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: MessageSerializer})
    def destroy(self, request, pk=None):
        """Delete an upload and its file."""
        uploads.upload_delete(upload=self.get_object())
        return Response({"message": "Upload deleted."})
