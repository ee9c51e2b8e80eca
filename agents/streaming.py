"""Server-Sent Events responses that stream under WSGI and ASGI alike.

Django consumes a synchronous iterator whole before sending it under ASGI (and an asynchronous
one whole under WSGI), which would turn a token stream into one late answer. So the response
gets the kind of iterator its server streams: the generator itself under WSGI, and under ASGI an
async wrapper that advances it one event at a time in the request's sync thread (where its
database connection lives) and closes it however the response ends.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse

Event = tuple[str, dict[str, Any]]
_END = object()


def format_event(event: str, data: dict[str, Any]) -> bytes:
    """One SSE frame: `event: <name>` and its JSON `data`."""
    payload = json.dumps(data, ensure_ascii=False, default=str)
    return f"event: {event}\ndata: {payload}\n\n".encode()


def sse_frames(events: Iterator[Event]) -> Iterator[bytes]:
    """The events as SSE frames; closing this closes `events` (so its cleanup runs)."""
    try:
        for event, data in events:
            yield format_event(event, data)
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()


def _next(frames: Iterator[bytes]) -> Any:
    return next(frames, _END)


async def async_frames(frames: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Advance a sync frame iterator from async code, closing it when the consumer stops."""
    try:
        while True:
            # thread_sensitive: every step runs in the request's one sync thread, in order.
            frame = await sync_to_async(_next, thread_sensitive=True)(frames)
            if frame is _END:
                return
            yield frame
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            await sync_to_async(close, thread_sensitive=True)()


def sse_response(request: HttpRequest, events: Iterator[Event],
                 headers: dict[str, str] | None = None) -> StreamingHttpResponse:
    """A `text/event-stream` response of `events`, streamed by either kind of server."""
    frames = sse_frames(events)
    django_request = getattr(request, "_request", request)  # DRF wraps Django's request
    content = async_frames(frames) if isinstance(django_request, ASGIRequest) else frames
    response = StreamingHttpResponse(content, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx would otherwise buffer the whole stream
    for name, value in (headers or {}).items():
        response[name] = value
    return response
