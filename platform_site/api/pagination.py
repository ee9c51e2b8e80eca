"""`skip`/`limit` pagination: a bare JSON array, the total in `X-Total-Count`."""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

DEFAULT_LIMIT = 100
MAX_LIMIT = 100


def parse_skip_limit(query_params, *, default_limit: int = DEFAULT_LIMIT,
                     max_limit: int = MAX_LIMIT) -> tuple[int, int]:
    """Read `skip` and `limit` from a query; a larger limit is clamped, nonsense is a 400."""
    errors = {}
    values = {}
    for name, default in (("skip", 0), ("limit", default_limit)):
        raw = query_params.get(name)
        if raw in (None, ""):
            values[name] = default
            continue
        try:
            values[name] = int(raw)
        except (TypeError, ValueError):
            errors[name] = ["A whole number is required."]
            continue
        minimum = 0 if name == "skip" else 1
        if values[name] < minimum:
            errors[name] = [f"Must be at least {minimum}."]
    if errors:
        raise ValidationError(errors)
    return values["skip"], min(values["limit"], max_limit)


def page_of(queryset, skip: int, limit: int, total: int) -> list:
    """The page's objects; past the end, none, without asking the database.

    A `skip` past the end may be any number: PostgreSQL refuses an OFFSET beyond a bigint.
    """
    return list(queryset[skip:skip + limit]) if skip < total else []


class SkipLimitPagination(BasePagination):
    """The contract's list pagination."""

    def paginate_queryset(self, queryset, request, view=None):
        skip, limit = parse_skip_limit(request.query_params)
        self.total = queryset.count() if hasattr(queryset, "count") else len(queryset)
        return page_of(queryset, skip, limit, self.total)

    def get_paginated_response(self, data):
        return Response(data, headers={"X-Total-Count": str(self.total)})

    def get_paginated_response_schema(self, schema):
        return schema

    def get_schema_operation_parameters(self, view):
        return [
            {"name": "skip", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 0, "default": 0},
             "description": "How many objects to skip."},
            {"name": "limit", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "default": DEFAULT_LIMIT},
             "description": "How many objects at most (larger values are clamped to 100)."},
        ]
