"""Write and escape attempts against the real sample databases: every one is refused with a
clear code, and the data is proven unchanged afterwards.

The second half bypasses the SQL guard and calls the connectors' execution path directly, to
prove that the read-only transaction (and for SQLite the authorizer) refuses writes on its own.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from datasources.connectors import ConnectorContext, ConnectorError, registry
from tests.datasources.conftest import SampleDb, sqlite_snapshot

pytestmark = pytest.mark.services

pg = registry.get("postgresql")
my = registry.get("mysql")
lite = registry.get("sqlite")

PWNED = Path("/tmp/conflux_ds_pwned")
OUTFILE = "/tmp/conflux_ds_outfile"

NOT_READ_ONLY = "QUERY_NOT_READ_ONLY"
REFUSED = {NOT_READ_ONLY, "INVALID_QUERY"}

PG_ATTEMPTS: list[tuple[str, set[str]]] = [
    ("DROP TABLE items", {NOT_READ_ONLY}),
    ("DELETE FROM items", {NOT_READ_ONLY}),
    ("INSERT INTO items (name) VALUES ('x')", {NOT_READ_ONLY}),
    ("UPDATE items SET name = 'x'", {NOT_READ_ONLY}),
    ("TRUNCATE items", {NOT_READ_ONLY}),
    ("CREATE TABLE evil (a int)", {NOT_READ_ONLY}),
    ("ALTER TABLE items ADD COLUMN evil int", {NOT_READ_ONLY}),
    ("CREATE ROLE evil SUPERUSER", {NOT_READ_ONLY}),
    ("SELECT 1; DROP TABLE items", {NOT_READ_ONLY}),
    ("SELECT 1 /* */; DELETE FROM items", {NOT_READ_ONLY}),
    ("SELECT 1 -- harmless\n; DELETE FROM items", {NOT_READ_ONLY}),
    ("SELECT '\\'; DELETE FROM items; --'", {NOT_READ_ONLY}),
    ("COMMIT; DELETE FROM items", {NOT_READ_ONLY}),
    ("SELECT * INTO new_table FROM items", {NOT_READ_ONLY}),
    ("WITH x AS (DELETE FROM items RETURNING *) SELECT * FROM x", {NOT_READ_ONLY}),
    (
        "SELECT * FROM (WITH u AS (UPDATE items SET name = 'x' RETURNING id) SELECT id FROM u) s",
        {NOT_READ_ONLY},
    ),
    ("SELECT pg_sleep(10)", {NOT_READ_ONLY}),
    ("SELECT dblink_exec('dbname=postgres', 'DROP TABLE items')", {NOT_READ_ONLY}),
    ("SELECT set_config('default_transaction_read_only', 'off', false)", {NOT_READ_ONLY}),
    (f"COPY items TO PROGRAM 'touch {PWNED}'", {NOT_READ_ONLY}),
    ("SELECT lo_import('/etc/passwd')", {NOT_READ_ONLY}),
    ("SELECT pg_read_file('/etc/passwd')", {NOT_READ_ONLY}),
    ("SELECT nextval('s')", {NOT_READ_ONLY}),
    ("SELECT * FROM items FOR UPDATE", {NOT_READ_ONLY}),
    ("SELECT pg_terminate_backend(pg_backend_pid())", {NOT_READ_ONLY}),
    ("CALL proc()", {NOT_READ_ONLY}),
    ("DO $$ BEGIN DELETE FROM items; END $$", {NOT_READ_ONLY}),
    ("GRANT ALL ON items TO PUBLIC", {NOT_READ_ONLY}),
    ("LOCK TABLE items", {NOT_READ_ONLY}),
    ("PREPARE p AS DELETE FROM items", {NOT_READ_ONLY}),
    ("EXECUTE p", {NOT_READ_ONLY}),
    ("SET ROLE postgres", {NOT_READ_ONLY}),
    ("VACUUM items", {NOT_READ_ONLY}),
    # Passes the parser (a user function), stopped by the read-only transaction.
    ("SELECT conflux_write()", {NOT_READ_ONLY}),
]

MY_ATTEMPTS: list[tuple[str, set[str]]] = [
    ("DROP TABLE items", {NOT_READ_ONLY}),
    ("DELETE FROM items", {NOT_READ_ONLY}),
    ("INSERT INTO items (name) VALUES ('x')", {NOT_READ_ONLY}),
    ("REPLACE INTO items (id, name) VALUES (1, 'x')", {NOT_READ_ONLY}),
    ("UPDATE items SET name = 'x'", {NOT_READ_ONLY}),
    ("TRUNCATE TABLE items", {NOT_READ_ONLY}),
    ("CREATE TABLE evil (a int)", {NOT_READ_ONLY}),
    ("SELECT 1; DROP TABLE items", {NOT_READ_ONLY}),
    ("SELECT 1 # x\n; DELETE FROM items", {NOT_READ_ONLY}),
    ("SELECT /*!50000 1; DELETE FROM items */", {NOT_READ_ONLY}),
    (f"SELECT * FROM items /*!50000 INTO OUTFILE '{OUTFILE}' */", {NOT_READ_ONLY}),
    (f"SELECT * FROM items INTO OUTFILE '{OUTFILE}'", {NOT_READ_ONLY}),
    (f"SELECT * FROM items INTO DUMPFILE '{OUTFILE}'", {NOT_READ_ONLY}),
    ("SELECT name INTO @v FROM items LIMIT 1", {NOT_READ_ONLY}),
    ("SELECT LOAD_FILE('/etc/passwd')", {NOT_READ_ONLY}),
    ("SELECT SLEEP(10)", {NOT_READ_ONLY}),
    ("SELECT BENCHMARK(100000000, MD5('x'))", {NOT_READ_ONLY}),
    ("SELECT GET_LOCK('conflux', 10)", {NOT_READ_ONLY}),
    ("DO SLEEP(5)", {NOT_READ_ONLY}),
    ("HANDLER items OPEN", {NOT_READ_ONLY}),
    ("SET GLOBAL max_connections = 1", {NOT_READ_ONLY}),
    ("SELECT * FROM items FOR UPDATE", {NOT_READ_ONLY}),
    ("LOAD DATA INFILE '/etc/passwd' INTO TABLE items", {NOT_READ_ONLY}),
    ("CALL p()", {NOT_READ_ONLY}),
    ("GRANT ALL ON *.* TO 'evil'@'%' IDENTIFIED BY 'x'", {NOT_READ_ONLY}),
    ("FLUSH TABLES", {NOT_READ_ONLY}),
    ("SELECT @x := 1", {NOT_READ_ONLY}),
]

SQLITE_ATTEMPTS: list[tuple[str, set[str]]] = [
    ("ATTACH DATABASE '{dir}/evil.db' AS evil", {NOT_READ_ONLY}),
    ("DELETE FROM items", {NOT_READ_ONLY}),
    ("DROP TABLE items", {NOT_READ_ONLY}),
    ("INSERT INTO items (name) VALUES ('x')", {NOT_READ_ONLY}),
    ("CREATE TABLE evil (a)", {NOT_READ_ONLY}),
    ("SELECT 1; DELETE FROM items", {NOT_READ_ONLY}),
    ("SELECT load_extension('/tmp/evil.so')", {NOT_READ_ONLY}),
    ("SELECT writefile('{dir}/x', 'y')", {NOT_READ_ONLY}),
    ("PRAGMA query_only = OFF", {NOT_READ_ONLY}),
    ("VACUUM INTO '{dir}/copy.db'", {NOT_READ_ONLY}),
]


def test_the_corpus_is_large_enough() -> None:
    assert len(PG_ATTEMPTS) >= 20 and len(MY_ATTEMPTS) >= 20


def _assert_refused(
    run: Callable[[], Any], codes: set[str], before: Any, snapshot: Callable[[], Any]
) -> ConnectorError:
    with pytest.raises(ConnectorError) as info:
        run()
    assert info.value.code in codes, info.value
    assert len(info.value.message) > 10
    assert snapshot() == before
    return info.value


@pytest.mark.parametrize(("sql", "codes"), PG_ATTEMPTS, ids=[s for s, _ in PG_ATTEMPTS])
def test_postgres_refuses(pg_db: SampleDb, sql: str, codes: set[str]) -> None:
    before = pg_db.snapshot()
    _assert_refused(lambda: pg.query(pg_db.config, sql, None, 10), codes, before, pg_db.snapshot)
    assert not PWNED.exists()


@pytest.mark.parametrize(("sql", "codes"), MY_ATTEMPTS, ids=[s for s, _ in MY_ATTEMPTS])
def test_mysql_refuses(mysql_db: SampleDb, sql: str, codes: set[str]) -> None:
    before = mysql_db.snapshot()
    _assert_refused(
        lambda: my.query(mysql_db.config, sql, None, 10), codes, before, mysql_db.snapshot
    )
    assert not os.path.exists(OUTFILE)


@pytest.mark.parametrize(("sql", "codes"), SQLITE_ATTEMPTS, ids=[s for s, _ in SQLITE_ATTEMPTS])
def test_sqlite_refuses(sqlite_dir: Path, sql: str, codes: set[str]) -> None:
    ctx = ConnectorContext(sqlite_base_dir=sqlite_dir)
    path = sqlite_dir / "sample.db"
    before = sqlite_snapshot(path)
    _assert_refused(
        lambda: lite.query({"path": "sample.db"}, sql.format(dir=sqlite_dir), None, 10, ctx=ctx),
        codes,
        before,
        lambda: sqlite_snapshot(path),
    )


def test_injection_through_parameters_stays_data(pg_db: SampleDb, mysql_db: SampleDb) -> None:
    evil = "x'); DELETE FROM items; --"
    pg_before, my_before = pg_db.snapshot(), mysql_db.snapshot()
    pg.query(pg_db.config, "SELECT count(*) FROM items WHERE name = %s", [evil], 1)
    my.query(mysql_db.config, "SELECT count(*) FROM items WHERE name = %s", [evil], 1)
    # A placeholder written inside quotes: the driver's quoting makes it an error, not a write.
    with pytest.raises(ConnectorError):
        my.query(mysql_db.config, "SELECT * FROM items WHERE name = '%s'", [evil], 1)
    assert pg_db.snapshot() == pg_before
    assert mysql_db.snapshot() == my_before


# -- second layer: the guard bypassed ------------------------------------------------------------

PG_DML = [
    "DELETE FROM items",
    "INSERT INTO items (name) VALUES ('x')",
    "UPDATE items SET name = 'x'",
    "TRUNCATE items",
    "CREATE TABLE evil (a int)",
    "DROP TABLE items",
    "SELECT * INTO new_table FROM items",
    "CALL proc()",
    "SELECT nextval('s')",
    "SELECT conflux_write()",
]


@pytest.mark.parametrize("sql", PG_DML)
def test_postgres_read_only_transaction_refuses_writes_on_its_own(
    pg_db: SampleDb, sql: str
) -> None:
    config = pg.clean_config(pg_db.config)
    before = pg_db.snapshot()

    def run_plain() -> None:
        # A plain cursor in the connector's session: no guard, no DECLARE, only the read-only
        # transaction stands in the way.
        with pg.read_only_session(config, ConnectorContext()) as conn, conn.cursor() as cur:
            cur.execute(sql)

    error = _assert_refused(run_plain, {NOT_READ_ONLY}, before, pg_db.snapshot)
    assert "read-only transaction" in error.message


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT nextval('s')",
        "SELECT conflux_write()",
        "WITH x AS (DELETE FROM items RETURNING *) SELECT * FROM x",
        "SELECT 1; DELETE FROM items",
        "SELECT * FROM items FOR UPDATE",
        "SELECT set_config('transaction_read_only', 'off', true)",
    ],
)
def test_postgres_execution_path_without_the_guard(pg_db: SampleDb, sql: str) -> None:
    config = pg.clean_config(pg_db.config)
    before = pg_db.snapshot()
    _assert_refused(
        lambda: pg._run(config, sql, None, 10, ConnectorContext(), guarded=False),
        REFUSED | {"QUERY_FAILED"},
        before,
        pg_db.snapshot,
    )


MY_DML = [
    "DELETE FROM items",
    "INSERT INTO items (name) VALUES ('x')",
    "REPLACE INTO items (id, name) VALUES (1, 'x')",
    "UPDATE items SET name = 'x'",
    "TRUNCATE TABLE items",
    "CREATE TABLE evil (a int)",
    "DROP TABLE items",
    "ALTER TABLE items ADD COLUMN evil int",
    "CREATE TEMPORARY TABLE evil (a int)",
]


@pytest.mark.parametrize("sql", MY_DML)
def test_mysql_read_only_transaction_refuses_writes_on_its_own(
    mysql_db: SampleDb, sql: str
) -> None:
    config = my.clean_config(mysql_db.config)
    before = mysql_db.snapshot()
    error = _assert_refused(
        lambda: my._run(config, sql, None, 10, ConnectorContext(), guarded=False),
        {NOT_READ_ONLY},
        before,
        mysql_db.snapshot,
    )
    assert "READ ONLY" in error.message


def test_mysql_refuses_stacked_statements_without_the_guard(mysql_db: SampleDb) -> None:
    config = my.clean_config(mysql_db.config)
    before = mysql_db.snapshot()
    _assert_refused(
        lambda: my._run(
            config, "SELECT 1; DELETE FROM items", None, 10, ConnectorContext(), guarded=False
        ),
        {"INVALID_QUERY"},  # the connection has no MULTI_STATEMENTS flag
        before,
        mysql_db.snapshot,
    )


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM items",
        "INSERT INTO items (name) VALUES ('x')",
        "UPDATE items SET name = 'x'",
        "DROP TABLE items",
        "CREATE TABLE evil (a)",
        "ATTACH DATABASE '{dir}/evil.db' AS evil",
        "PRAGMA query_only = OFF",
        "SELECT 1; DELETE FROM items",
    ],
)
def test_sqlite_layers_refuse_writes_without_the_guard(sqlite_dir: Path, sql: str) -> None:
    ctx = ConnectorContext(sqlite_base_dir=sqlite_dir)
    config = lite.clean_config({"path": "sample.db"})
    path = sqlite_dir / "sample.db"
    before = sqlite_snapshot(path)
    _assert_refused(
        lambda: lite._run(config, sql.format(dir=sqlite_dir), None, 10, ctx, guarded=False),
        REFUSED,
        before,
        lambda: sqlite_snapshot(path),
    )
