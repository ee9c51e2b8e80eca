"""API keys: shown once, stored as a hash, reaching only their owner's published workflows."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ApiKey
from tests.factories import ApiKeyFactory, WorkflowFactory
from tests.publishing.support import key_client, published

URL = "/api/v1/chat/completions"


@pytest.mark.django_db
def test_a_new_key_is_shown_once_and_only_its_hash_is_stored(auth_client):
    response = auth_client.post("/api/v1/api-keys", {"name": "ci"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["key"].startswith("cfx_") and len(body["key"]) > 40
    row = ApiKey.objects.get(pk=body["id"])
    assert row.key_hash == hashlib.sha256(body["key"].encode()).hexdigest()
    assert body["key"] not in str(ApiKey.objects.filter(pk=row.pk).values().first())
    listed = auth_client.get("/api/v1/api-keys")
    assert listed.status_code == 200 and listed["X-Total-Count"] == "1"
    assert "key" not in listed.json()[0]
    assert body["key"].startswith(listed.json()[0]["prefix"])


@pytest.mark.django_db
def test_a_name_is_required(auth_client):
    response = auth_client.post("/api/v1/api-keys", {}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["errors"]


@pytest.mark.django_db(transaction=True)
def test_a_key_runs_its_owners_published_workflow(running_worker, user):
    key = ApiKeyFactory(owner=user).key
    workflow = published(user)
    response = key_client(key).post(URL, {"flow_id": str(workflow.id),
                                          "parameters": {"name": "key"}}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["choices"][0]["message"]["content"] == "Hello key"
    assert ApiKey.objects.get(owner=user).last_used_at is not None


@pytest.mark.django_db
def test_a_key_reaches_no_draft_and_no_workflow_of_someone_else(user, other_user):
    client = key_client(ApiKeyFactory(owner=user).key)
    draft = WorkflowFactory(owner=user)
    assert client.post(URL, {"flow_id": str(draft.id)}, format="json").status_code == 409
    foreign = published(other_user)
    assert client.post(URL, {"flow_id": str(foreign.id)}, format="json").status_code == 404


@pytest.mark.django_db
def test_an_admins_key_reaches_only_the_admins_own_workflows(admin_user, user):
    client = key_client(ApiKeyFactory(owner=admin_user).key)
    foreign = published(user)
    assert client.post(URL, {"flow_id": str(foreign.id)}, format="json").status_code == 404


@pytest.mark.django_db
def test_a_revoked_key_is_401(auth_client):
    key = ApiKeyFactory(owner=auth_client.user)
    workflow = published(auth_client.user)
    response = auth_client.delete(f"/api/v1/api-keys/{key.id}")
    assert response.status_code == 200
    refused = key_client(key.key).post(URL, {"flow_id": str(workflow.id)}, format="json")
    assert refused.status_code == 401
    assert refused.json()["error_code"] == "AUTHENTICATION_FAILED"


@pytest.mark.django_db
@pytest.mark.parametrize("credential", ["cfx_not-a-real-key", "cfx_"])
def test_an_unknown_key_is_401(credential):
    response = key_client(credential).post(URL, {}, format="json")
    assert response.status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url"), [
    ("get", "/api/v1/workflows"),
    ("get", "/api/v1/executions"),
    ("get", "/api/v1/api-keys"),
    ("post", "/api/v1/api-keys"),
    ("get", "/api/v1/auth/me"),
])
def test_a_key_opens_nothing_but_the_published_workflow_endpoints(user, method, url):
    client = key_client(ApiKeyFactory(owner=user).key)
    response = getattr(client, method)(url, {"name": "x"}, format="json")
    assert response.status_code == 401


@pytest.mark.django_db
def test_last_used_is_written_at_most_once_a_minute(user, django_assert_num_queries):
    from accounts.api_keys import api_key_authenticate

    key = ApiKeyFactory(owner=user)
    api_key_authenticate(key=key.key)
    first = ApiKey.objects.get(pk=key.pk).last_used_at
    with django_assert_num_queries(1):  # the lookup only: no write within the minute
        api_key_authenticate(key=key.key)
    assert ApiKey.objects.get(pk=key.pk).last_used_at == first
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=first - timedelta(minutes=2))
    api_key_authenticate(key=key.key)
    assert ApiKey.objects.get(pk=key.pk).last_used_at > first - timedelta(seconds=1)
    assert ApiKey.objects.get(pk=key.pk).last_used_at <= timezone.now()
