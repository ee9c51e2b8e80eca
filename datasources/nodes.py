"""The `datasource` and `http` node types, registered on the engine's registry on import.

Both do I/O, so they are blocking: the runner runs them on its worker threads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

from workflows.engine import (
    Compiler,
    Field,
    Issue,
    NodeContext,
    NodeError,
    NodeType,
    default_registry,
)

T = TypeVar("T")

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
DEFAULT_HTTP_TIMEOUT_MS = 30_000
MAX_HTTP_TIMEOUT_MS = 300_000
# Outbound codes that mean "the platform refused to go there", as opposed to "it failed".
_REFUSALS = frozenset({"ADDRESS_NOT_ALLOWED", "SCHEME_NOT_ALLOWED", "INVALID_URL"})


def _using_db(work: Callable[[], T]) -> T:
    """Run `work` (ORM calls) and close this thread's connections unless a transaction is open.

    Blocking nodes run on the runner's short-lived pool threads: a connection opened there
    would otherwise stay open until the thread is garbage collected.
    """
    from django.db import connections

    try:
        return work()
    finally:
        for connection in connections.all(initialized_only=True):
            if not connection.in_atomic_block:
                connection.close()


@default_registry.register
class DataSourceNode(NodeType):
    """Runs a read-only query on one of the workflow owner's data sources."""

    type_name = "datasource"
    description = ("Queries a data source of the workflow's owner; outputs {data, count, "
                   "columns}. The query is used as written (never rendered): values go in "
                   "params, whose templates are rendered to values and sent as bound "
                   "parameters.")
    blocking = True
    config_fields = (
        Field("data_source_id", "template", required=True,
              description="The data source's id (a template, e.g. {input.source_id})"),
        Field("query", "string",
              description="SQL (one read) with placeholders, or the source's query syntax; "
                          "not rendered"),
        Field("params", "template_json",
              description="{name: template} or [template, ...]: bound parameter values"),
        Field("limit", "int", min_value=1, description="Rows at most (capped by the platform)"),
    )

    def validate_config(self, config: Mapping[str, Any], compiler: Compiler | None = None
                        ) -> list[Issue]:
        """Schema checks plus params being an object or a list."""
        issues = super().validate_config(config, compiler)
        params = config.get("params")
        if params is not None and not isinstance(params, dict | list):
            issues.append(Issue(None, "INVALID_CONFIG", "'params' must be an object or a list."))
        return issues

    def run(self, ctx: NodeContext) -> dict[str, Any]:
        """Look the source up among the owner's, render params to values, run the query."""
        from datasources.connectors import QueryResult
        from datasources.models import DataSource
        from datasources.selectors import datasource_get_for_owner
        from datasources.services import datasource_query
        from platform_site.api.errors import APIError

        owner_id = ctx.services.get("owner_id")
        if not owner_id:
            raise NodeError("A datasource node runs only inside an execution (no owner given).")
        source_id = str(ctx.render_value(ctx.config["data_source_id"])).strip()
        raw_params = ctx.config.get("params")
        # Each template becomes a value handed to the driver as a bound parameter, so data
        # flowing in can never change the SQL itself.
        params = ctx.render_deep(raw_params) if raw_params is not None else None

        def work() -> tuple[str, QueryResult]:
            source = datasource_get_for_owner(owner_id=owner_id, data_source_id=source_id)
            result = datasource_query(data_source=source, query=ctx.config.get("query"),
                                      params=params, limit=ctx.config.get("limit"))
            return source.name, result

        try:
            name, result = _using_db(work)
        except DataSource.DoesNotExist:
            raise NodeError(
                f"Data source {source_id!r} was not found among the workflow owner's data "
                "sources."
            ) from None
        except APIError as exc:
            raise NodeError(f"The data source query failed ({exc.error_code}): {exc.detail}"
                            ) from None
        if result.truncated:
            ctx.log("warn", f"Data source {name!r}: only the first {result.count} rows were "
                            "returned (limit or row cap).", count=result.count)
        else:
            ctx.log("info", f"Data source {name!r} returned {result.count} rows.",
                    count=result.count)
        return {"data": result.data, "count": result.count, "columns": result.columns}


@default_registry.register
class HttpNode(NodeType):
    """Sends one HTTP request through the platform's SSRF-safe client."""

    type_name = "http"
    description = ("Sends an HTTP request (url, headers and body are templates) and outputs "
                   "{status_code, headers, body}; private and loopback addresses are refused "
                   "unless allow-listed by the operator, and the response size is capped.")
    blocking = True
    config_fields = (
        Field("method", "enum", default="GET", choices=HTTP_METHODS),
        Field("url", "template", required=True, description="Absolute http(s) URL"),
        Field("headers", "template_json", default={}, description="{name: template}"),
        Field("body", "template_json",
              description="A JSON value (sent as JSON) or a text template (sent as is)"),
        Field("timeout_ms", "int", default=DEFAULT_HTTP_TIMEOUT_MS, min_value=1,
              max_value=MAX_HTTP_TIMEOUT_MS, description="Time limit of the whole request"),
    )

    def validate_config(self, config: Mapping[str, Any], compiler: Compiler | None = None
                        ) -> list[Issue]:
        """Schema checks plus headers being an object."""
        issues = super().validate_config(config, compiler)
        headers = config.get("headers")
        if headers is not None and not isinstance(headers, dict):
            issues.append(Issue(None, "INVALID_CONFIG", "'headers' must be an object."))
        return issues

    def run(self, ctx: NodeContext) -> dict[str, Any]:
        """Render the request, send it and return the response as a JSON object."""
        from datasources.outbound import OutboundError
        from platform_site.outbound import outbound_client

        config = ctx.config
        method = str(config.get("method") or "GET").upper()
        url = ctx.render(config["url"]).strip()
        rendered_headers = ctx.render_deep(config.get("headers") or {})
        if not isinstance(rendered_headers, Mapping):
            raise NodeError("'headers' must be an object.")
        headers = {str(k): v if isinstance(v, str) else json.dumps(v)
                   for k, v in rendered_headers.items() if v is not None}
        body = ctx.render_deep(config["body"]) if config.get("body") is not None else None
        timeout_s = (config.get("timeout_ms") or DEFAULT_HTTP_TIMEOUT_MS) / 1000
        send: dict[str, Any] = {}
        if isinstance(body, str):
            send["content"] = body
        elif body is not None:
            send["json"] = body
        host = urlsplit(url).hostname or "?"
        try:
            response = outbound_client().request(method, url, headers=headers,
                                                 timeout=timeout_s, **send)
        except OutboundError as exc:
            verb = "refused" if exc.code in _REFUSALS else "failed"
            raise NodeError(f"The HTTP request was {verb} ({exc.code}): {exc.message}"
                            ) from None
        # The host only: a query string may carry a key.
        ctx.log("info", f"{method} {host} answered {response.status_code} in "
                        f"{response.elapsed_ms:.0f} ms.", status_code=response.status_code)
        return {"status_code": response.status_code, "headers": dict(response.headers),
                "body": response.body}
