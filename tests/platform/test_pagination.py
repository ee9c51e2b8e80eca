"""`skip`/`limit` parsing of list endpoints."""

import pytest
from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from platform_site.api.pagination import parse_skip_limit


def test_defaults_are_skip_0_limit_100():
    assert parse_skip_limit(QueryDict("")) == (0, 100)


def test_a_larger_limit_is_clamped_to_100():
    assert parse_skip_limit(QueryDict("skip=5&limit=1000")) == (5, 100)


@pytest.mark.parametrize("query", ["skip=-1", "limit=0", "limit=abc", "skip=1.5"])
def test_nonsense_is_a_validation_error(query):
    with pytest.raises(ValidationError):
        parse_skip_limit(QueryDict(query))
