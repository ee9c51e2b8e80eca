"""An interrupted run (an approval node) answered through `POST /resume`, streamed or not."""

import pytest

from executions.models import Execution, NodeRun
from tests.publishing.support import (
    approval_graph,
    conflux_events,
    published,
    read_stream,
)
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/chat/completions"
RESUME = "/api/v1/resume"


def interrupt(client) -> dict:
    workflow = published(client.user, approval_graph())
    response = client.post(URL, {"flow_id": str(workflow.id), "parameters": {"amount": 40}},
                           format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_run_that_waits_for_approval_answers_with_an_interrupt(running_worker, auth_client):
    body = interrupt(auth_client)
    assert body["status"] == "waiting"
    assert body["choices"][0]["finish_reason"] == "interrupt"
    event = body["interrupt"]
    assert event["event_type"] == "interrupt"
    assert event["node_id"] == "ask" and event["node_type"] == "approval"
    assert event["message"] == "Send 40 EUR?"
    assert body["choices"][0]["message"]["content"] == "Send 40 EUR?"
    waiting = NodeRun.objects.get(pk=event["event_id"])
    assert waiting.status == "waiting" and str(waiting.execution_id) == body["execution_id"]


def test_resume_answers_the_event_and_the_run_completes(running_worker, auth_client):
    event = interrupt(auth_client)["interrupt"]
    response = auth_client.post(RESUME, {"event_id": event["event_id"], "event_type": "resume",
                                         "content": {"approved": True, "comment": "ok"}},
                                format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "completed"
    assert body["output"] == {"sent": True}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert NodeRun.objects.get(pk=event["event_id"]).output["by"] == auth_client.user.username


def test_a_run_started_streaming_resumes_streaming_without_repeating_earlier_steps(
        running_worker, auth_client):
    workflow = published(auth_client.user, approval_graph())
    chunks = read_stream(auth_client.post(URL, {"flow_id": str(workflow.id), "stream": True,
                                                "parameters": {"amount": 5}}, format="json"))
    last = conflux_events(chunks)[-1]
    assert chunks[-2]["choices"][0]["finish_reason"] == "interrupt"
    assert last["event"] == "interrupt" and last["message"] == "Send 5 EUR?"
    resumed = read_stream(auth_client.post(
        RESUME, {"event_id": last["event_id"], "content": {"approved": True}, "stream": True},
        format="json"))
    events = conflux_events(resumed)
    finished = [e["node_id"] for e in events if e["event"] == "node_finished"]
    assert "start" not in finished and "done" in finished
    assert events[-1]["event"] == "completed"
    assert resumed[-1] == "[DONE]"


def test_an_event_is_answered_once(running_worker, auth_client):
    event = interrupt(auth_client)["interrupt"]
    answer = {"event_id": event["event_id"], "content": {"approved": True}}
    assert auth_client.post(RESUME, answer, format="json").status_code == 200
    again = auth_client.post(RESUME, answer, format="json")
    assert again.status_code == 409
    assert again.json()["error_code"] == "EVENT_NOT_WAITING"


def test_abort_cancels_the_interrupted_run(running_worker, auth_client):
    body = interrupt(auth_client)
    response = auth_client.post(RESUME, {"event_id": body["interrupt"]["event_id"],
                                         "event_type": "abort"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert Execution.objects.get(pk=body["execution_id"]).status == "cancelled"


def test_a_bad_answer_is_400_and_the_run_still_waits(running_worker, auth_client):
    body = interrupt(auth_client)
    response = auth_client.post(RESUME, {"event_id": body["interrupt"]["event_id"],
                                         "content": "yes please"}, format="json")
    assert response.status_code == 400
    assert wait_for(body["execution_id"], statuses=("waiting",)).status == "waiting"


def test_another_users_event_and_an_unknown_event_are_404(running_worker, auth_client,
                                                          other_client):
    event = interrupt(auth_client)["interrupt"]
    stranger = other_client.post(RESUME, {"event_id": event["event_id"],
                                          "content": {"approved": True}}, format="json")
    assert stranger.status_code == 404
    assert stranger.json()["error_code"] == "EVENT_NOT_FOUND"
    unknown = auth_client.post(RESUME, {"event_id": "00000000-0000-0000-0000-000000000000"},
                               format="json")
    assert unknown.status_code == 404
