"""Bases for viewsets whose objects belong to a user."""

from django.db.models import QuerySet
from rest_framework import viewsets


def visible_to(queryset: QuerySet, user, owner_field: str = "owner") -> QuerySet:
    """Narrow a queryset to what `user` may see: their own objects, or everything for admins."""
    if getattr(user, "is_platform_admin", False):
        return queryset
    return queryset.filter(**{owner_field: user})


class OwnedQuerysetMixin:
    """Every queryset narrowed to the requesting user, so a foreign object is simply a 404."""

    owner_field = "owner"

    def get_queryset(self) -> QuerySet:
        return visible_to(super().get_queryset(), self.request.user, self.owner_field)


class OwnedModelViewSet(OwnedQuerysetMixin, viewsets.ModelViewSet):
    """CRUD over the requesting user's objects; creation sets the owner."""

    def perform_create(self, serializer) -> None:
        serializer.save(**{self.owner_field: self.request.user})
