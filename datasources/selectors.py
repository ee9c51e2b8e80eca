"""Reads of the datasources app."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet

from datasources.connectors import registry
from datasources.models import DataSource
from platform_site.api.viewsets import visible_to


def datasource_list(*, user: Any, type: str | None = None, status: str | None = None
                    ) -> QuerySet[DataSource]:
    """The data sources `user` may see (admins: all), newest first, optionally filtered."""
    queryset = visible_to(DataSource.objects.all(), user)
    if type:
        queryset = queryset.filter(type=type)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-created_at", "id")


def datasource_get_for_owner(*, owner_id: Any, data_source_id: Any) -> DataSource:
    """The data source with this id owned by `owner_id`; DataSource.DoesNotExist otherwise.

    No admin exception: a workflow run may only use its owner's own sources.
    """
    try:
        source_uuid = uuid.UUID(str(data_source_id).strip())
        owner_uuid = uuid.UUID(str(owner_id))
    except (TypeError, ValueError, AttributeError):
        raise DataSource.DoesNotExist from None
    return DataSource.objects.get(pk=source_uuid, owner_id=owner_uuid)


def connector_schemas() -> list[dict[str, Any]]:
    """Every connector type with its config field schema, sorted by type."""
    return [registry.get(name).schema() for name in registry.types()]
