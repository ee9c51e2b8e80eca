"""Refuse SQL that is not a single, side-effect-free read, before it reaches a database.

This is the first of three layers: the connectors also run every query in a read-only
transaction under a statement timeout, because a parser can always disagree with the server.
"""

from __future__ import annotations

from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, TokenError
from sqlglot.tokens import Token, TokenType

__all__ = [
    "DENIED_FUNCTIONS",
    "InvalidQuery",
    "QueryNotReadOnly",
    "SqlGuardError",
    "check_read_only",
]

Dialect = Literal["postgres", "mysql", "sqlite"]
DIALECTS: frozenset[str] = frozenset({"postgres", "mysql", "sqlite"})
MAX_QUERY_CHARS = 100_000

# Every read starts with one of these; anything else is refused before parsing so that a
# statement sqlglot does not know (CALL, DO, VACUUM ...) never gets a chance to look harmless.
_READ_START_TOKENS = frozenset(
    {TokenType.SELECT, TokenType.WITH, TokenType.VALUES, TokenType.L_PAREN, TokenType.TABLE}
)

# Statement keywords some dialect tokenizes as a plain word; they get the read-only refusal
# rather than "cannot parse", which would suggest the query merely has a typo.
_STATEMENT_WORDS = frozenset(
    [
        "ALTER",
        "ANALYZE",
        "ATTACH",
        "BEGIN",
        "BINLOG",
        "CACHE",
        "CALL",
        "CHANGE",
        "CHECK",
        "CHECKPOINT",
        "CHECKSUM",
        "CLUSTER",
        "COMMENT",
        "COMMIT",
        "COPY",
        "CREATE",
        "DEALLOCATE",
        "DECLARE",
        "DELETE",
        "DESC",
        "DESCRIBE",
        "DETACH",
        "DISCARD",
        "DO",
        "DROP",
        "EXECUTE",
        "EXPLAIN",
        "FETCH",
        "FLUSH",
        "GRANT",
        "HANDLER",
        "IMPORT",
        "INSERT",
        "INSTALL",
        "KILL",
        "LISTEN",
        "LOAD",
        "LOCK",
        "MERGE",
        "MOVE",
        "NOTIFY",
        "OPTIMIZE",
        "PRAGMA",
        "PREPARE",
        "PURGE",
        "REASSIGN",
        "REFRESH",
        "REINDEX",
        "RELEASE",
        "RENAME",
        "REPAIR",
        "REPLACE",
        "RESET",
        "RESTART",
        "REVOKE",
        "ROLLBACK",
        "SAVEPOINT",
        "SECURITY",
        "SET",
        "SHOW",
        "SHUTDOWN",
        "START",
        "TRUNCATE",
        "UNINSTALL",
        "UNLISTEN",
        "UNLOCK",
        "UPDATE",
        "UPSERT",
        "USE",
        "VACUUM",
        "XA",
    ]
)

