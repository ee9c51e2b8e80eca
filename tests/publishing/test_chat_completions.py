"""`POST /chat/completions` without streaming: the run's answer in OpenAI's shape."""

import pytest

from executions.models import Execution
from tests.factories import WorkflowFactory, chain_graph, node
from tests.publishing.support import published
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/chat/completions"


def test_a_published_workflow_answers_with_its_output_as_the_message(running_worker,
                                                                      auth_client):
    workflow = published(auth_client.user)
    response = auth_client.post(URL, {"flow_id": str(workflow.id), "stream": False,
                                      "parameters": {"name": "Ada"}}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["status"] == "completed"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Hello Ada"}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["output"] == {"text": "Hello Ada"}
    execution = Execution.objects.get(pk=body["execution_id"])
    assert execution.trigger == "api" and execution.workflow_id == workflow.id
    assert body["id"] == body["execution_id"] and body["model"] == str(workflow.id)


def test_chat_id_and_history_reach_the_run_with_the_parameters(running_worker, auth_client):
    workflow = published(auth_client.user)
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    response = auth_client.post(URL, {"flow_id": str(workflow.id), "parameters": {"name": "A"},
                                      "chat_id": "c-1", "history": history}, format="json")
    assert response.status_code == 200, response.content
    execution = Execution.objects.get(pk=response.json()["execution_id"])
    assert execution.input_data["name"] == "A"
    assert execution.input_data["chat_id"] == "c-1"
    assert [m["content"] for m in execution.input_data["history"]] == ["Hi", "Hello"]


def test_an_output_without_a_text_field_is_the_content_as_json(running_worker, auth_client):
    workflow = WorkflowFactory(owner=auth_client.user, status="published")  # {"y": 2x}
    response = auth_client.post(URL, {"flow_id": str(workflow.id), "parameters": {"x": 21}},
                                format="json")
    assert response.json()["choices"][0]["message"]["content"] == '{"y": 42}'


def test_a_failing_run_answers_finish_reason_error_with_its_error(running_worker, auth_client):
    workflow = WorkflowFactory(owner=auth_client.user, status="published", **chain_graph(
        node("start", "start"), node("boom", "transform", mapping={"y": "input.x / 0"}),
        node("end", "end")))
    response = auth_client.post(URL, {"flow_id": str(workflow.id), "parameters": {"x": 1}},
                                format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "failed"
    assert body["choices"][0]["finish_reason"] == "error"
    assert "boom" in body["error"]


def test_a_run_longer_than_the_wait_answers_202_and_can_be_polled(running_worker, auth_client,
                                                                   settings):
    settings.PUBLISHED_WAIT_TIMEOUT_S = 0.3
    workflow = WorkflowFactory(owner=auth_client.user, status="published", **chain_graph(
        node("start", "start"), node("slow", "test_sleep", ms=1500), node("end", "end")))
    response = auth_client.post(URL, {"flow_id": str(workflow.id)}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["timed_out"] is True and body["status"] in ("pending", "running")
    assert body["choices"][0]["finish_reason"] is None
    poll = f"{URL}/{body['execution_id']}"
    assert auth_client.get(poll).status_code in (200, 202)
    wait_for(body["execution_id"])
    done = auth_client.get(poll)
    assert done.status_code == 200
    assert done.json()["status"] == "completed"


@pytest.mark.parametrize("status", ["draft", "archived"])
def test_a_workflow_that_is_not_published_is_409(auth_client, status):
    workflow = WorkflowFactory(owner=auth_client.user, status=status)
    response = auth_client.post(URL, {"flow_id": str(workflow.id)}, format="json")
    assert response.status_code == 409
    assert response.json()["error_code"] == "WORKFLOW_NOT_PUBLISHED"
    assert not Execution.objects.exists()


def test_another_users_published_workflow_is_404(auth_client, other_user):
    workflow = published(other_user)
    response = auth_client.post(URL, {"flow_id": str(workflow.id)}, format="json")
    assert response.status_code == 404
    assert response.json()["error_code"] == "NOT_FOUND"


@pytest.mark.parametrize("payload", [
    {},
    {"flow_id": "not-a-uuid"},
    {"flow_id": "00000000-0000-0000-0000-000000000000", "parameters": [1, 2]},
    {"flow_id": "00000000-0000-0000-0000-000000000000", "history": [{"role": "robot"}]},
])
def test_bad_requests_are_400_in_the_error_shape(auth_client, payload):
    response = auth_client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert response.json()["error_code"] == "VALIDATION_ERROR"


def test_another_users_completion_is_404(auth_client, other_client):
    workflow = published(auth_client.user)
    execution = Execution.objects.create(
        owner=auth_client.user, workflow=workflow,
        workflow_version=workflow.versions.get(number=workflow.version))
    assert other_client.get(f"{URL}/{execution.id}").status_code == 404
    assert auth_client.get(f"{URL}/{execution.id}").status_code == 202
