"""The SSE chat stream under ASGI (daphne): sent event by event, and cleaned up on disconnect."""

import asyncio
import json
import threading

import pytest
from asgiref.sync import sync_to_async
from rest_framework_simplejwt.tokens import RefreshToken

from agents.models import ChatMessage
from agents.streaming import async_frames
from platform_site.handlers import OneHopASGIHandler
from tests.agents.django_support import allow_loopback, parse_sse, scripted_agent
from tests.support.openai_server import text_reply

CHUNKS = ["one", " two", " three", " four", " five"]


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    allow_loopback(settings)


BODY = json.dumps({"message": "Count"}).encode()


def scope_for(agent, user):
    token = str(RefreshToken.for_user(user).access_token)  # writes: call via sync_to_async
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": f"/api/v1/agent-chat/{agent.id}/stream", "raw_path": b"",
        "query_string": b"", "root_path": "", "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"),
                    (b"accept", b"text/event-stream"),
                    (b"content-length", str(len(BODY)).encode()),
                    (b"authorization", f"Bearer {token}".encode())],
    }


class Client:
    """An ASGI client that reads body messages and can hang up after some of them."""

    def __init__(self, hang_up_after: int | None = None) -> None:
        self.body = BODY
        self.sent: list[dict] = []
        self.hang_up_after = hang_up_after
        self.gone = asyncio.Event()
        self.request_read = False

    async def receive(self) -> dict:
        if not self.request_read:
            self.request_read = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict) -> None:
        self.sent.append(message)
        chunks = [m for m in self.sent if m["type"] == "http.response.body" and m.get("body")]
        if self.hang_up_after is not None and len(chunks) >= self.hang_up_after:
            self.gone.set()

    @property
    def stream(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")


@pytest.mark.django_db(transaction=True)
async def test_events_are_sent_one_by_one(user, openai_server):
    agent = await sync_to_async(scripted_agent)(openai_server, user)
    openai_server.push(text_reply("".join(CHUNKS), chunks=CHUNKS))
    client = Client()

    scope = await sync_to_async(scope_for)(agent, user)
    await OneHopASGIHandler()(scope, client.receive, client.send)

    start = client.sent[0]
    assert start["status"] == 200, client.stream
    assert (b"content-type", b"text/event-stream; charset=utf-8") in [
        (k.lower(), v) for k, v in start["headers"]]
    bodies = [m for m in client.sent if m["type"] == "http.response.body" and m.get("body")]
    assert len(bodies) == len(CHUNKS) + 1  # one message per event, not one buffered blob
    events = parse_sse(client.stream)
    assert [data["text"] for name, data in events if name == "token"] == CHUNKS
    assert events[-1][0] == "done"


@pytest.mark.django_db(transaction=True)
async def test_a_client_that_hangs_up_still_gets_its_answer_recorded(user, openai_server):
    agent = await sync_to_async(scripted_agent)(openai_server, user)
    # The model pauses after two words and goes on only once the client has hung up, so the
    # disconnect always lands while the answer is still being streamed.
    stalling = text_reply("".join(CHUNKS), chunks=CHUNKS, stall_after_chunks=3)
    stalling.resume = threading.Event()
    openai_server.push(stalling)
    client = Client(hang_up_after=2)

    scope = await sync_to_async(scope_for)(agent, user)
    request = asyncio.ensure_future(OneHopASGIHandler()(scope, client.receive, client.send))
    await asyncio.wait_for(client.gone.wait(), timeout=10)
    await asyncio.sleep(0.3)  # Django sees the disconnect and cancels the response
    stalling.resume.set()
    await asyncio.wait_for(request, timeout=10)

    rows = await sync_to_async(lambda: list(
        ChatMessage.objects.filter(role="assistant").values_list("status", "content")))()
    assert len(rows) == 1
    status, content = rows[0]
    assert status == "interrupted"
    assert content.startswith("one two")
    assert content != "".join(CHUNKS)


async def test_the_async_wrapper_closes_the_generator_when_its_reader_stops():
    closed = []

    def frames():
        try:
            yield b"a"
            yield b"b"
            yield b"c"
        finally:
            closed.append(True)

    stream = async_frames(frames())
    assert await stream.__anext__() == b"a"
    await stream.aclose()

    assert closed == [True]
