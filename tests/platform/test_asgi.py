"""The ASGI handler the servers run: Django's, with the middleware chain called in one hop."""

import asyncio
import json

import pytest
from asgiref.sync import SyncToAsync, sync_to_async
from django.http import HttpResponse
from django.test import override_settings
from django.urls import path
from rest_framework_simplejwt.tokens import AccessToken

from platform_site.handlers import OneHopASGIHandler
from platform_site.urls import urlpatterns as project_urls
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _scope(path: str, token: str | None = None) -> dict:
    headers = [(b"host", b"localhost")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
            "root_path": "", "headers": headers, "client": ("127.0.0.1", 5000),
            "server": ("localhost", 80)}


async def _get(path: str, token: str | None = None) -> tuple[int, bytes]:
    sent = []
    incoming = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if incoming:
            return incoming.pop()
        await asyncio.Event().wait()  # the client never hangs up

    async def send(message):
        sent.append(message)

    await OneHopASGIHandler()(_scope(path, token), receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body


async def test_api_requests_are_answered_as_under_wsgi():
    user = await sync_to_async(UserFactory)()
    status, body = await _get("/api/v1/auth/me", str(AccessToken.for_user(user)))
    assert status == 200 and json.loads(body)["username"] == user.username
    status, body = await _get("/api/v1/workflows/00000000-0000-0000-0000-000000000000")
    assert status == 401 and json.loads(body)["error_code"]


def _view(request):
    return HttpResponse("ok")


urlpatterns = [path("probe", _view), *project_urls]


async def test_the_middleware_chain_and_the_view_are_one_hop_into_sync_code(monkeypatch):
    # Django's own handler moves each middleware's hooks into the sync thread and back, one
    # hop each; here the request's signals and the chain are all that cross.
    hops = []
    original = SyncToAsync.__call__

    def counted(self, *args, **kwargs):
        hops.append(getattr(self.func, "__qualname__", repr(self.func)))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counted)
    with override_settings(ROOT_URLCONF=__name__):
        status, body = await _get("/probe")
    assert (status, body) == (200, b"ok")
    assert len(hops) <= 4, hops
