"""A scripted, local OpenAI-compatible HTTP server for tests that must never touch the internet.

Tests push replies onto a queue; each request to `POST /v1/chat/completions` takes the next one
(or the default responder when the queue is empty). Every request is recorded so tests can assert
on exactly what a client sent. Replies adapt to the request: a request with `"stream": true` gets
Server-Sent Events, any other request gets one JSON body.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "Hang",
    "RawReply",
    "RecordedRequest",
    "Reply",
    "ScriptedOpenAIServer",
    "echo_last_user_message",
    "error_reply",
    "hang",
    "malformed_json",
    "rate_limited",
    "raw_reply",
    "server_error",
    "text_reply",
    "tool_call_reply",
]


@dataclass
class RecordedRequest:
    """One request the server received, as the client sent it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    raw_body: bytes
    json: Any = None  # the parsed body, or None when it was not JSON

    @property
    def authorization(self) -> str | None:
        """The Authorization header, if any."""
        return self.headers.get("authorization")

    @property
    def streamed(self) -> bool:
        """Whether the client asked for a streamed reply."""
        return isinstance(self.json, dict) and bool(self.json.get("stream"))


@dataclass
class Reply:
    """A successful chat completion; sent as JSON or as SSE chunks depending on the request."""

    text: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    chunks: list[str] | None = None  # how `text` is split when streamed; default: word by word
    argument_chunk_size: int = 7  # streamed tool-call arguments arrive in pieces this long
    finish_reason: str | None = None
    prompt_tokens: int = 10
    completion_tokens: int = 5
    model: str | None = None  # defaults to the model the request named
    stall_after_chunks: int | None = None  # streamed: stop sending (but keep open) after N chunks
    stall_seconds: float = 10.0
    # Set by the test to let a stalled stream go on with its remaining chunks (instead of
    # ending it without [DONE] after `stall_seconds`).
    resume: threading.Event | None = None


@dataclass
class RawReply:
    """An arbitrary HTTP response: status, headers and body bytes."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Hang:
    """Accept the request, then say nothing for `seconds` (or until the server resets)."""

    seconds: float = 10.0
    then: Reply | RawReply | None = None


ScriptItem = Reply | RawReply | Hang | Callable[[RecordedRequest], "Reply | RawReply | Hang"]


def text_reply(
    text: str,
    *,
    chunks: Sequence[str] | None = None,
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    finish_reason: str = "stop",
    stall_after_chunks: int | None = None,
) -> Reply:
    """A plain assistant answer; `chunks` fixes how it is split when the client streams."""
    if chunks is not None and "".join(chunks) != text:
        raise ValueError("chunks must join to text")
    return Reply(
        text=text,
        chunks=list(chunks) if chunks is not None else None,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        finish_reason=finish_reason,
        stall_after_chunks=stall_after_chunks,
    )


def tool_call_reply(
    *calls: tuple[str, dict[str, Any] | str] | tuple[str, dict[str, Any] | str, str],
    text: str | None = None,
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
) -> Reply:
    """An assistant turn asking for tools: each call is (name, arguments[, id]).

    Arguments given as a str are sent verbatim, so tests can send malformed JSON.
    """
    tool_calls = []
    for position, call in enumerate(calls):
        name, arguments = call[0], call[1]
        call_id = call[2] if len(call) > 2 else f"call_{position}_{name}"
        encoded = arguments if isinstance(arguments, str) else json.dumps(arguments)
        tool_calls.append(
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": encoded}}
        )
    return Reply(
        text=text,
        tool_calls=tool_calls,
        finish_reason="tool_calls",
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
    )


def error_reply(
    status: int,
    message: str = "scripted error",
    *,
    error_type: str = "server_error",
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> RawReply:
    """An error in OpenAI's shape: `{"error": {"message", "type", "code"}}`."""
    body = {"error": {"message": message, "type": error_type, "param": None, "code": code}}
    return RawReply(
        status=status,
        body=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def rate_limited(retry_after: str | float | None = 1) -> RawReply:
    """HTTP 429, with a Retry-After header unless `retry_after` is None."""
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    return error_reply(
        429,
        "Rate limit reached",
        error_type="rate_limit_error",
        code="rate_limit_exceeded",
        headers=headers,
    )


def server_error(
    message: str = "The server had an error while processing your request.",
) -> RawReply:
    """HTTP 500."""
    return error_reply(500, message)


def malformed_json() -> RawReply:
    """HTTP 200 declaring JSON but carrying a truncated body."""
    return RawReply(
        status=200, body=b'{"id": "x", "choices": [', headers={"Content-Type": "application/json"}
    )


def raw_reply(
    status: int, body: bytes | str = b"", headers: dict[str, str] | None = None
) -> RawReply:
    """Any status, headers and body."""
    data = body.encode() if isinstance(body, str) else body
    return RawReply(status=status, body=data, headers=dict(headers or {}))


def hang(seconds: float = 10.0, then: Reply | RawReply | None = None) -> Hang:
    """Hold the request open longer than a client's timeout."""
    return Hang(seconds=seconds, then=then)


def echo_last_user_message(request: RecordedRequest) -> Reply:
    """Default responder: answer with the text of the last user message."""
    messages = request.json.get("messages", []) if isinstance(request.json, dict) else []
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):  # content parts
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            return text_reply(str(content or ""))
    return text_reply("")


