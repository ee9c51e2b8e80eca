"""`chat/completions` with `stream: true`: OpenAI chunks carrying the run's progress, read by an
SSE client, under WSGI (the test client) and ASGI (the server's loop)."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from rest_framework_simplejwt.tokens import AccessToken

from platform_site.handlers import OneHopASGIHandler
from tests.factories import UserFactory, chain_graph, node
from tests.publishing.support import conflux_events, parse_sse, published, read_stream

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/chat/completions"


def assert_openai_chunks(chunks: list, workflow) -> None:
    assert chunks[-1] == "[DONE]"
    for chunk in chunks[:-1]:
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["model"] == str(workflow.id)
        assert chunk["id"] == chunk["execution_id"]
        assert len(chunk["choices"]) == 1 and "delta" in chunk["choices"][0]


def test_a_streamed_completion_carries_progress_then_the_answer(running_worker, auth_client):
    workflow = published(auth_client.user)
    response = auth_client.post(URL, {"flow_id": str(workflow.id), "stream": True,
                                      "parameters": {"name": "Ada"}}, format="json")
    chunks = read_stream(response)
    assert_openai_chunks(chunks, workflow)
    events = conflux_events(chunks)
    assert events[0]["event"] == "started"
    finished = [e["node_id"] for e in events if e["event"] == "node_finished"]
    assert set(finished) == {"start", "greet", "out"}
    assert len(finished) == 3  # each step once, whichever way the events came
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:-1])
    assert content == "Hello Ada"
    last = chunks[-2]
    assert last["choices"][0]["finish_reason"] == "stop"
    assert last["conflux"]["event"] == "completed"
    assert last["conflux"]["output"] == {"text": "Hello Ada"}


def test_a_streamed_slow_run_reports_nodes_as_they_finish(running_worker, auth_client,
                                                          tmp_path):
    workflow = published(auth_client.user, chain_graph(
        node("start", "start"), node("first", "test_sleep", ms=300),
        node("second", "test_sleep", ms=300), node("end", "end")))
    chunks = read_stream(auth_client.post(URL, {"flow_id": str(workflow.id), "stream": True},
                                          format="json"))
    order = [e["node_id"] for e in conflux_events(chunks) if e["event"] == "node_finished"]
    assert order == ["start", "first", "second", "end"]
    assert chunks[-2]["conflux"]["event"] == "completed"


def test_errors_before_the_stream_starts_are_json(auth_client):
    workflow = published(auth_client.user)
    workflow.status = "draft"
    workflow.save(update_fields=["status"])
    response = auth_client.post(URL, {"flow_id": str(workflow.id), "stream": True},
                                format="json", HTTP_ACCEPT="text/event-stream")
    assert response.status_code == 409
    assert response.json()["error_code"] == "WORKFLOW_NOT_PUBLISHED"


class _Client:
    """An ASGI client that sends one request and collects the body as it is sent."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.sent: list[dict] = []
        self.read = False
        self.gone = asyncio.Event()

    async def receive(self) -> dict:
        if not self.read:
            self.read = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict) -> None:
        self.sent.append(message)

    @property
    def stream(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent
                        if m["type"] == "http.response.body")


def _scope(token: str, body: bytes) -> dict:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": URL, "raw_path": URL.encode(), "query_string": b"",
        "root_path": "", "server": ("testserver", 80), "client": ("127.0.0.1", 5000),
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"),
                    (b"accept", b"text/event-stream"),
                    (b"content-length", str(len(body)).encode()),
                    (b"authorization", f"Bearer {token}".encode())],
    }


async def test_under_asgi_the_stream_follows_the_live_events(running_worker):
    @sync_to_async
    def setup():
        user = UserFactory()
        workflow = published(user, chain_graph(
            node("start", "start"), node("slow", "test_sleep", ms=200), node("end", "end")))
        return workflow, str(AccessToken.for_user(user))

    workflow, token = await setup()
    body = json.dumps({"flow_id": str(workflow.id), "stream": True}).encode()
    client = _Client(body)
    await asyncio.wait_for(OneHopASGIHandler()(_scope(token, body), client.receive,
                                                  client.send), timeout=30)
    assert client.sent[0]["status"] == 200
    chunks = parse_sse(client.stream)
    assert chunks[-1] == "[DONE]"
    events = conflux_events(chunks)
    # node_started comes only from live events (the database records nodes when they end).
    assert "slow" in [e["node_id"] for e in events if e["event"] == "node_started"]
    assert [e["node_id"] for e in events if e["event"] == "node_finished"] == [
        "start", "slow", "end"]
    assert events[-1]["event"] == "completed"
    await sync_to_async(connections.close_all)()  # this thread's, before the database goes
