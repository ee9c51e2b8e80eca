from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from datasources import selectors, services
from datasources.models import DataSource
from platform_site.api.viewsets import OwnedModelViewSet

from .serializers import (
    ConnectionTestSerializer,
    ConnectorTypeSerializer,
    DataSourceListQuerySerializer,
    DataSourceSerializer,
    DataSourceUpdateSerializer,
    DataSourceWriteSerializer,
    QueryRequestSerializer,
    QueryResultSerializer,
)


@extend_schema(tags=["data-sources"])
class DataSourceViewSet(OwnedModelViewSet):
    """Data sources of the requesting user: CRUD, connection test, read-only query, types."""

    queryset = DataSource.objects.all()
    serializer_class = DataSourceSerializer
    filter_backends: list = []
    deleted_message = "Data source deleted."

    def get_queryset(self):
        if self.action != "list":
            return super().get_queryset()
        query = DataSourceListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.datasource_list(user=self.request.user, **query.validated_data)

    @extend_schema(parameters=[DataSourceListQuerySerializer])
    def list(self, request, *args, **kwargs):
        """Your data sources, newest first; filter by `type` and `status`."""
        return super().list(request, *args, **kwargs)

    @extend_schema(request=DataSourceWriteSerializer, responses={201: DataSourceSerializer})
    def create(self, request, *args, **kwargs):
        """Create a data source; the config is checked by its connector type."""
        serializer = DataSourceWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        source = services.datasource_create(owner=request.user, **serializer.validated_data)
        return Response(DataSourceSerializer(source).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DataSourceUpdateSerializer, responses={200: DataSourceSerializer})
    def update(self, request, *args, **kwargs):
        """Change the fields sent; secrets left out of `config` or sent masked are kept."""
        source = self.get_object()
        serializer = DataSourceUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        source = services.datasource_update(data_source=source, **serializer.validated_data)
        return Response(DataSourceSerializer(source).data)

    @extend_schema(request=DataSourceUpdateSerializer, responses={200: DataSourceSerializer})
    def partial_update(self, request, *args, **kwargs):
        """Same as PUT: only the fields sent change."""
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance: DataSource) -> None:
        services.datasource_delete(data_source=instance)

    @extend_schema(request=None, responses={200: ConnectionTestSerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Try the connection: `{status: success|failed, message, latency_ms}`, also stored."""
        result = services.datasource_test(data_source=self.get_object())
        return Response(result.to_dict())

    @extend_schema(request=QueryRequestSerializer, responses={200: QueryResultSerializer})
    @action(detail=True, methods=["post"])
    def query(self, request, pk=None):
        """Run a read: `{data, count, columns, truncated}`.

        SQL sources accept one read statement only and run it in a read-only transaction with a
        statement timeout and a row cap. Errors: 400 `QUERY_NOT_READ_ONLY` (anything but a
        read), 400 `INVALID_QUERY` (unparseable, bad params or limit), 422 `QUERY_TIMEOUT`
        (longer than the statement timeout), 422 `QUERY_FAILED` (the database or API refused
        it), 422 `INVALID_CONFIG` (e.g. a missing file), 422 `ADDRESS_NOT_ALLOWED` (an `api`
        source pointing at a private address), 502 `CONNECTION_FAILED` (the database or API
        cannot be reached), 409 `DATA_SOURCE_INACTIVE`. Messages never contain secrets.
        """
        source = self.get_object()
        serializer = QueryRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.datasource_query(data_source=source, **serializer.validated_data)
        return Response(result.to_dict())

    @extend_schema(responses={200: ConnectorTypeSerializer(many=True)})
    @action(detail=False, methods=["get"], pagination_class=None)
    def types(self, request):
        """The data source types with the schema of their config fields."""
        return Response(selectors.connector_schemas())
