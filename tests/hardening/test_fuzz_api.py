"""Schemathesis against the project's own OpenAPI schema: no 5xx, no answer off the schema.

Every operation is called with generated valid and invalid input, authenticated as a user who
owns a few objects, and every answer is checked against the documented status codes, content
types and response schemas, and for errors of the server.
"""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import AccessToken
from schemathesis.specs.openapi import checks as openapi_checks

from tests.factories import UserFactory, WorkflowFactory

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())

# Operations whose answers stream (Server-Sent Events) are checked by their own tests, and
# /health answers 503 by design when no worker runs (tests/platform/test_health.py).
EXCLUDED = ["/api/v1/agent-chat/{agent_id}/stream", "/api/v1/chat/completions", "/health"]

# Kept: server errors, status codes, content types, response schemas and headers, ignored
# authentication. Left out: whether the server is as strict or as lenient as the schema about
# *input*; the contract clamps `limit` and reads an empty filter as no filter, and semantic
# rules (password strength, edges naming nodes) reject some schema-valid input by design.
EXCLUDED_CHECKS = [openapi_checks.negative_data_rejection,
                   openapi_checks.positive_data_acceptance]


@pytest.fixture
def auth_headers(transactional_db):
    # The app is called as a real WSGI server would call it, closing connections after each
    # request, so the data cannot live in a test transaction.
    user = UserFactory()
    WorkflowFactory(owner=user)
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


@schema.exclude(path=EXCLUDED).parametrize()
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_within_its_schema(case, auth_headers):
    case.call_and_validate(headers=auth_headers, excluded_checks=EXCLUDED_CHECKS)
