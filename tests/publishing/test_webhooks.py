"""Webhooks: a secret URL per workflow that starts a run with the request's body."""

import hashlib

import pytest
from rest_framework.test import APIClient

from executions.models import Execution
from tests.factories import WorkflowFactory, chain_graph, node
from tests.publishing.support import published
from tests.support.waiting import wait_for
from workflows.models import WebhookTrigger


def make_hook(client, workflow, **config) -> dict:
    response = client.post(f"/api/v1/workflows/{workflow.id}/webhook", config, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def path_of(hook: dict) -> str:
    return hook["url"].removeprefix("http://testserver")


@pytest.mark.django_db
def test_a_webhook_has_a_secret_url_whose_token_is_stored_as_a_hash(auth_client):
    hook = make_hook(auth_client, published(auth_client.user))
    assert hook["url"].endswith(f"/api/v1/hooks/{hook['token']}")
    row = WebhookTrigger.objects.get()
    assert row.token_hash == hashlib.sha256(hook["token"].encode()).hexdigest()
    info = auth_client.get(f"/api/v1/workflows/{row.workflow_id}/webhook").json()
    assert "token" not in info and hook["token"].startswith(info["token_prefix"])


@pytest.mark.django_db
def test_a_call_starts_a_run_with_the_body_as_input_and_answers_at_once(auth_client):
    workflow = published(auth_client.user)
    hook = make_hook(auth_client, workflow)
    response = APIClient().post(path_of(hook), {"name": "hook"}, format="json")
    assert response.status_code == 202, response.content
    execution = Execution.objects.get(pk=response.json()["execution_id"])
    assert response.json()["status"] == "pending"
    assert execution.input_data == {"name": "hook"}
    assert execution.trigger == "webhook"
    assert execution.trigger_ref == WebhookTrigger.objects.get().id
    assert execution.owner == auth_client.user


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "content_type", "expected"), [
    ("[1, 2]", "application/json", {"body": [1, 2]}),
    ('"text"', "application/json", {"body": "text"}),
    ("", "application/json", {}),
    ("plain words", "text/plain", {"body": "plain words"}),
    ("a=1&b=2&b=3", "application/x-www-form-urlencoded", {"a": "1", "b": ["2", "3"]}),
])
def test_bodies_that_are_not_objects_are_wrapped(auth_client, body, content_type, expected):
    hook = make_hook(auth_client, WorkflowFactory(owner=auth_client.user, status="published"))
    response = APIClient().generic("POST", path_of(hook), body, content_type=content_type)
    assert response.status_code == 202, response.content
    assert Execution.objects.get().input_data == expected


