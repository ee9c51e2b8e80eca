"""The api connector against a local HTTP server, through the SSRF-safe client."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from datasources.connectors import ConnectorContext, ConnectorError, registry
from datasources.outbound import SafeHttpClient
from tests.datasources.conftest import LocalServer

api = registry.get("api")


@pytest.fixture
def ctx(client: SafeHttpClient) -> ConnectorContext:
    return ConnectorContext(outbound_client=client)


@pytest.fixture
def config(local_server: LocalServer) -> dict[str, Any]:
    return {
        "base_url": local_server.url("/"),
        "data_path": "data.users",
        "auth": {"type": "bearer", "token": "tok-SECRET-123"},
        "headers": {"X-Client": "conflux"},
        "params": {"tenant": "t1"},
    }


def test_connection_test(
    config: dict[str, Any], ctx: ConnectorContext, local_server: LocalServer
) -> None:
    failing = api.test(config, ctx)  # the server answers 404 on /
    assert not failing.ok and "404" in failing.message
    passing = api.test({**config, "test_path": "json"}, ctx)
    assert passing.ok and "200" in passing.message
    assert "tok-SECRET-123" not in failing.message + passing.message


def test_query_rows_from_the_data_path(
    config: dict[str, Any], ctx: ConnectorContext, local_server: LocalServer
) -> None:
    result = api.query(config, "users", {"page": 2}, 100, ctx=ctx)
    assert result.count == 7 and not result.truncated
    assert result.columns == ["id", "name", "extra"]  # union of keys, first-seen order
    assert result.data[1] == {"id": 2, "name": "user 2"}
    sent = local_server.requests[-1]
    assert sent["path"] == "/users"
    assert sent["query"] == {"tenant": "t1", "page": "2"}
    assert sent["headers"]["authorization"] == "Bearer tok-SECRET-123"
    assert sent["headers"]["x-client"] == "conflux"
    assert sent["headers"]["accept"] == "application/json"


def test_truncation(config: dict[str, Any], ctx: ConnectorContext) -> None:
    result = api.query(config, "/users", None, 3, ctx=ctx)
    assert result.count == 3 and result.truncated


def test_query_object_with_method_params_and_body(
    config: dict[str, Any], ctx: ConnectorContext, local_server: LocalServer
) -> None:
    query = {"path": "json", "method": "POST", "params": {"q": "x"}, "body": {"filter": [1, 2]}}
    result = api.query({**config, "data_path": "echo"}, json.dumps(query), None, 10, ctx=ctx)
    assert result.count == 1  # an object becomes one row
    sent = local_server.requests[-1]
    assert sent["method"] == "POST"
    assert json.loads(sent["body"]) == {"filter": [1, 2]}
    assert sent["query"]["q"] == "x"


def test_a_single_object_and_other_auth_kinds(
    config: dict[str, Any], ctx: ConnectorContext, local_server: LocalServer
) -> None:
    basic = {
        **config,
        "data_path": "result",
        "auth": {"type": "basic", "username": "u", "password": "p w"},
    }
    assert api.query(basic, "single", None, 10, ctx=ctx).data == [{"id": 1, "name": "only"}]
    expected = "Basic " + base64.b64encode(b"u:p w").decode()
    assert local_server.requests[-1]["headers"]["authorization"] == expected

    header = {**basic, "auth": {"type": "header", "header_name": "X-Api-Key", "token": "k-1"}}
    api.query(header, "single", None, 10, ctx=ctx)
    assert local_server.requests[-1]["headers"]["x-api-key"] == "k-1"

    query = {**basic, "auth": {"type": "query", "param_name": "api_key", "token": "k-2"}}
    api.query(query, "single", None, 10, ctx=ctx)
    assert local_server.requests[-1]["query"]["api_key"] == "k-2"


def test_errors_are_mapped_and_never_leak_the_token(
    config: dict[str, Any], ctx: ConnectorContext
) -> None:
    cases = [
        ("status?code=500", "QUERY_FAILED"),
        ("text", "QUERY_FAILED"),
        ("hang?s=2", "QUERY_TIMEOUT"),
    ]
    for path, code in cases:
        with pytest.raises(ConnectorError) as info:
            api.query({**config, "timeout_s": 0.5}, path, None, 10, ctx=ctx)
        assert info.value.code == code, path
        assert "tok-SECRET-123" not in info.value.message
    with pytest.raises(ConnectorError) as info:
        api.query({**config, "data_path": "nope"}, "users", None, 10, ctx=ctx)
    assert "data_path" in info.value.message


@pytest.mark.parametrize(
    "path",
    ["http://127.0.0.1/", "//127.0.0.1/x", "https://evil.example/", "\\\\evil", "/\\evil.example"],
)
def test_the_path_cannot_leave_the_base_url(
    config: dict[str, Any], ctx: ConnectorContext, path: str
) -> None:
    with pytest.raises(ConnectorError) as info:
        api.query(config, path, None, 10, ctx=ctx)
    assert info.value.code == "INVALID_QUERY"


def test_redirects_to_internal_hosts_are_refused(
    config: dict[str, Any], ctx: ConnectorContext, trap_server: LocalServer
) -> None:
    with pytest.raises(ConnectorError) as info:
        api.query(config, f"redirect?to={trap_server.url('/')}", None, 10, ctx=ctx)
    assert info.value.code == "ADDRESS_NOT_ALLOWED"
    assert trap_server.requests == []


def test_without_an_allow_list_local_servers_are_unreachable(config: dict[str, Any]) -> None:
    result = api.test({**config, "test_path": "json"}, ConnectorContext())
    assert not result.ok and "not allowed" in result.message.lower()


def test_config_validation() -> None:
    assert api.validate_config({"base_url": "https://api.example.com/v1"}) == {}
    assert api.validate_config({"base_url": "ftp://x"})["base_url"]
    assert api.validate_config({"base_url": "https://u:p@x.example"})["base_url"]
    assert api.validate_config({"base_url": "https://x.example", "auth": {"type": "bearer"}})[
        "auth"
    ]
    assert api.validate_config({"base_url": "https://x.example", "auth": {"type": "magic"}})["auth"]
    assert api.validate_config({"base_url": "https://x.example", "headers": {"a": 1}})["headers"]
    assert api.validate_config({"base_url": "https://x.example", "timeout_s": 0})["timeout_s"]


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("{bad json", "not valid JSON"),
        ('{"path": "x", "sql": "y"}', "Unknown query keys"),
        ('{"path": 3}', "path must be a string"),
        ('{"method": "TRACE"}', "method must be one of"),
    ],
)
def test_bad_query_objects(
    config: dict[str, Any], ctx: ConnectorContext, query: str, problem: str
) -> None:
    with pytest.raises(ConnectorError, match=problem) as info:
        api.query(config, query, None, 10, ctx=ctx)
    assert info.value.code == "INVALID_QUERY"
