"""The SQL read-only guard on its own (the database layers are tested in test_write_corpus)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datasources.connectors.sql_guard import (
    InvalidQuery,
    QueryNotReadOnly,
    SqlGuardError,
    check_read_only,
)

READS = [
    ("postgres", "SELECT 1"),
    ("postgres", "select * from items where id = %(id)s and name = %s"),
    ("postgres", "SELECT a FROM t UNION ALL SELECT b FROM u"),
    ("postgres", "SELECT a FROM t INTERSECT SELECT b FROM u EXCEPT SELECT c FROM v"),
    ("postgres", "WITH x AS (SELECT 1 AS a) SELECT a FROM x"),
    ("postgres", "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r"),
    ("postgres", "VALUES (1, 'a'), (2, 'b')"),
    ("postgres", "(SELECT 1)"),
    ("postgres", "TABLE items"),
    ("postgres", "SELECT 1;"),
    ("postgres", "SELECT 'a; DROP TABLE t' AS s -- trailing comment"),
    ("postgres", "SELECT $$; DELETE FROM t$$"),
    ("postgres", "SELECT now()::date, upper(name), count(*) OVER () FROM items"),
    ("postgres", "SELECT currval('s')"),
    ("postgres", "SELECT replace(name, 'a', 'b') FROM items"),
    ("mysql", "SELECT `name`, price FROM items WHERE id = 3 LIMIT 5"),
    ("mysql", "SELECT 'it''s', \"double\" FROM dual"),
    ("mysql", "SELECT 10 % 3"),
    ("sqlite", "SELECT * FROM items WHERE id = ? OR name = :name"),
    ("sqlite", "SELECT json_extract('{\"a\": 1}', '$.a')"),
]


@pytest.mark.parametrize(("dialect", "sql"), READS)
def test_reads_pass(dialect: str, sql: str) -> None:
    check_read_only(sql, dialect)  # type: ignore[arg-type]


NOT_READ_ONLY = [
    ("postgres", "INSERT INTO t VALUES (1)"),
    ("postgres", "UPDATE t SET a = 1"),
    ("postgres", "DELETE FROM t"),
    ("postgres", "MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE"),
    ("postgres", "CREATE TABLE x (a int)"),
    ("postgres", "DROP TABLE t"),
    ("postgres", "ALTER TABLE t ADD COLUMN b int"),
    ("postgres", "TRUNCATE t"),
    ("postgres", "SELECT 1; DROP TABLE t"),
    ("postgres", "SELECT 1 /* harmless */; DELETE FROM t"),
    ("postgres", "SELECT 1;\n-- comment\nDELETE FROM t"),
    ("postgres", "SELECT '\\'; DELETE FROM t; --'"),
    ("postgres", "SELECT * INTO new_table FROM t"),
    ("postgres", "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x"),
    ("postgres", "WITH x AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM x"),
    ("postgres", "SELECT * FROM (WITH y AS (UPDATE t SET a = 1 RETURNING a) SELECT a FROM y) s"),
    ("postgres", "SELECT pg_sleep(10)"),
    ("postgres", "SELECT pg_catalog.pg_sleep(1)"),
    ("postgres", 'SELECT "pg_sleep"(1)'),
    ("postgres", "SELECT PG_SLEEP_FOR('1 minute')"),
    ("postgres", "SELECT pg_read_file('/etc/passwd')"),
    ("postgres", "SELECT * FROM pg_read_binary_file('/etc/passwd')"),
    ("postgres", "SELECT pg_ls_dir('.')"),
    ("postgres", "SELECT lo_import('/etc/passwd')"),
    ("postgres", "SELECT lo_export(1, '/tmp/x')"),
    ("postgres", "SELECT dblink_exec('dbname=x', 'DROP TABLE t')"),
    ("postgres", "SELECT * FROM dblink('dbname=x', 'SELECT 1') AS r(a int)"),
    ("postgres", "SELECT pg_terminate_backend(1)"),
    ("postgres", "SELECT pg_cancel_backend(1)"),
    ("postgres", "SELECT set_config('role', 'postgres', false)"),
    ("postgres", "SELECT pg_advisory_lock(1)"),
    ("postgres", "SELECT pg_try_advisory_xact_lock(1)"),
    ("postgres", "SELECT nextval('s')"),
    ("postgres", "SELECT setval('s', 100)"),
    ("postgres", "SELECT txid_current()"),
    ("postgres", "SELECT query_to_xml('DELETE FROM t RETURNING 1', true, true, '')"),
    ("postgres", "SELECT 1 FROM items WHERE EXISTS (SELECT pg_sleep(5))"),
    ("postgres", "COPY t TO PROGRAM 'id'"),
    ("postgres", "SELECT * FROM t FOR UPDATE"),
    ("postgres", "SELECT * FROM t FOR SHARE"),
    ("postgres", "SELECT * FROM t FOR NO KEY UPDATE SKIP LOCKED"),
    ("postgres", "CALL proc()"),
    ("postgres", "DO $$ BEGIN DELETE FROM t; END $$"),
    ("postgres", "GRANT ALL ON t TO public"),
    ("postgres", "REVOKE ALL ON t FROM public"),
    ("postgres", "LOCK TABLE t"),
    ("postgres", "PREPARE p AS DELETE FROM t"),
    ("postgres", "EXECUTE p"),
    ("postgres", "SET ROLE postgres"),
    ("postgres", "SET TRANSACTION READ WRITE"),
    ("postgres", "RESET ALL"),
    ("postgres", "VACUUM"),
    ("postgres", "ANALYZE t"),
    ("postgres", "EXPLAIN ANALYZE DELETE FROM t"),
    ("postgres", "BEGIN"),
    ("postgres", "COMMIT"),
    ("postgres", "LISTEN x"),
    ("postgres", "NOTIFY x"),
    ("postgres", "REFRESH MATERIALIZED VIEW v"),
    ("postgres", "COMMENT ON TABLE t IS 'x'"),
    ("mysql", "SELECT * FROM t INTO OUTFILE '/tmp/out'"),
    ("mysql", "SELECT * FROM t INTO DUMPFILE '/tmp/out'"),
    ("mysql", "SELECT a INTO @v FROM t"),
    ("mysql", "SELECT LOAD_FILE('/etc/passwd')"),
    ("mysql", "SELECT SLEEP(10)"),
    ("mysql", "SELECT BENCHMARK(100000000, MD5('a'))"),
    ("mysql", "SELECT GET_LOCK('a', 10)"),
    ("mysql", "SELECT sys_exec('id')"),
    ("mysql", "SELECT @a := 1"),
    ("mysql", "SELECT /*!50000 SLEEP(10) */ 1"),
    ("mysql", "SELECT /*M!100000 SLEEP(10) */ 1"),
    ("mysql", "SELECT 1 # comment\n; DELETE FROM t"),
    ("mysql", "SELECT * FROM t LOCK IN SHARE MODE"),
    ("mysql", "HANDLER t OPEN"),
    ("mysql", "REPLACE INTO t VALUES (1)"),
    ("mysql", "DO SLEEP(1)"),
    ("mysql", "SET GLOBAL max_connections = 1"),
    ("mysql", "LOAD DATA INFILE '/etc/passwd' INTO TABLE t"),
    ("mysql", "SHOW TABLES"),
    ("mysql", "FLUSH TABLES"),
    ("mysql", "USE mysql"),
    ("sqlite", "ATTACH DATABASE '/tmp/x.db' AS x"),
    ("sqlite", "DETACH x"),
    ("sqlite", "SELECT load_extension('/tmp/evil.so')"),
    ("sqlite", "SELECT writefile('/tmp/x', 'data')"),
    ("sqlite", "SELECT readfile('/etc/passwd')"),
    ("sqlite", "PRAGMA query_only = OFF"),
    ("sqlite", "VACUUM INTO '/tmp/copy.db'"),
    ("sqlite", "INSERT OR REPLACE INTO t VALUES (1)"),
]


@pytest.mark.parametrize(("dialect", "sql"), NOT_READ_ONLY)
def test_writes_and_side_effects_are_refused(dialect: str, sql: str) -> None:
    with pytest.raises(QueryNotReadOnly) as info:
        check_read_only(sql, dialect)  # type: ignore[arg-type]
    assert info.value.code == "QUERY_NOT_READ_ONLY"
    assert info.value.message


INVALID = [
    ("postgres", ""),
    ("postgres", "   ;  ; "),
    ("postgres", "-- only a comment"),
    ("postgres", "SELEC 1"),
    ("postgres", "SELECT FROM WHERE ("),
    ("postgres", "SELECT 'unterminated"),
    ("mysql", "SELECT * FROM"),
]


@pytest.mark.parametrize(("dialect", "sql"), INVALID)
def test_unparseable_sql_is_invalid_query(dialect: str, sql: str) -> None:
    with pytest.raises(InvalidQuery) as info:
        check_read_only(sql, dialect)  # type: ignore[arg-type]
    assert info.value.code == "INVALID_QUERY"
    assert "\x1b" not in info.value.message  # no terminal colour codes from sqlglot


def test_messages_say_what_was_refused() -> None:
    with pytest.raises(QueryNotReadOnly, match="one statement"):
        check_read_only("SELECT 1; SELECT 2", "postgres")
    with pytest.raises(QueryNotReadOnly, match="pg_sleep"):
        check_read_only("SELECT pg_sleep(1)", "postgres")
    with pytest.raises(QueryNotReadOnly, match="DELETE"):
        check_read_only("DELETE FROM t", "postgres")
    with pytest.raises(QueryNotReadOnly, match="INTO"):
        check_read_only("SELECT * INTO x FROM t", "postgres")


def test_unknown_dialect_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        check_read_only("SELECT 1", "oracle")  # type: ignore[arg-type]


def test_overlong_queries_are_refused() -> None:
    with pytest.raises(InvalidQuery, match="longer"):
        check_read_only("SELECT " + "1 + " * 50_000 + "1", "postgres")


_FRAGMENTS = [*"SELECT DROP INTO ;'\"-/*()$%:@#\n", "SELECT ", "; ", "--", "/*", "*/", "$$", "E'"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(_FRAGMENTS), max_size=40).map("".join),
    st.sampled_from(["postgres", "mysql", "sqlite"]),
)
def test_the_guard_only_ever_raises_its_own_errors(sql: str, dialect: str) -> None:
    with contextlib.suppress(SqlGuardError):
        check_read_only(sql, dialect)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(
        ["DELETE FROM t", "DROP TABLE t", "INSERT INTO t VALUES (1)", "UPDATE t SET a=1"]
    ),
    st.sampled_from([";", " ; ", ";\n", "; -- x\n", " /* c */ ; "]),
    st.sampled_from(["SELECT 1", "SELECT * FROM t", "WITH a AS (SELECT 1) SELECT * FROM a"]),
    st.sampled_from(["postgres", "mysql", "sqlite"]),
)
def test_a_write_after_a_read_is_always_refused(
    write: str, separator: str, read: str, dialect: str
) -> None:
    with pytest.raises(SqlGuardError):
        check_read_only(read + separator + write, dialect)  # type: ignore[arg-type]