@pytest.mark.django_db(transaction=True)
def test_a_webhook_that_waits_answers_with_the_result(running_worker, auth_client):
    hook = make_hook(auth_client, published(auth_client.user), wait=True, timeout_s=20)
    response = APIClient().post(path_of(hook), {"name": "wait"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "completed"
    assert response.json()["output_data"] == {"text": "Hello wait"}


@pytest.mark.django_db(transaction=True)
def test_a_waiting_webhook_past_its_timeout_answers_202_with_the_id(running_worker,
                                                                   auth_client):
    workflow = published(auth_client.user, chain_graph(
        node("start", "start"), node("slow", "test_sleep", ms=2500), node("end", "end")))
    hook = make_hook(auth_client, workflow, wait=True, timeout_s=1)
    response = APIClient().post(path_of(hook), {}, format="json")
    assert response.status_code == 202
    wait_for(response.json()["execution_id"])


@pytest.mark.django_db
def test_a_new_url_replaces_the_old_one(auth_client):
    workflow = published(auth_client.user)
    old, new = make_hook(auth_client, workflow), make_hook(auth_client, workflow)
    assert APIClient().post(path_of(old), {}, format="json").status_code == 404
    assert APIClient().post(path_of(new), {}, format="json").status_code == 202
    assert WebhookTrigger.objects.count() == 1


@pytest.mark.django_db
def test_a_removed_webhook_and_an_unknown_token_are_404(auth_client):
    workflow = published(auth_client.user)
    hook = make_hook(auth_client, workflow)
    assert auth_client.delete(f"/api/v1/workflows/{workflow.id}/webhook").status_code == 200
    assert APIClient().post(path_of(hook), {}, format="json").status_code == 404
    unknown = APIClient().post("/api/v1/hooks/whk_guess", {}, format="json")
    assert unknown.status_code == 404 and unknown.json()["error_code"] == "NOT_FOUND"


@pytest.mark.django_db
def test_a_draft_workflow_is_not_run_by_its_webhook(auth_client):
    workflow = published(auth_client.user)
    hook = make_hook(auth_client, workflow)
    workflow.status = "draft"
    workflow.save(update_fields=["status"])
    response = APIClient().post(path_of(hook), {}, format="json")
    assert response.status_code == 409
    assert not Execution.objects.exists()


@pytest.mark.django_db
def test_an_input_the_workflow_refuses_is_400(auth_client):
    workflow = published(auth_client.user, chain_graph(
        node("in", "input", fields=[{"name": "email", "type": "string", "required": True}]),
        node("end", "end")))
    hook = make_hook(auth_client, workflow)
    response = APIClient().post(path_of(hook), {"other": 1}, format="json")
    assert response.status_code == 400
    assert "input_data" in response.json()["errors"]


@pytest.mark.django_db
def test_a_body_over_the_cap_is_413_and_bad_json_400(auth_client, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 100
    hook = make_hook(auth_client, published(auth_client.user))
    big = APIClient().post(path_of(hook), {"name": "x" * 200}, format="json")
    assert big.status_code == 413
    bad = APIClient().generic("POST", path_of(hook), "{nope", content_type="application/json")
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_JSON"
    assert not Execution.objects.exists()


@pytest.mark.django_db
def test_calls_past_the_rate_are_429(auth_client, settings):
    settings.WEBHOOK_RATE = "3/m"
    hook = make_hook(auth_client, published(auth_client.user))
    codes = [APIClient().post(path_of(hook), {}, format="json").status_code for _ in range(5)]
    assert codes == [202, 202, 202, 429, 429]


@pytest.mark.django_db
def test_the_wait_is_capped(auth_client, settings):
    settings.WEBHOOK_MAX_WAIT_S = 10
    workflow = published(auth_client.user)
    response = auth_client.post(f"/api/v1/workflows/{workflow.id}/webhook",
                                {"wait": True, "timeout_s": 11}, format="json")
    assert response.status_code == 400 and "timeout_s" in response.json()["errors"]


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "content_type"), [
    ('{"name": "a\\u0000b"}', "application/json"),
    ("name=a%00b", "application/x-www-form-urlencoded"),
    ("a\x00b", "text/plain"),
])
def test_a_body_with_a_nul_character_is_refused_and_starts_nothing(auth_client, body,
                                                                   content_type):
    # PostgreSQL cannot store a NUL in a run's input: it is refused before anything is saved.
    hook = make_hook(auth_client, WorkflowFactory(owner=auth_client.user, status="published"))
    response = APIClient().generic("POST", path_of(hook), body, content_type=content_type)
    assert response.status_code == 400, response.content
    assert "NUL" in response.json()["detail"]
    assert not Execution.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("body", ['{"score": NaN}', '{"score": -Infinity}', "[Infinity]"])
def test_a_json_body_with_nan_or_infinity_is_refused_and_starts_nothing(auth_client, body):
    # Python reads these tokens, but JSON has no such numbers and PostgreSQL stores none.
    hook = make_hook(auth_client, WorkflowFactory(owner=auth_client.user, status="published"))
    response = APIClient().generic("POST", path_of(hook), body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "not valid JSON" in response.json()["detail"]
    assert not Execution.objects.exists()
