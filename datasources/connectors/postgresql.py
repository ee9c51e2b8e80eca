"""PostgreSQL through psycopg 3: read-only transaction, statement timeout, server-side row cap."""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.types.json import Jsonb

from datasources.connectors.base import (
    CONNECTION_FAILED,
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
from datasources.connectors.registry import register
from datasources.connectors.sql_guard import SqlGuardError, check_read_only

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# A path that can never exist (/dev/null is not a directory): libpq then reads no ~/.pgpass
# and stays silent, where os.devnull itself makes it print a warning.
_NO_PASSFILE = os.path.join(os.devnull, "pgpass")
_PLACEHOLDER_FORMATS = re.compile(r"%(\([^)]*\))?[bt]")


def guard_text(sql: str, params: object) -> str:
    """The SQL as the server will parse it, for the guard: psycopg's `%%` and `%b`/`%t` undone."""
    if params is None:
        return sql  # psycopg leaves the text alone when there are no parameters
    return _PLACEHOLDER_FORMATS.sub(lambda m: f"%{m.group(1) or ''}s", sql).replace("%%", "%")


def _adapt(value: Any) -> Any:
    # A JSON object parameter is meant as jsonb; psycopg would refuse a bare dict.
    return Jsonb(value) if isinstance(value, Mapping) else value


def _adapt_params(
    params: Mapping[str, Any] | Sequence[Any] | None,
) -> Mapping[str, Any] | Sequence[Any] | None:
    if params is None:
        return None
    if isinstance(params, Mapping):
        return {str(k): _adapt(v) for k, v in params.items()}
    if isinstance(params, list | tuple):
        return [_adapt(v) for v in params]
    raise ConnectorError("params must be an object or a list.", INVALID_QUERY)


@register
class PostgresConnector(Connector):
    """Runs one SELECT per connection in a READ ONLY transaction through a server-side cursor."""

    type_name = "postgresql"
    label = "PostgreSQL"
    dialect = "postgres"
    config_fields = (
        ConfigField("host", required=True, description="Server host name or address."),
        ConfigField("port", "integer", default=5432, description="Server port."),
        ConfigField("database", required=True, description="Database name."),
        ConfigField("user", required=True, description="Role to log in as (use a read-only role)."),
        ConfigField("password", secret=True, default="", description="Password of the role."),
        ConfigField(
            "sslmode", "choice", default="prefer", choices=SSL_MODES, description="libpq sslmode."
        ),
        ConfigField("options", default="", description="libpq options, e.g. -c search_path=app."),
        ConfigField(
            "statement_timeout_ms",
            "integer",
            description="Per-query time limit in ms (capped by the platform maximum).",
        ),
    )

    def check_config(self, config: dict[str, Any]) -> dict[str, list[str]]:
        """Port range and a positive timeout."""
        errors: dict[str, list[str]] = {}
        if not 1 <= config["port"] <= 65535:
            errors["port"] = ["Must be between 1 and 65535."]
        timeout = config.get("statement_timeout_ms")
        if timeout is not None and timeout < 1:
            errors["statement_timeout_ms"] = ["Must be positive."]
        return errors

    def _connect(self, config: dict[str, Any], ctx: ConnectorContext) -> psycopg.Connection:
        try:
            return psycopg.connect(
                host=config["host"],
                port=config["port"],
                dbname=config["database"],
                user=config["user"],
                password=config["password"] or None,
                sslmode=config["sslmode"],
                options=config["options"] or None,
                # libpq ignores values under 2 s.
                connect_timeout=max(2, math.ceil(ctx.connect_timeout_s)),
                application_name="conflux-datasource",
                # Never fill a missing password from the platform account's ~/.pgpass.
                passfile=_NO_PASSFILE,
                autocommit=False,
                prepare_threshold=None,
            )
        except psycopg.Error as exc:
            raise ConnectorError(
                f"Could not connect to PostgreSQL: {_pg_message(exc)}", CONNECTION_FAILED
            ) from None

    def _begin_read_only(self, conn: psycopg.Connection, timeout_ms: int) -> None:
        """Open the READ ONLY transaction with transaction-local time limits."""
        conn.read_only = True  # psycopg now starts every transaction with BEGIN READ ONLY
        with conn.cursor() as cur:
            cur.execute(
                "SELECT set_config('statement_timeout', %(t)s, true),"
                " set_config('lock_timeout', %(t)s, true),"
                " set_config('idle_in_transaction_session_timeout', %(idle)s, true)",
                {"t": f"{timeout_ms}ms", "idle": f"{timeout_ms * 2}ms"},
            )

    @contextlib.contextmanager
    def read_only_session(
        self, config: dict[str, Any], ctx: ConnectorContext
    ) -> Iterator[psycopg.Connection]:
        """A connection inside a READ ONLY transaction with time limits; rolled back and closed."""
        timeout_ms = statement_timeout_ms(config, ctx)
        conn = self._connect(config, ctx)
        try:
            self._begin_read_only(conn, timeout_ms)
            yield conn
        except psycopg.Error as exc:
            raise self._map_error(exc, timeout_ms) from None
        finally:
            _close(conn)

    def _test(self, config: dict[str, Any], ctx: ConnectorContext) -> str:
        with self.read_only_session(config, ctx) as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT current_setting('server_version'), current_setting('is_superuser') = 'on'"
            )
            row = cur.fetchone()
        version, superuser = row if row else ("?", False)
        message = f"Connected to PostgreSQL {version} (database {config['database']!r})."
        if superuser:
            message += " Warning: the role is a superuser; use a role that can only SELECT."
        return message

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
        """Execute in a read-only transaction; `guarded=False` skips the parser (tests only)."""
        sql = sql.strip().rstrip(";").rstrip()
        if guarded:
            try:
                check_read_only(guard_text(sql, params), "postgres")
            except SqlGuardError as exc:
                raise ConnectorError(exc.message, exc.code) from None
        bound = _adapt_params(params)
        # A server-side cursor: DECLARE accepts only a SELECT/VALUES, is always sent with the
        # extended protocol (one statement), and FETCH keeps the rows beyond the cap on the
        # server instead of in our memory.
        with (
            self.read_only_session(config, ctx) as conn,
            conn.cursor(name="conflux_datasource_query") as cur,
        ):
            cur.execute(sql, bound)
            names = [col.name for col in cur.description or ()]
            rows = cur.fetchmany(limit + 1)
        columns = unique_columns(names)
        truncated = len(rows) > limit
        data = [
            {name: json_safe(value) for name, value in zip(columns, row, strict=False)}
            for row in rows[:limit]
        ]
        return QueryResult(data=data, count=len(data), columns=columns, truncated=truncated)

    @staticmethod
    def _map_error(exc: psycopg.Error, timeout_ms: int) -> ConnectorError:
        message = _pg_message(exc)
        if isinstance(exc, pg_errors.QueryCanceled):
            return ConnectorError(
                f"The query ran longer than the {timeout_ms} ms statement timeout.", QUERY_TIMEOUT
            )
        if isinstance(exc, pg_errors.LockNotAvailable):
            return ConnectorError("The query timed out waiting for a lock.", QUERY_TIMEOUT)
        if isinstance(exc, pg_errors.ReadOnlySqlTransaction):
            return ConnectorError(
                f"The database refused a write in the read-only transaction: {message}",
                QUERY_NOT_READ_ONLY,
            )
        client_side = isinstance(exc, psycopg.ProgrammingError) and exc.sqlstate is None
        if isinstance(exc, pg_errors.SyntaxError) or client_side:
            return ConnectorError(f"Invalid query: {message}", INVALID_QUERY)
        if isinstance(exc, psycopg.OperationalError) and exc.sqlstate is None:
            return ConnectorError(
                f"Lost the connection to PostgreSQL: {message}", CONNECTION_FAILED
            )
        return ConnectorError(f"The query failed: {message}", QUERY_FAILED)


def _pg_message(exc: psycopg.Error) -> str:
    """The server's primary message when there is one, else the first line of the error."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    text = primary or str(exc) or type(exc).__name__
    return text.strip().splitlines()[0][:500]


def _close(conn: psycopg.Connection) -> None:
    """Roll back (nothing was written, but be explicit) and close, ignoring a broken socket."""
    try:
        if not conn.closed:
            conn.rollback()
    except psycopg.Error:
        pass
    finally:
        conn.close()
