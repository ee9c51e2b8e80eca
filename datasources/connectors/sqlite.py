"""SQLite files under a base directory, opened read-only with an authorizer and a time limit."""

from __future__ import annotations

import contextlib
import sqlite3
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from datasources.connectors.base import (
    INVALID_CONFIG,
    INVALID_QUERY,
    QUERY_FAILED,
    QUERY_NOT_READ_ONLY,
    QUERY_TIMEOUT,
    ConfigField,
    Connector,
    ConnectorContext,
    ConnectorError,
    QueryResult,
    json_safe,
    statement_timeout_ms,
    unique_columns,
)
from datasources.connectors.files import path_problem, resolve_under
from datasources.connectors.registry import register
from datasources.connectors.sql_guard import DENIED_FUNCTIONS, SqlGuardError, check_read_only

_PROGRESS_STEPS = 1000  # VM instructions between deadline checks

# Authorizer actions a read needs; everything else (writes, ATTACH, PRAGMA ...) is denied.
_ALLOWED_ACTIONS = frozenset(
    {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
)


def _authorizer(
    action: int, arg1: str | None, arg2: str | None, db_name: str | None, trigger: str | None
) -> int:
    """Second layer behind the parser: only reads and harmless functions are authorized."""
    if action not in _ALLOWED_ACTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _deadline_handler(deadline: float) -> Callable[[], int]:
    def handler() -> int:
        # A non-zero return makes SQLite abort the statement with "interrupted".
        return 1 if time.monotonic() > deadline else 0

    return handler


@register
class SQLiteConnector(Connector):
    """Reads a SQLite file under the context's sqlite_base_dir."""

    type_name = "sqlite"
    label = "SQLite"
    dialect = "sqlite"
    config_fields = (
        ConfigField(
            "path",
            required=True,
            description="Database file, relative to the platform's SQLite data directory.",
        ),
        ConfigField(
            "statement_timeout_ms",
            "integer",
            description="Per-query time limit in ms (capped by the platform maximum).",
        ),
    )

    def check_config(self, config: dict[str, Any]) -> dict[str, list[str]]:
        """The path must be relative and must not climb out with '..'."""
        problem = path_problem(config["path"])
        return {"path": [problem]} if problem else {}

    def _open(self, config: dict[str, Any], ctx: ConnectorContext) -> sqlite3.Connection:
        path = resolve_under(ctx.sqlite_base_dir, config["path"], "SQLite")
        uri = f"file:{urllib.parse.quote(str(path))}?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=1.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise ConnectorError(f"Could not open the SQLite file: {exc}", INVALID_CONFIG) from None
        try:
            conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)  # no ATTACH, whatever the parser says
            conn.execute("PRAGMA query_only = ON")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # is it a database?
        except sqlite3.Error as exc:
            conn.close()
            raise ConnectorError(f"Not a readable SQLite database: {exc}", INVALID_CONFIG) from None
        conn.set_authorizer(_authorizer)
        return conn

    def _test(self, config: dict[str, Any], ctx: ConnectorContext) -> str:
        conn = self._open(config, ctx)
        try:
            count = conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            ).fetchone()[0]
        finally:
            conn.close()
        return f"Opened SQLite {sqlite3.sqlite_version} database with {count} tables."

    def _query(
        self,
        config: dict[str, Any],
        query: str | Mapping[str, Any] | None,
        params: Mapping[str, Any] | Sequence[Any] | None,
        limit: int,
        ctx: ConnectorContext,
    ) -> QueryResult:
        if not isinstance(query, str):
            raise ConnectorError("The query must be SQL text.", INVALID_QUERY)
        return self._run(config, query, params, limit, ctx, guarded=True)

    def _run(
        self,
        config: dict[str, Any],
        sql: str,
        params: Mapping[str, Any] | Sequence[Any] | None,
        limit: int,
        ctx: ConnectorContext,
        *,
        guarded: bool = True,
    ) -> QueryResult:
        """Execute read-only; `guarded=False` skips the parser (tests only)."""
        sql = sql.strip().rstrip(";").rstrip()
        if guarded:
            try:
                check_read_only(sql, "sqlite")
            except SqlGuardError as exc:
                raise ConnectorError(exc.message, exc.code) from None
        if params is not None and not isinstance(params, Mapping | list | tuple):
            raise ConnectorError("params must be an object or a list.", INVALID_QUERY)
        timeout_ms = statement_timeout_ms(config, ctx)
        conn = self._open(config, ctx)
        try:
            conn.set_progress_handler(
                _deadline_handler(time.monotonic() + timeout_ms / 1000), _PROGRESS_STEPS
            )
            cur = conn.execute(sql, params if params is not None else ())
            names = [col[0] for col in cur.description or ()]
            rows = cur.fetchmany(limit + 1)
        except sqlite3.Error as exc:
            raise _map_error(exc, timeout_ms) from None
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        columns = unique_columns(names)
        truncated = len(rows) > limit
        data = [
            {name: json_safe(value) for name, value in zip(columns, row, strict=False)}
            for row in rows[:limit]
        ]
        return QueryResult(data=data, count=len(data), columns=columns, truncated=truncated)


def _map_error(exc: sqlite3.Error, timeout_ms: int) -> ConnectorError:
    text = str(exc).strip().splitlines()[0][:500] if str(exc).strip() else type(exc).__name__
    lowered = text.lower()
    if "interrupted" in lowered:
        return ConnectorError(
            f"The query ran longer than the {timeout_ms} ms statement timeout.", QUERY_TIMEOUT
        )
    if "not authorized" in lowered or "readonly" in lowered or "read-only" in lowered:
        return ConnectorError(f"The database refused the statement: {text}", QUERY_NOT_READ_ONLY)
    if isinstance(exc, sqlite3.ProgrammingError) or "syntax error" in lowered:
        return ConnectorError(f"Invalid query: {text}", INVALID_QUERY)
    return ConnectorError(f"The query failed: {text}", QUERY_FAILED)
