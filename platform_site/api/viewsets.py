"""Bases for viewsets whose objects belong to a user."""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.response import Response

UUID_PATTERN = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"

MessageSerializer = inline_serializer("Message", {"message": serializers.CharField()})


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
    """CRUD over the requesting user's objects; creation sets the owner.

    Ids are UUIDs: anything else in the id position is a plain 404. Deleting answers 200 with a
    message, as clients of the platforms we replace expect.
    """

    lookup_value_regex = UUID_PATTERN
    deleted_message = "Deleted."

    @extend_schema(responses={200: MessageSerializer})
    def destroy(self, request, *args, **kwargs):
        self.perform_destroy(self.get_object())
        return Response({"message": self.deleted_message})

    def perform_create(self, serializer) -> None:
        serializer.save(**{self.owner_field: self.request.user})
