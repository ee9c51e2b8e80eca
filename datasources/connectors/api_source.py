"""REST APIs as data sources, called through the SSRF-safe outbound client.

The `query` of an `api` source is either
- a path relative to `base_url` (`"users?active=1"`; empty means the base URL itself), or
- an object, or its JSON text, `{"path": str, "params": {...}, "method": str, "body": any}`.
Request `params` (an object) are added to the query string. Rows come from the list found at
`data_path` (a dotted path, list indexes allowed: `data.items`, `results.0.rows`); an object
there becomes one row, scalars become `{"value": x}`.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from datasources.connectors.base import (
    CONNECTION_FAILED,
    INVALID_QUERY,
    QUERY_FAILED,
    QUERY_TIMEOUT,
    ConfigField,
    Connector,
    ConnectorContext,
    ConnectorError,
    QueryResult,
    records_at,
    rows_result,
)
from datasources.connectors.registry import register
from datasources.outbound import OutboundError, OutboundPolicy, OutboundResponse, SafeHttpClient

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
AUTH_TYPES = ("none", "bearer", "basic", "header", "query")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_OUTBOUND_CODES = {
    "TIMEOUT": QUERY_TIMEOUT,
    "DNS_FAILED": CONNECTION_FAILED,
    "CONNECTION_FAILED": CONNECTION_FAILED,
}

_default_client: SafeHttpClient | None = None
_default_client_lock = threading.Lock()


def default_client() -> SafeHttpClient:
    """A shared client with the strict default policy, for callers that pass none."""
    global _default_client
    with _default_client_lock:
        if _default_client is None:
            _default_client = SafeHttpClient(OutboundPolicy())
        return _default_client


@register
class ApiConnector(Connector):
    """Calls a REST endpoint and turns the JSON answer into rows."""

    type_name = "api"
    label = "REST API"
    config_fields = (
        ConfigField("base_url", required=True, description="Base URL, http or https."),
        ConfigField("method", "choice", default="GET", choices=METHODS, description="HTTP method."),
        ConfigField(
            "headers",
            "object",
            default={},
            description="Extra non-secret headers. Put credentials in auth.",
        ),
        ConfigField(
            "auth",
            "object",
            secret=True,
            default={},
            description=(
                "Credentials: {type: none|bearer|basic|header|query, token, username, "
                "password, header_name, param_name}."
            ),
        ),
        ConfigField("params", "object", default={}, description="Default query parameters."),
        ConfigField("data_path", default="", description="Dotted path to the list of records."),
        ConfigField("timeout_s", "number", default=30, description="Request timeout in seconds."),
        ConfigField("test_path", default="", description="Path requested by the connection test."),
    )

    def check_config(self, config: dict[str, Any]) -> dict[str, list[str]]:
        """base_url is absolute http(s) without credentials; auth is complete."""
        errors: dict[str, list[str]] = {}
        try:
            url = httpx.URL(config["base_url"])
            if url.scheme not in ("http", "https") or not url.host:
                errors["base_url"] = ["Must be an absolute http or https URL."]
            elif url.userinfo:
                errors["base_url"] = ["Put credentials in auth, not in the URL."]
        except (httpx.InvalidURL, TypeError, ValueError):
            errors["base_url"] = ["Not a valid URL."]
        if not 0 < config["timeout_s"] <= 300:
            errors["timeout_s"] = ["Must be between 0 and 300 seconds."]
        auth = config["auth"] or {}
        kind = auth.get("type", "none")
        required = {
            "none": (),
            "bearer": ("token",),
            "basic": ("username", "password"),
            "header": ("header_name", "token"),
            "query": ("param_name", "token"),
        }
        if kind not in required:
            errors["auth"] = [f"type must be one of: {', '.join(AUTH_TYPES)}."]
        else:
            missing = [k for k in required[kind] if not isinstance(auth.get(k), str)]
            if missing:
                errors["auth"] = [f"{kind} auth needs {', '.join(missing)}."]
        for name, value in (config["headers"] or {}).items():
            if not isinstance(value, str):
                errors.setdefault("headers", []).append(f"Header {name!r} must be a string.")
        return errors

    def secret_values(self, config: Mapping[str, Any]) -> list[str]:
        """Auth values and header values (a header is a common place to paste a key)."""
        values = super().secret_values(config)
        if isinstance(config, Mapping) and isinstance(config.get("headers"), Mapping):
            values.extend(str(v) for v in config["headers"].values() if v)
        return values

    # -- request building -------------------------------------------------------------------

    @staticmethod
    def _auth(config: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
        """(headers, query params) carrying the configured credentials."""
        auth = config["auth"] or {}
        kind = auth.get("type", "none")
        if kind == "bearer":
            return {"Authorization": f"Bearer {auth['token']}"}, {}
        if kind == "basic":
            raw = f"{auth['username']}:{auth['password']}".encode()
            return {"Authorization": f"Basic {base64.b64encode(raw).decode('ascii')}"}, {}
        if kind == "header":
            return {auth["header_name"]: auth["token"]}, {}
        if kind == "query":
            return {}, {auth["param_name"]: auth["token"]}
        return {}, {}

    @staticmethod
    def _parse_query(query: str | Mapping[str, Any] | None) -> dict[str, Any]:
        if query is None:
            return {}
        if isinstance(query, str):
            text = query.strip()
            if not text.startswith("{"):
                return {"path": text}
            try:
                query = json.loads(text)
            except ValueError:
                raise ConnectorError("The query object is not valid JSON.", INVALID_QUERY) from None
        if not isinstance(query, Mapping):
            raise ConnectorError("The query must be a path or an object.", INVALID_QUERY)
        unknown = set(query) - {"path", "params", "method", "body"}
        if unknown:
            raise ConnectorError(
                f"Unknown query keys: {', '.join(sorted(map(str, unknown)))}.", INVALID_QUERY
            )
        if not isinstance(query.get("path", ""), str):
            raise ConnectorError("query.path must be a string.", INVALID_QUERY)
        if not isinstance(query.get("params") or {}, Mapping):
            raise ConnectorError("query.params must be an object.", INVALID_QUERY)
        return dict(query)

    @staticmethod
    def build_url(base_url: str, path: str) -> httpx.URL:
        """base_url joined with a relative path; the result must keep base_url's origin."""
        base = httpx.URL(base_url)
        path = (path or "").strip()
        if not path:
            return base
        # The origin check below is what keeps the request on base_url's host; this gives the
        # common mistake (an absolute URL) a clear message.
        if "://" in path.split("?", 1)[0] or path.startswith(("//", "\\", "/\\")):
            raise ConnectorError("The path must be relative to the base URL.", INVALID_QUERY)
        root = base.copy_with(query=None, fragment=None)
        try:
            url = httpx.URL(str(root).rstrip("/") + "/" + path.lstrip("/"))
        except httpx.InvalidURL:
            raise ConnectorError("The path is not valid in a URL.", INVALID_QUERY) from None
        if (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port):
            raise ConnectorError("The path must stay on the base URL's host.", INVALID_QUERY)
        return url

    def _call(
        self,
        config: dict[str, Any],
        ctx: ConnectorContext,
        *,
        path: str,
        method: str,
        params: Mapping[str, Any],
        body: Any = None,
    ) -> OutboundResponse:
        auth_headers, auth_params = self._auth(config)
        url = self.build_url(config["base_url"], path)
        merged: dict[str, Any] = {
            **dict(httpx.URL(config["base_url"]).params.multi_items()),
            **(config["params"] or {}),
            **params,
            **auth_params,
        }
        headers = {**(config["headers"] or {}), **auth_headers}
        headers.setdefault("Accept", "application/json")
        client = ctx.outbound_client or default_client()
        try:
            return client.request(
                method,
                str(url),
                headers=headers,
                params={k: _param_value(v) for k, v in merged.items() if v is not None},
                json=body if method in _BODY_METHODS else None,
                timeout=float(config["timeout_s"]),
            )
        except OutboundError as exc:
            raise ConnectorError(exc.message, _OUTBOUND_CODES.get(exc.code, exc.code)) from None

    # -- operations ---------------------------------------------------------------------------

    def _test(self, config: dict[str, Any], ctx: ConnectorContext) -> str:
        response = self._call(config, ctx, path=config["test_path"], method="GET", params={})
        host = httpx.URL(config["base_url"]).host
        if response.status_code >= 400:
            raise ConnectorError(f"{host} answered HTTP {response.status_code}.", CONNECTION_FAILED)
        return f"{host} answered HTTP {response.status_code} in {response.elapsed_ms:.0f} ms."

    def _query(
        self,
        config: dict[str, Any],
        query: str | Mapping[str, Any] | None,
        params: Mapping[str, Any] | Sequence[Any] | None,
        limit: int,
        ctx: ConnectorContext,
    ) -> QueryResult:
        spec = self._parse_query(query)
        if params is not None and not isinstance(params, Mapping):
            raise ConnectorError("params for an API source must be an object.", INVALID_QUERY)
        method = str(spec.get("method") or config["method"]).upper()
        if method not in METHODS:
            raise ConnectorError(f"method must be one of: {', '.join(METHODS)}.", INVALID_QUERY)
        response = self._call(
            config,
            ctx,
            path=spec.get("path", ""),
            method=method,
            params={**(spec.get("params") or {}), **(params or {})},
            body=spec.get("body"),
        )
        if response.status_code >= 400:
            raise ConnectorError(f"The API answered HTTP {response.status_code}.", QUERY_FAILED)
        if not response.is_json:
            raise ConnectorError(
                "The API did not answer with JSON "
                f"(content type {response.content_type or 'unknown'!r}).",
                QUERY_FAILED,
            )
        return rows_result(records_at(response.body, config["data_path"]), limit)


def _param_value(value: Any) -> Any:
    # Query strings carry text; booleans as JSON spells them, nested values as JSON.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value)
    return value