_DENIED_NODES: tuple[tuple[type[exp.Expression], str], ...] = tuple(
    (cls, label)
    for cls, label in (
        (getattr(exp, "Insert", None), "INSERT"),
        (getattr(exp, "Update", None), "UPDATE"),
        (getattr(exp, "Delete", None), "DELETE"),
        (getattr(exp, "Merge", None), "MERGE"),
        (getattr(exp, "Create", None), "CREATE"),
        (getattr(exp, "Drop", None), "DROP"),
        (getattr(exp, "Alter", None), "ALTER"),
        (getattr(exp, "TruncateTable", None), "TRUNCATE"),
        (getattr(exp, "Command", None), "This statement"),
        (getattr(exp, "Copy", None), "COPY"),
        (getattr(exp, "Into", None), "SELECT ... INTO"),
        (getattr(exp, "Lock", None), "A locking clause (FOR UPDATE / FOR SHARE)"),
        (getattr(exp, "Grant", None), "GRANT"),
        (getattr(exp, "Revoke", None), "REVOKE"),
        (getattr(exp, "Set", None), "SET"),
        (getattr(exp, "Pragma", None), "PRAGMA"),
        (getattr(exp, "Attach", None), "ATTACH"),
        (getattr(exp, "Detach", None), "DETACH"),
        (getattr(exp, "Transaction", None), "Transaction control"),
        (getattr(exp, "Commit", None), "COMMIT"),
        (getattr(exp, "Rollback", None), "ROLLBACK"),
        (getattr(exp, "Use", None), "USE"),
        (getattr(exp, "LoadData", None), "LOAD DATA"),
        (getattr(exp, "Analyze", None), "ANALYZE"),
        (getattr(exp, "Kill", None), "KILL"),
        (getattr(exp, "Declare", None), "DECLARE"),
        (getattr(exp, "Execute", None), "EXECUTE"),
        (getattr(exp, "Comment", None), "COMMENT ON"),
        (getattr(exp, "Export", None), "EXPORT"),
        (getattr(exp, "Cache", None), "CACHE"),
        (getattr(exp, "Uncache", None), "UNCACHE"),
        (getattr(exp, "Refresh", None), "REFRESH"),
        (getattr(exp, "NextValueFor", None), "NEXT VALUE FOR"),
        (getattr(exp, "PropertyEQ", None), "Variable assignment (:=)"),
    )
    if cls is not None
)

DENIED_FUNCTIONS: frozenset[str] = frozenset(
    {
        # PostgreSQL: sleeping, file and server access, session state, sequences, dynamic SQL
        "pg_sleep",
        "pg_sleep_for",
        "pg_sleep_until",
        "pg_stat_file",
        "pg_logdir_ls",
        "pg_terminate_backend",
        "pg_cancel_backend",
        "pg_reload_conf",
        "pg_rotate_logfile",
        "pg_switch_wal",
        "pg_promote",
        "pg_notify",
        "pg_logical_emit_message",
        "pg_import_system_collations",
        "pg_current_xact_id",
        "txid_current",
        "set_config",
        "nextval",
        "setval",
        "query_to_xml",
        "query_to_xmlschema",
        "query_to_xml_and_xmlschema",
        "cursor_to_xml",
        "cursor_to_xmlschema",
        "copy",
        # MySQL / MariaDB
        "load_file",
        "sleep",
        "benchmark",
        "get_lock",
        "release_lock",
        "release_all_locks",
        "master_pos_wait",
        "source_pos_wait",
        "wait_for_executed_gtid_set",
        "wait_until_sql_thread_after_gtids",
        # SQLite (and the shell's extension functions)
        "load_extension",
        "readfile",
        "writefile",
        "edit",
        "fts3_tokenizer",
    }
)
_DENIED_PREFIXES: tuple[str, ...] = (
    "dblink",
    "pg_advisory",
    "pg_try_advisory",
    "pg_read_",
    "pg_ls_",
    "pg_file_",
    "pg_stat_reset",
    "pg_replication_",
    "pg_create_",
    "pg_drop_replication",
    "pg_backup_",
    "pg_start_backup",
    "pg_stop_backup",
    "pg_wal_replay",
    "pg_background",
    "lo_",
    "sys_",
)


class SqlGuardError(Exception):
    """A query the guard refuses; `code` is the API error code."""

    code = "INVALID_QUERY"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class QueryNotReadOnly(SqlGuardError):
    """The query could change data or state, or is not a plain read."""

    code = "QUERY_NOT_READ_ONLY"


class InvalidQuery(SqlGuardError):
    """The query is empty, too long or cannot be parsed."""

    code = "INVALID_QUERY"


def _function_names(node: exp.Func) -> set[str]:
    if isinstance(node, exp.Anonymous):
        return {str(node.name).lower()}
    names = {node.sql_name().lower(), type(node).__name__.lower()}
    names.update(n.lower() for n in getattr(node, "_sql_names", ()) or ())
    return names


def _denied_function(name: str) -> bool:
    return name in DENIED_FUNCTIONS or name.startswith(_DENIED_PREFIXES)


