"""MySQL and MariaDB via PyMySQL: read-only transaction, statement time limit, streamed row cap."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pymysql
import pymysql.cursors

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

# Server error numbers (MySQL and MariaDB share most of them).
_TIMEOUT_ERRORS = frozenset(
    {
        1969,  # MariaDB ER_STATEMENT_TIMEOUT (max_statement_time)
        3024,  # MySQL ER_QUERY_TIMEOUT (max_execution_time)
        1317,  # ER_QUERY_INTERRUPTED
        1205,  # ER_LOCK_WAIT_TIMEOUT
    }
)
_READ_ONLY_ERRORS = frozenset({1792, 1290, 1836})  # read-only transaction / server / mode
_SYNTAX_ERRORS = frozenset({1064, 1149})
_CONNECT_ERRORS = frozenset({1044, 1045, 1049, 1130, 1251, 2003, 2005, 2006, 2013})
_CLIENT_TIMEOUT_MARGIN_S = 5
_RISKY_PRIVILEGES_SQL = """
SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES
WHERE GRANTEE = CONCAT("'", SUBSTRING_INDEX(CURRENT_USER(), '@', 1), "'@'",
                       SUBSTRING_INDEX(CURRENT_USER(), '@', -1), "'")
  AND PRIVILEGE_TYPE IN ('SUPER', 'FILE', 'INSERT', 'UPDATE', 'DELETE', 'DROP', 'ALTER',
                         'CREATE', 'GRANT OPTION', 'SHUTDOWN', 'PROCESS')
