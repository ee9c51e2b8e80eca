"""Every route requires authentication unless it is on this explicit allow-list."""

import uuid

import pytest
from django.urls import reverse

from tests.hardening.routes import api_routes

# Routes a client may call without a JWT or API key: authentication itself, documentation,
# health, and webhooks (whose secret token is their credential).
PUBLIC_ROUTES = {
    "auth-register", "auth-login", "auth-refresh", "schema", "swagger-ui", "redoc", "health",
    "webhook-trigger",
}

pytestmark = pytest.mark.django_db


def dummy_kwargs(route) -> dict:
    values = {}
    for name in route.kwargs:
        if name in ("number", "version"):
            values[name] = "1"
        elif name == "token":
            values[name] = "not-a-real-token"
        else:
            values[name] = str(uuid.uuid4())
    return values


def test_every_route_is_known():
    names = {route.name for route in api_routes()}
    assert {"auth-login", "workflow-list", "execution-detail"} <= names
    assert PUBLIC_ROUTES - names <= {"webhook-trigger"}, "allow-listed routes that do not exist"


@pytest.mark.parametrize("route", [r for r in api_routes() if r.name not in PUBLIC_ROUTES],
                         ids=lambda r: r.name)
def test_a_route_without_credentials_is_401(api_client, route):
    url = reverse(route.name, kwargs=dummy_kwargs(route))
    for method in route.methods:
        response = getattr(api_client, method)(url, {}, format="json")
        assert response.status_code == 401, (method, url, response.status_code)
        assert response.json()["status_code"] == 401
