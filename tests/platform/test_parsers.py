"""JSON bodies: a NUL character anywhere is refused up front, in both deployments."""

import json

import pytest

from tests.factories import WorkflowFactory
from workflows.models import Workflow

pytestmark = pytest.mark.django_db


def _put(client, workflow, body: str):
    return client.generic("PATCH", f"/api/v1/workflows/{workflow.id}/", body,
                          content_type="application/json")


@pytest.mark.parametrize("body", [
    '{"description": "a\\u0000b"}',
    '{"nodes": [{"id": "start", "type": "start", "data": {"note": "\\u0000"}}]}',
    '{"nodes": [{"id": "start", "type": "start", "data": {"\\u0000": 1}}]}',
])
def test_a_nul_in_any_string_or_key_is_refused_and_nothing_changes(auth_client, body):
    workflow = WorkflowFactory(owner=auth_client.user, description="before")
    response = _put(auth_client, workflow, body)
    assert response.status_code == 400, response.content
    assert response.json()["error_code"] == "INVALID_JSON"
    assert "NUL" in response.json()["detail"]
    assert Workflow.objects.get(pk=workflow.pk).description == "before"


def test_an_escaped_backslash_before_u0000_is_ordinary_text(auth_client):
    workflow = WorkflowFactory(owner=auth_client.user)
    response = _put(auth_client, workflow, json.dumps({"description": "a\\u0000b"}))
    assert response.status_code == 200, response.content
    assert Workflow.objects.get(pk=workflow.pk).description == "a\\u0000b"