class ScriptedOpenAIServer:
    """An OpenAI Chat Completions server on 127.0.0.1 that answers from a script."""

    def __init__(self, models: Iterable[str] = ("test-model",)) -> None:
        self.models: list[str] = list(models)
        self.requests: list[RecordedRequest] = []
        self.default: Callable[[RecordedRequest], Reply | RawReply | Hang] | None = (
            echo_last_user_message
        )
        self.expected_api_key: str | None = None
        self._queue: deque[ScriptItem] = deque()
        self._lock = threading.Lock()
        # Set on reset/stop so handlers parked in a hang return promptly.
        self._release = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> ScriptedOpenAIServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hung handlers and shut the server down."""
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The ephemeral port the server is bound to."""
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        """What a client passes as `base_url` (ends in /v1)."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- scripting -------------------------------------------------------------------------------
    def push(self, *items: ScriptItem) -> ScriptedOpenAIServer:
        """Queue replies, consumed one per chat completion request in order."""
        with self._lock:
            self._queue.extend(items)
        return self

    def expect_api_key(self, api_key: str | None) -> None:
        """Reject every request whose bearer token differs from `api_key` with 401."""
        self.expected_api_key = api_key

    def reset(self) -> None:
        """Forget the queue, recorded requests and settings; release hung handlers."""
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self._release.set()
            self._release = threading.Event()
        self.default = echo_last_user_message
        self.expected_api_key = None
        self.models = ["test-model"]

    @property
    def pending(self) -> int:
        """How many pushed replies have not been consumed yet."""
        with self._lock:
            return len(self._queue)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The recorded chat completion requests only."""
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def last_request(self) -> RecordedRequest:
        """The most recent request."""
        return self.requests[-1]

    def _next_item(self, request: RecordedRequest) -> Reply | RawReply | Hang:
        with self._lock:
            item = self._queue.popleft() if self._queue else None
        if item is None:
            if self.default is None:
                return error_reply(500, "scripted server: no reply queued", error_type="test_error")
            item = self.default
        if callable(item):
            item = item(request)
        return item

    # -- HTTP ------------------------------------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one response per connection: end of body = close

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

            def do_GET(self) -> None:
                server._handle(self, "GET")

            def do_POST(self) -> None:
                server._handle(self, "POST")

        return Handler

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        request = RecordedRequest(
            method=method,
            path=handler.path,
            headers={k.lower(): v for k, v in handler.headers.items()},
            raw_body=raw,
            json=body,
        )
        with self._lock:
            self.requests.append(request)
            release = self._release
        # The client may give up first (e.g. its timeout fired); there is nothing to report then.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._respond(handler, request, release)

    def _respond(
        self, handler: BaseHTTPRequestHandler, request: RecordedRequest, release: threading.Event
    ) -> None:
        if self.expected_api_key is not None and (
            request.authorization != f"Bearer {self.expected_api_key}"
        ):
            reply: Reply | RawReply | Hang = error_reply(
                401,
                "Incorrect API key provided. You can find your API key in your account settings.",
                error_type="invalid_request_error",
                code="invalid_api_key",
            )
        elif request.method == "GET" and request.path.rstrip("/") == "/v1/models":
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "test"} for m in self.models
            ]
            reply = RawReply(
                200,
                json.dumps({"object": "list", "data": data}).encode(),
                {"Content-Type": "application/json"},
            )
        elif request.method == "POST" and request.path.rstrip("/") == "/v1/chat/completions":
            reply = self._next_item(request)
        else:
            reply = error_reply(
                404, f"Unknown path {request.path}", error_type="invalid_request_error"
            )

        if isinstance(reply, Hang):
            release.wait(reply.seconds)
            if reply.then is None or release.is_set():
                return  # close without a response
            reply = reply.then
        if isinstance(reply, RawReply):
            _send(handler, reply.status, reply.headers, reply.body)
        elif request.streamed:
            self._send_stream(handler, request, reply, release)
        else:
            body = json.dumps(_completion_body(request, reply)).encode()
            _send(handler, 200, {"Content-Type": "application/json"}, body)

    def _send_stream(
        self,
        handler: BaseHTTPRequestHandler,
        request: RecordedRequest,
        reply: Reply,
        release: threading.Event,
    ) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.end_headers()
        options = request.json.get("stream_options") or {}
        for position, chunk in enumerate(_stream_chunks(request, reply, options)):
            if reply.stall_after_chunks is not None and position == reply.stall_after_chunks:
                if reply.resume is None:
                    release.wait(reply.stall_seconds)
                    return
                reply.resume.wait(reply.stall_seconds)
            handler.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            handler.wfile.flush()
        handler.wfile.write(b"data: [DONE]\n\n")
        handler.wfile.flush()


