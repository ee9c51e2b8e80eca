"""Helpers of the published-API tests: graphs, an SSE parser, clients with API keys."""

import json

from rest_framework.test import APIClient

from tests.factories import WorkflowFactory, chain_graph, edge, node


def greeting_graph() -> dict:
    """start -> transform -> output: answers `{"text": "Hello <name>"}`."""
    return chain_graph(
        node("start", "start"),
        node("greet", "transform", mapping={"text": "'Hello ' + input.name"}),
        node("out", "output"),
    )


def approval_graph() -> dict:
    """start -> approval -> output (approved): a run that stops to ask a person."""
    return {
        "nodes": [node("start", "start"),
                  node("ask", "approval", message="Send {input.amount} EUR?"),
                  node("done", "output", mapping={"sent": "ask.approved"})],
        "edges": [edge("start", "ask"), edge("ask", "done", "approved")],
    }


def published(owner, graph: dict | None = None):
    """A published workflow of `owner` (the greeting graph by default)."""
    return WorkflowFactory(owner=owner, status="published", **(graph or greeting_graph()))


def key_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def parse_sse(raw: bytes) -> list:
    """The `data:` payloads of an SSE stream: dicts, and the string "[DONE]"."""
    payloads = []
    for frame in raw.decode().split("\n\n"):
        for line in frame.splitlines():
            if line.startswith("data: "):
                data = line[len("data: "):]
                payloads.append(data if data == "[DONE]" else json.loads(data))
    return payloads


def read_stream(response) -> list:
    """Consume a streamed response (closing it) and parse its events."""
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/event-stream")
    try:
        return parse_sse(b"".join(response.streaming_content))
    finally:
        response.close()


def conflux_events(chunks: list) -> list[dict]:
    return [c["conflux"] for c in chunks if isinstance(c, dict) and "conflux" in c]


