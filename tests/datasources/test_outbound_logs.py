"""httpx logs each request's URL at INFO: the outbound client redacts the query string and
userinfo, which can carry credentials (an `api` source with query-parameter auth)."""

from __future__ import annotations

import logging

import pytest

from datasources.outbound import OutboundError, SafeHttpClient
from tests.datasources.conftest import LocalServer

KEY = "query-key-7Yx1"


def test_request_urls_are_logged_without_query_or_userinfo(
    client: SafeHttpClient, local_server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client.request("GET", local_server.url(f"/json?api_key={KEY}"))
    url = local_server.url("/json").replace("http://", f"http://user:{KEY}@")
    client.request("GET", url)
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert len(lines) == 2
    assert f"{local_server.url('/json')}?[redacted]" in lines[0]
    assert KEY not in caplog.text


def test_refusals_are_not_logged_with_the_url(
    client: SafeHttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(OutboundError):
        client.request("GET", f"http://127.0.0.1/?token={KEY}")
    assert KEY not in caplog.text


def test_other_httpx_messages_pass_through() -> None:
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, "plain %s", ("text",), None)
    assert logging.getLogger("httpx").filter(record)
    assert record.getMessage() == "plain text"
