"""Register, login, refresh and me, as the contract describes them."""

import pytest
from django.test import override_settings

from accounts.models import User
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/auth/me"


def test_register_creates_a_user_with_the_user_role(api_client):
    response = api_client.post(
        REGISTER, {"username": "ada", "email": "Ada@Example.com", "password": "Analytical-42"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "username", "email", "role", "created_at"}
    assert body["role"] == "user"
    assert body["email"] == "ada@example.com"
    assert body["created_at"].endswith("Z") or "+" in body["created_at"]
    assert User.objects.get(pk=body["id"]).check_password("Analytical-42")


def test_register_refuses_a_weak_password_with_field_errors(api_client):
    response = api_client.post(
        REGISTER, {"username": "bob", "email": "bob@example.com", "password": "123"},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error_code"] == "VALIDATION_ERROR"
    assert body["status_code"] == 400
    assert "password" in body["errors"]
    assert not User.objects.filter(username="bob").exists()


def test_register_refuses_a_taken_username_and_email(api_client, user):
    response = api_client.post(
        REGISTER,
        {"username": user.username.upper(), "email": user.email, "password": "Analytical-42"},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"username", "email"}


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"username": "x", "email": "not-an-email", "password": "Analytical-42"},
        {"username": ["list"], "email": "a@b.co", "password": "Analytical-42"},
        {"username": "bad name!", "email": "a@b.co", "password": "Analytical-42"},
        {"username": "x" * 500, "email": "a@b.co", "password": "Analytical-42"},
    ],
)
def test_register_answers_bad_input_with_a_validation_error(api_client, payload):
    response = api_client.post(REGISTER, payload, format="json")
    assert response.status_code == 400
    assert response.json()["error_code"] == "VALIDATION_ERROR"
    assert response.json()["errors"]


def test_login_accepts_form_encoded_credentials(api_client, user):
    response = api_client.post(LOGIN, {"username": user.username, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["access_token"] and body["refresh_token"]


def test_login_accepts_json_credentials_and_the_token_opens_me(api_client, user):
    response = api_client.post(
        LOGIN, {"username": user.username, "password": DEFAULT_PASSWORD}, format="json"
    )
    token = response.json()["access_token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    me = api_client.get(ME)
    assert me.status_code == 200
    assert me.json()["id"] == str(user.id)
    assert me.json()["role"] == "user"


def test_login_with_a_wrong_password_is_401(api_client, user):
    response = api_client.post(LOGIN, {"username": user.username, "password": "wrong"})
    assert response.status_code == 401
    assert response.json()["error_code"] == "AUTHENTICATION_FAILED"


@override_settings(REST_FRAMEWORK={
    **__import__("django.conf").conf.settings.REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"login_failures": "3/m"},
})
def test_repeated_failed_logins_from_one_address_are_throttled(api_client, user):
    from rest_framework.settings import api_settings

    api_settings.reload()
    try:
        for _ in range(3):
            response = api_client.post(LOGIN, {"username": user.username, "password": "no"})
            assert response.status_code == 401
        response = api_client.post(LOGIN, {"username": user.username, "password": DEFAULT_PASSWORD})
        assert response.status_code == 429
        assert response.json()["error_code"] == "THROTTLED"
        assert int(response["Retry-After"]) > 0
    finally:
        api_settings.reload()


def test_refresh_rotates_the_pair_and_spends_the_old_refresh_token(api_client, user):
    pair = api_client.post(LOGIN, {"username": user.username, "password": DEFAULT_PASSWORD}).json()
    first = api_client.post(REFRESH, {"refresh_token": pair["refresh_token"]}, format="json")
    assert first.status_code == 200
    assert first.json()["refresh_token"] != pair["refresh_token"]
    again = api_client.post(REFRESH, {"refresh_token": pair["refresh_token"]}, format="json")
    assert again.status_code == 401
    assert again.json()["error_code"] == "TOKEN_INVALID"


def test_refresh_with_garbage_is_401(api_client):
    response = api_client.post(REFRESH, {"refresh_token": "garbage"}, format="json")
    assert response.status_code == 401


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer", "Token abc", "Bearer a.b.c"])
def test_me_with_a_bad_token_is_401_in_the_error_shape(api_client, header):
    api_client.credentials(HTTP_AUTHORIZATION=header)
    response = api_client.get(ME)
    assert response.status_code == 401
    body = response.json()
    assert set(body) >= {"detail", "error_code", "status_code"}
    assert body["status_code"] == 401


def test_me_without_a_token_is_401(api_client):
    response = api_client.get(ME)
    assert response.status_code == 401
    assert response.json()["error_code"] == "NOT_AUTHENTICATED"


def test_an_access_token_of_a_deactivated_user_is_refused(auth_client, user):
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert auth_client.get(ME).status_code == 401