def _tokenize(sql: str, dialect: str) -> list[Token]:
    try:
        return sqlglot.Dialect.get_or_raise(dialect).tokenize(sql)
    except TokenError as exc:
        raise InvalidQuery(f"The query could not be read: {_first_line(str(exc))}") from exc


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:200] if text.strip() else "syntax error"


def _parse_error_message(exc: ParseError) -> str:
    # sqlglot's own text embeds ANSI-highlighted snippets; keep the plain facts.
    errors = getattr(exc, "errors", None) or []
    if errors:
        first = errors[0]
        where = ""
        if first.get("line") is not None:
            where = f" near line {first['line']}, column {first.get('col')}"
        return f"The query could not be parsed{where}: {first.get('description') or 'error'}."
    return f"The query could not be parsed: {_first_line(str(exc))}."


def check_read_only(sql: str, dialect: Dialect) -> None:
    """Raise QueryNotReadOnly or InvalidQuery unless `sql` is one side-effect-free read."""
    if dialect not in DIALECTS:
        raise ValueError(f"Unknown SQL dialect {dialect!r}; use one of {sorted(DIALECTS)}.")
    if not isinstance(sql, str) or not sql.strip():
        raise InvalidQuery("The query is empty.")
    if len(sql) > MAX_QUERY_CHARS:
        raise InvalidQuery(f"The query is longer than {MAX_QUERY_CHARS} characters.")
    if dialect == "mysql" and ("/*!" in sql or "/*M!" in sql.upper()):
        # The server runs the text of these "comments", the parser skips it.
        raise QueryNotReadOnly("MySQL executable comments (/*! ... */) are not allowed.")

    tokens = _tokenize(sql, dialect)
    meaningful = [t for t in tokens if t.token_type != TokenType.SEMICOLON]
    if not meaningful:
        raise InvalidQuery("The query is empty.")
    first = meaningful[0]
    if first.token_type not in _READ_START_TOKENS:
        word = first.text.upper()
        if first.token_type == TokenType.VAR and word not in _STATEMENT_WORDS:
            raise InvalidQuery(
                f"The query starts with {first.text[:40]!r}; a query must start with "
                "SELECT, WITH, VALUES or TABLE."
            )
        raise QueryNotReadOnly(f"{word} statements are not allowed; only SELECT queries can run.")
    if dialect == "mysql":
        for token in tokens:
            if token.token_type != TokenType.STRING and token.text.upper() in {
                "OUTFILE",
                "DUMPFILE",
            }:
                raise QueryNotReadOnly("SELECT ... INTO OUTFILE / DUMPFILE writes files.")

    try:
        statements = sqlglot.parse(sql, read=dialect, error_level=ErrorLevel.RAISE)
    except ParseError as exc:
        raise InvalidQuery(_parse_error_message(exc)) from exc
    except TokenError as exc:
        raise InvalidQuery(f"The query could not be read: {_first_line(str(exc))}") from exc

    real = [s for s in statements if s is not None and not isinstance(s, exp.Semicolon)]
    if not real:
        raise InvalidQuery("The query is empty.")
    if len(real) > 1:
        raise QueryNotReadOnly(
            f"Only one statement is allowed; this query has {len(real)} statements."
        )
    _check_tree(real[0])


def _check_tree(root: exp.Expression) -> None:
    inner = root
    while isinstance(inner, exp.Subquery | exp.Paren):
        inner = inner.this
    if not isinstance(inner, exp.Select | exp.SetOperation | exp.Values):
        raise QueryNotReadOnly(f"Only SELECT queries can run; got {type(inner).__name__.upper()}.")
    for node in root.walk():
        for cls, label in _DENIED_NODES:
            if isinstance(node, cls):
                raise QueryNotReadOnly(f"{label} is not allowed in a read-only query.")
        if isinstance(node, exp.Func):
            for name in _function_names(node):
                if _denied_function(name):
                    raise QueryNotReadOnly(
                        f"The function {name}() is not allowed in a read-only query."
                    )
