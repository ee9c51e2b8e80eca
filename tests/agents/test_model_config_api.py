"""Model configs over the API: CRUD, the write-only encrypted key, shared configs, ownership."""

import json

import pytest
from django.db import connection

from agents.models import ModelConfig
from tests.agents.django_support import allow_loopback
from tests.factories import ModelConfigFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/model-configs"
KEY = "sk-live-VERYSECRET0123456789abcdef"


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    allow_loopback(settings)


def payload(**overrides):
    return {"name": "Local", "provider": "openai_compatible",
            "base_url": "http://127.0.0.1:8000/v1", "model": "test-model", "api_key": KEY,
            "defaults": {"temperature": 0.2}, **overrides}


def stored_column(config_id) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM agents_modelconfig WHERE id = %s",
                       [config_id.replace("-", "") if connection.vendor == "sqlite"
                        else config_id])
        return cursor.fetchone()[0]


def test_create_answers_the_config_without_its_key(auth_client, user):
    response = auth_client.post(URL, payload(), format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["api_key_set"] is True
    assert "api_key" not in body
    assert KEY not in response.content.decode()
    assert body["owner_id"] == str(user.id)
    assert body["shared"] is False
    assert body["defaults"] == {"temperature": 0.2}


def test_the_key_is_encrypted_at_rest(auth_client):
    config_id = auth_client.post(URL, payload(), format="json").json()["id"]

    column = stored_column(config_id)
    assert KEY not in column
    assert column.startswith("enc:v1:")
    assert ModelConfig.objects.get(pk=config_id).decrypted_api_key() == KEY


def test_no_answer_ever_contains_the_key(auth_client):
    config_id = auth_client.post(URL, payload(), format="json").json()["id"]
    answers = [
        auth_client.get(URL),
        auth_client.get(f"{URL}/{config_id}"),
        auth_client.patch(f"{URL}/{config_id}", {"name": "Renamed"}, format="json"),
        auth_client.put(f"{URL}/{config_id}", payload(name="Again"), format="json"),
    ]
    for answer in answers:
        assert answer.status_code == 200
        assert KEY not in answer.content.decode()
        assert "api_key" not in json.dumps(answer.json()).replace("api_key_set", "")


def test_an_update_that_omits_the_key_keeps_it(auth_client):
    config_id = auth_client.post(URL, payload(), format="json").json()["id"]
    body = payload(name="Renamed")
    del body["api_key"]

    assert auth_client.put(f"{URL}/{config_id}", body, format="json").status_code == 200
    assert ModelConfig.objects.get(pk=config_id).decrypted_api_key() == KEY


@pytest.mark.parametrize("sent", [None, "********", "••••"])
def test_null_or_a_mask_keeps_the_key(auth_client, sent):
    config_id = auth_client.post(URL, payload(), format="json").json()["id"]

    response = auth_client.patch(f"{URL}/{config_id}", {"api_key": sent}, format="json")

    assert response.status_code == 200
    assert ModelConfig.objects.get(pk=config_id).decrypted_api_key() == KEY


def test_an_empty_key_removes_it_and_a_new_one_replaces_it(auth_client):
    config_id = auth_client.post(URL, payload(), format="json").json()["id"]

    cleared = auth_client.patch(f"{URL}/{config_id}", {"api_key": ""}, format="json")
    assert cleared.json()["api_key_set"] is False
    replaced = auth_client.patch(f"{URL}/{config_id}", {"api_key": "sk-new-key-123456"},
                                 format="json")
    assert replaced.json()["api_key_set"] is True
    assert ModelConfig.objects.get(pk=config_id).decrypted_api_key() == "sk-new-key-123456"


def test_list_shows_own_and_shared_configs_with_a_total(auth_client, user, other_user):
    own = ModelConfigFactory(owner=user)
    shared = ModelConfigFactory(owner=None)
    ModelConfigFactory(owner=other_user)

    response = auth_client.get(URL)

    assert response.status_code == 200
    assert {c["id"] for c in response.json()} == {str(own.id), str(shared.id)}
    assert response["X-Total-Count"] == "2"


def test_delete_answers_a_message(auth_client, user):
    config = ModelConfigFactory(owner=user)

    response = auth_client.delete(f"{URL}/{config.id}")

    assert response.status_code == 200
    assert response.json() == {"message": "Model config deleted."}
    assert not ModelConfig.objects.filter(pk=config.pk).exists()


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_another_users_config_is_404(other_client, user, method):
    config = ModelConfigFactory(owner=user)

    response = getattr(other_client, method)(f"{URL}/{config.id}", payload(), format="json")

    assert response.status_code == 404
    assert response.json()["error_code"] == "NOT_FOUND"


def test_another_users_config_cannot_be_tested(other_client, user):
    config = ModelConfigFactory(owner=user)
    assert other_client.post(f"{URL}/{config.id}/test").status_code == 404


def test_a_malformed_id_is_404(auth_client):
    assert auth_client.get(f"{URL}/not-a-uuid").status_code == 404


def test_shared_configs_are_read_only_to_users(auth_client):
    shared = ModelConfigFactory(owner=None)

    assert auth_client.get(f"{URL}/{shared.id}").json()["shared"] is True
    for response in (
        auth_client.patch(f"{URL}/{shared.id}", {"name": "Mine now"}, format="json"),
        auth_client.delete(f"{URL}/{shared.id}"),
    ):
        assert response.status_code == 403
        assert response.json()["error_code"] == "PERMISSION_DENIED"
    assert ModelConfig.objects.get(pk=shared.pk).name == shared.name


def test_only_admins_create_shared_configs(auth_client, admin_client_api):
    refused = auth_client.post(URL, payload(shared=True), format="json")
    assert refused.status_code == 403

    created = admin_client_api.post(URL, payload(shared=True), format="json")
    assert created.status_code == 201
    assert created.json()["shared"] is True
    assert created.json()["owner_id"] is None


def test_admins_change_shared_configs(admin_client_api):
    shared = ModelConfigFactory(owner=None)

    response = admin_client_api.patch(f"{URL}/{shared.id}", {"model": "bigger"}, format="json")

    assert response.status_code == 200
    assert response.json()["model"] == "bigger"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"provider": "nope"}, "provider"),
        ({"base_url": "ftp://example.com"}, "base_url"),
        ({"model": ""}, "model"),
        ({"name": ""}, "name"),
        ({"defaults": {"stream": True}}, "defaults"),
        ({"defaults": {"temperature": 5}}, "defaults"),
        ({"defaults": "hot"}, "defaults"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"provider": "openai", "base_url": "", "api_key": ""}, "api_key"),
    ],
)
def test_unusable_configs_are_400_with_field_errors(auth_client, overrides, field):
    response = auth_client.post(URL, payload(**overrides), format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not ModelConfig.objects.exists()


def test_one_default_per_provider(auth_client):
    first = auth_client.post(URL, payload(is_default=True), format="json").json()
    second = auth_client.post(URL, payload(name="Other", is_default=True), format="json").json()

    assert ModelConfig.objects.get(pk=first["id"]).is_default is False
    assert ModelConfig.objects.get(pk=second["id"]).is_default is True


def test_providers_are_listed(auth_client):
    response = auth_client.get(f"{URL}/providers")

    assert response.status_code == 200
    names = {p["name"] for p in response.json()}
    assert {"openai", "deepseek", "ollama", "vllm"} <= names


def test_anonymous_requests_are_401(api_client):
    assert api_client.get(URL).status_code == 401