"""


def _check_params(params: object) -> Mapping[str, Any] | Sequence[Any] | None:
    if params is None or isinstance(params, Mapping | list | tuple):
        return params  # type: ignore[return-value]
    raise ConnectorError("params must be an object or a list.", INVALID_QUERY)


@register
class MySQLConnector(Connector):
    """Runs one SELECT per connection inside START TRANSACTION READ ONLY."""

    type_name = "mysql"
    label = "MySQL / MariaDB"
    dialect = "mysql"
    config_fields = (
        ConfigField("host", required=True, description="Server host name or address."),
        ConfigField("port", "integer", default=3306, description="Server port."),
        ConfigField("database", required=True, description="Database (schema) name."),
        ConfigField("user", required=True, description="User to log in as (use a read-only one)."),
        ConfigField("password", secret=True, default="", description="Password of the user."),
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

    def _connect(
        self, config: dict[str, Any], ctx: ConnectorContext, timeout_ms: int
    ) -> pymysql.connections.Connection:
        socket_timeout = math.ceil(timeout_ms / 1000) + _CLIENT_TIMEOUT_MARGIN_S
        try:
            return pymysql.connect(
                host=config["host"],
                port=config["port"],
                user=config["user"],
                password=config["password"] or "",
                database=config["database"],
                charset="utf8mb4",
                connect_timeout=max(1, math.ceil(ctx.connect_timeout_s)),
                # A client-side backstop in case the server-side limit does not fire.
                read_timeout=socket_timeout,
                write_timeout=socket_timeout,
                autocommit=False,
                # No CLIENT.MULTI_STATEMENTS flag: the server refuses stacked statements.
                client_flag=0,
                local_infile=False,
            )
        except pymysql.MySQLError as exc:
            raise ConnectorError(
                f"Could not connect to MySQL: {_my_message(exc)}", CONNECTION_FAILED
            ) from None

    @staticmethod
    def server_flavour(conn: pymysql.connections.Connection) -> str:
        """'mariadb' or 'mysql', from the server's version string."""
        return "mariadb" if "mariadb" in conn.get_server_info().lower() else "mysql"

    def _begin_read_only(self, conn: pymysql.connections.Connection, timeout_ms: int) -> None:
        """Session time limits, then a READ ONLY transaction."""
        seconds = max(1, math.ceil(timeout_ms / 1000))
        with conn.cursor() as cur:
            if self.server_flavour(conn) == "mariadb":
                cur.execute("SET SESSION max_statement_time = %s", (timeout_ms / 1000,))
            else:
                cur.execute("SET SESSION max_execution_time = %s", (timeout_ms,))
            cur.execute("SET SESSION lock_wait_timeout = %s", (seconds,))
            cur.execute("SET SESSION innodb_lock_wait_timeout = %s", (seconds,))
            cur.execute("SET SESSION TRANSACTION READ ONLY")
            cur.execute("START TRANSACTION READ ONLY")

    @contextlib.contextmanager
    def read_only_session(
        self, config: dict[str, Any], ctx: ConnectorContext
    ) -> Iterator[pymysql.connections.Connection]:
        """A connection inside START TRANSACTION READ ONLY with time limits; always closed."""
        timeout_ms = statement_timeout_ms(config, ctx)
        conn = self._connect(config, ctx, timeout_ms)
        try:
            self._begin_read_only(conn, timeout_ms)
            yield conn
        except pymysql.MySQLError as exc:
            raise self._map_error(exc, timeout_ms) from None
        finally:
            _close(conn)

    def _test(self, config: dict[str, Any], ctx: ConnectorContext) -> str:
        with self.read_only_session(config, ctx) as conn:
            with conn.cursor() as cur:
                cur.execute("SELECT VERSION()")
                row = cur.fetchone()
                cur.execute(_RISKY_PRIVILEGES_SQL)
                risky = sorted({r[0] for r in cur.fetchall()})
            name = "MariaDB" if self.server_flavour(conn) == "mariadb" else "MySQL"
        version = row[0] if row else "?"
        message = f"Connected to {name} {version} (database {config['database']!r})."
        if risky:
            # A READ ONLY transaction does not stop SET GLOBAL or INTO OUTFILE for such users.
            message += (
                f" Warning: the user has global {', '.join(risky)} privileges;"
                " use a user that can only SELECT."
            )
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
        params = _check_params(params)
        with self.read_only_session(config, ctx) as conn:
            with conn.cursor() as setup:
                # Most queries then stop at the cap on the server; an explicit larger LIMIT
                # still wins, which the streamed fetchmany below handles.
                setup.execute("SET SESSION sql_select_limit = %s", (limit + 1,))
            cur = conn.cursor(pymysql.cursors.SSCursor)
            try:
                # PyMySQL interpolates parameters on the client, so the guard must read the
                # final text, exactly what the server will receive.
                final_sql = cur.mogrify(sql, params)
            except (TypeError, KeyError, ValueError) as exc:
                raise ConnectorError(
                    "Query parameters do not match the placeholders (use %s or %(name)s,"
                    f" and %% for a literal %; {type(exc).__name__}).",
                    INVALID_QUERY,
                ) from None
            if guarded:
                try:
                    check_read_only(final_sql, "mysql")
                except SqlGuardError as exc:
                    raise ConnectorError(exc.message, exc.code) from None
            cur.execute(final_sql)  # no args: nothing is interpolated a second time
            names = [col[0] for col in cur.description or ()]
            rows = cur.fetchmany(limit + 1)
        columns = unique_columns(names)
        truncated = len(rows) > limit
        data = [
            {name: json_safe(value) for name, value in zip(columns, row, strict=False)}
            for row in rows[:limit]
        ]
        return QueryResult(data=data, count=len(data), columns=columns, truncated=truncated)

    @staticmethod
    def _map_error(exc: pymysql.MySQLError, timeout_ms: int) -> ConnectorError:
        number = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        message = _my_message(exc)
        if number in _TIMEOUT_ERRORS or (number == 2013 and "timed out" in message):
            return ConnectorError(
                f"The query ran longer than the {timeout_ms} ms statement timeout.", QUERY_TIMEOUT
            )
        if number in _READ_ONLY_ERRORS:
            return ConnectorError(
                f"The database refused a write in the read-only transaction: {message}",
                QUERY_NOT_READ_ONLY,
            )
        if number in _SYNTAX_ERRORS:
            return ConnectorError(f"Invalid query: {message}", INVALID_QUERY)
        if number in _CONNECT_ERRORS:
            return ConnectorError(f"Lost the connection to MySQL: {message}", CONNECTION_FAILED)
        return ConnectorError(f"The query failed: {message}", QUERY_FAILED)


def _my_message(exc: pymysql.MySQLError) -> str:
    """The server's text without the error number tuple around it."""
    if len(exc.args) >= 2 and isinstance(exc.args[1], str):
        text = exc.args[1]
    else:
        text = str(exc) or type(exc).__name__
    return text.strip().splitlines()[0][:500] if text.strip() else type(exc).__name__


def _close(conn: pymysql.connections.Connection) -> None:
    """Roll back and close; with unread rows pending, just drop the connection.

    PyMySQL reads every remaining row of an unbuffered result before any other command (and
    again when the cursor is garbage collected), which would defeat the row cap; the server
    discards the read-only transaction when the socket closes.
    """
    pending = getattr(conn, "_result", None)  # PyMySQL offers no public accessor
    if pending is not None and getattr(pending, "unbuffered_active", False):
        pending.unbuffered_active = False
    else:
        with contextlib.suppress(pymysql.MySQLError):
            conn.rollback()
    # Already closed by a network error means nothing is left to do.
    with contextlib.suppress(Exception):
        conn.close()