def _send(
    handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes
) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
    handler.wfile.flush()


def _model(request: RecordedRequest, reply: Reply) -> str:
    return reply.model or (request.json or {}).get("model") or "test-model"


def _usage(reply: Reply) -> dict[str, int]:
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
    }


def _completion_body(request: RecordedRequest, reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if reply.tool_calls:
        message["tool_calls"] = reply.tool_calls
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": _model(request, reply),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": reply.finish_reason
                or ("tool_calls" if reply.tool_calls else "stop"),
                "logprobs": None,
            }
        ],
        "usage": _usage(reply),
    }


def _stream_chunks(
    request: RecordedRequest, reply: Reply, options: dict[str, Any]
) -> Iterable[dict[str, Any]]:
    model = _model(request, reply)
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-scripted",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }

    yield chunk({"role": "assistant", "content": ""})
    if reply.text:
        pieces = reply.chunks if reply.chunks is not None else _words(reply.text)
        for piece in pieces:
            yield chunk({"content": piece})
    for index, call in enumerate(reply.tool_calls):
        # As OpenAI does: id, type and name first, then the arguments in fragments.
        yield chunk(
            {
                "tool_calls": [
                    {
                        "index": index,
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": call["function"]["name"], "arguments": ""},
                    }
                ]
            }
        )
        arguments = call["function"]["arguments"]
        size = max(1, reply.argument_chunk_size)
        for start in range(0, len(arguments), size):
            piece = arguments[start : start + size]
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield chunk({}, reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop"))
    if options.get("include_usage"):
        yield {
            "id": "chatcmpl-scripted",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": _usage(reply),
        }


def _words(text: str) -> list[str]:
    """Split keeping the spaces, so the pieces join back to the text."""
    pieces: list[str] = []
    current = ""
    for char in text:
        current += char
        if char == " ":
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    return pieces
