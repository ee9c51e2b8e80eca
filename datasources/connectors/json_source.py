"""Inline JSON or an uploaded JSON file as a data source.

The `query` of a `json` source is optional: empty means all records at the configured
`data_path`; otherwise it is a dotted path that replaces `data_path` for this call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from datasources.connectors.base import (
    INVALID_CONFIG,
    INVALID_QUERY,
    ConfigField,
    Connector,
    ConnectorContext,
    ConnectorError,
    QueryResult,
    records_at,
    rows_result,
)
from datasources.connectors.files import path_problem, read_limited, resolve_under
from datasources.connectors.registry import register


@register
class JsonConnector(Connector):
    """Rows from a JSON array of objects, or from a list inside a JSON document."""

    type_name = "json"
    label = "JSON"
    config_fields = (
        ConfigField(
            "data",
            "json",
            description="Inline JSON: an array of objects, or a document (or its JSON text).",
        ),
        ConfigField(
            "file", description="A JSON file, relative to the platform's upload directory."
        ),
        ConfigField("data_path", default="", description="Dotted path to the list of records."),
    )

    def check_config(self, config: dict[str, Any]) -> dict[str, list[str]]:
        """Exactly one of data and file; a safe relative file path."""
        has_data, has_file = config.get("data") is not None, bool(config.get("file"))
        if has_data == has_file:
            return {"data": ["Give either data or file."]}
        if has_file:
            problem = path_problem(config["file"])
            if problem:
                return {"file": [problem]}
        if has_data and isinstance(config["data"], str):
            try:
                json.loads(config["data"])
            except ValueError:
                return {"data": ["Not valid JSON text."]}
        return {}

    def _document(self, config: dict[str, Any], ctx: ConnectorContext) -> Any:
        if config.get("file"):
            raw = read_limited(
                resolve_under(ctx.uploads_base_dir, config["file"], "upload"), ctx.max_file_bytes
            )
            try:
                return json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                raise ConnectorError("The file is not valid JSON.", INVALID_CONFIG) from None
        data = config["data"]
        if isinstance(data, str):
            if len(data.encode()) > ctx.max_file_bytes:
                raise ConnectorError("The inline JSON is too large.", INVALID_CONFIG)
            return json.loads(data)
        return data

    def _test(self, config: dict[str, Any], ctx: ConnectorContext) -> str:
        records = records_at(self._document(config, ctx), config["data_path"])
        return f"Found {len(records)} records."

    def _query(
        self,
        config: dict[str, Any],
        query: str | Mapping[str, Any] | None,
        params: Mapping[str, Any] | Sequence[Any] | None,
        limit: int,
        ctx: ConnectorContext,
    ) -> QueryResult:
        if query is not None and not isinstance(query, str):
            raise ConnectorError("The query must be empty or a dotted data path.", INVALID_QUERY)
        path = (query or "").strip() or config["data_path"]
        return rows_result(records_at(self._document(config, ctx), path), limit)
