"""The contract's API conventions: error shape everywhere, pagination, docs."""

import pytest

pytestmark = pytest.mark.django_db


def assert_error_shape(response, status_code: int) -> dict:
    assert response.status_code == status_code
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status_code"] == status_code
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["error_code"].isupper()
    return body


@pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
def test_unknown_api_urls_are_404_in_the_error_shape(api_client, method):
    body = assert_error_shape(getattr(api_client, method)("/api/v1/no/such/thing"), 404)
    assert body["error_code"] == "NOT_FOUND"


def test_unknown_urls_outside_the_api_are_json_too(client):
    assert_error_shape(client.get("/definitely-not-here"), 404)


def test_malformed_json_is_400_invalid_json(api_client):
    response = api_client.post(
        "/api/v1/auth/register", data="{not json", content_type="application/json"
    )
    body = assert_error_shape(response, 400)
    assert body["error_code"] == "INVALID_JSON"


def test_a_wrong_method_is_405_in_the_error_shape(api_client):
    assert_error_shape(api_client.get("/api/v1/auth/login"), 405)


def test_an_unsupported_media_type_is_415(api_client):
    response = api_client.post("/api/v1/auth/login", data="x", content_type="text/csv")
    assert_error_shape(response, 415)


def test_an_unexpected_exception_is_a_500_in_the_error_shape_without_a_traceback(
    auth_client, monkeypatch
):
    from accounts.api import views

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(views.UserSerializer, "to_representation", explode)
    auth_client.raise_request_exception = False
    response = auth_client.get("/api/v1/auth/me")
    body = assert_error_shape(response, 500)
    assert body["error_code"] == "INTERNAL_ERROR"
    assert "secret internals" not in response.content.decode()
    assert "Traceback" not in response.content.decode()


def test_openapi_schema_docs_and_redoc_are_served(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    document = schema.json()
    assert document["components"]["securitySchemes"]["BearerAuth"]["scheme"] == "bearer"
    assert "/api/v1/auth/login" in document["paths"]
    assert api_client.get("/docs").status_code == 200
    assert api_client.get("/redoc").status_code == 200


def test_the_schema_generates_without_warnings():
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    GENERATOR_STATS.reset()
    SchemaGenerator().get_schema(request=None, public=True)
    assert not GENERATOR_STATS._warn_cache, list(GENERATOR_STATS._warn_cache)
    assert not GENERATOR_STATS._error_cache, list(GENERATOR_STATS._error_cache)
