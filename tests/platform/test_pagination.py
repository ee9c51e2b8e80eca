"""`skip`/`limit` pagination of list endpoints."""

import pytest
from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from platform_site.api.pagination import parse_skip_limit
from tests.factories import ExecutionFactory, WorkflowFactory


def test_defaults_are_skip_0_limit_100():
    assert parse_skip_limit(QueryDict("")) == (0, 100)


def test_a_larger_limit_is_clamped_to_100():
    assert parse_skip_limit(QueryDict("skip=5&limit=1000")) == (5, 100)


@pytest.mark.parametrize("query", ["skip=-1", "limit=0", "limit=abc", "skip=1.5"])
def test_nonsense_is_a_validation_error(query):
    with pytest.raises(ValidationError):
        parse_skip_limit(QueryDict(query))


@pytest.mark.django_db
@pytest.mark.parametrize("skip", [1, 2**63, 10**30])
def test_a_skip_past_the_end_is_an_empty_page_with_the_total(auth_client, skip):
    # PostgreSQL refuses an OFFSET beyond a bigint: such a skip must not reach it.
    WorkflowFactory(owner=auth_client.user)
    response = auth_client.get(f"/api/v1/workflows?skip={skip}")
    assert response.status_code == 200
    assert response.json() == []
    assert response["X-Total-Count"] == "1"


@pytest.mark.django_db
def test_a_skip_past_the_end_of_an_executions_logs_is_an_empty_page(auth_client):
    execution = ExecutionFactory(workflow=WorkflowFactory(owner=auth_client.user))
    response = auth_client.get(f"/api/v1/execution-logs/executions/{execution.id}?skip={2**64}")
    assert response.status_code == 200
    assert response.json()["logs"] == [] and response.json()["skip"] == 2**64
