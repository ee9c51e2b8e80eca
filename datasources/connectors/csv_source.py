"""Inline CSV text or an uploaded CSV file as a data source.

Values stay strings (CSV has no types). The `query` is ignored; every row up to the limit is
returned.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from datasources.connectors.base import (
    INVALID_CONFIG,
    ConfigField,
    Connector,
    ConnectorContext,
    ConnectorError,
    QueryResult,
    unique_columns,
)
from datasources.connectors.files import path_problem, read_limited, resolve_under
from datasources.connectors.registry import register


@register
class CsvConnector(Connector):
    """Rows as dicts keyed by the header (or col_1, col_2 ... without one)."""

    type_name = "csv"
    label = "CSV"
    config_fields = (
        ConfigField("content", "text", description="Inline CSV text."),
        ConfigField("file", description="A CSV file, relative to the platform's upload directory."),
        ConfigField("delimiter", default=",", description="One-character field separator."),
        ConfigField("has_header", "boolean", default=True, description="First row names columns."),
        ConfigField("encoding", default="utf-8-sig", description="Text encoding of the file."),
    )

    def check_config(self, config: dict[str, Any]) -> dict[str, list[str]]:
        """Exactly one of content and file, a one-character delimiter, a known encoding."""
        errors: dict[str, list[str]] = {}
        if bool(config.get("content")) == bool(config.get("file")):
            errors["content"] = ["Give either content or file."]
        elif config.get("file"):
            problem = path_problem(config["file"])
            if problem:
                errors["file"] = [problem]
        delimiter = config["delimiter"]
        if len(delimiter) != 1 or delimiter in '\r\n"':
            errors["delimiter"] = ["Must be one character other than a quote or newline."]
        try:
            "".encode(config["encoding"])
        except LookupError:
            errors["encoding"] = ["Unknown encoding."]
        return errors

    def _text(self, config: dict[str, Any], ctx: ConnectorContext) -> str:
        if config.get("file"):
            raw = read_limited(
                resolve_under(ctx.uploads_base_dir, config["file"], "upload"), ctx.max_file_bytes
            )
            try:
                return raw.decode(config["encoding"])
            except UnicodeDecodeError:
                raise ConnectorError(
                    f"The file is not valid {config['encoding']} text.", INVALID_CONFIG
                ) from None
        text = config["content"]
        if len(text) > ctx.max_file_bytes:
            raise ConnectorError("The inline CSV is too large.", INVALID_CONFIG)
        return text.removeprefix("\ufeff")

    def _rows(self, config: dict[str, Any], ctx: ConnectorContext) -> Iterator[list[str]]:
        # csv's own 128 KiB field limit stays: it bounds a single cell without a global change.
        reader = csv.reader(io.StringIO(self._text(config, ctx)), delimiter=config["delimiter"])
        try:
            for row in reader:
                if row:  # blank lines are not records
                    yield row
        except csv.Error as exc:
            raise ConnectorError(f"The CSV could not be read: {exc}", INVALID_CONFIG) from None

    def _read(self, config: dict[str, Any], ctx: ConnectorContext, limit: int) -> QueryResult:
        rows = self._rows(config, ctx)
        header: list[str] = []
        if config["has_header"]:
            header = unique_columns(h.strip() for h in next(rows, []))
        data: list[dict[str, Any]] = []
        truncated = False
        for row in rows:
            if len(data) >= limit:
                truncated = True
                break
            if len(row) > len(header):
                # A ragged row widens the table rather than losing values.
                header = header + [f"col_{i + 1}" for i in range(len(header), len(row))]
                header = unique_columns(header)
            data.append({name: (row[i] if i < len(row) else None) for i, name in enumerate(header)})
        return QueryResult(data=data, count=len(data), columns=header, truncated=truncated)

    def _test(self, config: dict[str, Any], ctx: ConnectorContext) -> str:
        result = self._read(config, ctx, limit=1)
        return f"Read CSV with {len(result.columns)} columns."

    def _query(
        self,
        config: dict[str, Any],
        query: str | Mapping[str, Any] | None,
        params: Mapping[str, Any] | Sequence[Any] | None,
        limit: int,
        ctx: ConnectorContext,
    ) -> QueryResult:
        return self._read(config, ctx, limit)
