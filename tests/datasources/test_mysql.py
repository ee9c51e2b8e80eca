"""The mysql connector against the machine's real MariaDB."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pymysql
import pytest

from datasources.connectors import ConnectorContext, ConnectorError, registry
from tests.datasources.conftest import MY, SAMPLE_ROWS, SampleDb, free_port

pytestmark = pytest.mark.services

my = registry.get("mysql")


@pytest.fixture(scope="module")
def ro_user(mysql_db: SampleDb, worker_id: str) -> Iterator[dict[str, Any]]:
    """A user that may only SELECT from the sample database, dropped afterwards."""
    name, password = f"conflux_ro_{worker_id}", "Ro-Pa55-word"
    admin = pymysql.connect(**MY, autocommit=True)
    with admin.cursor() as cur:
        cur.execute("DROP USER IF EXISTS %s@'127.0.0.1'", (name,))
        cur.execute("CREATE USER %s@'127.0.0.1' IDENTIFIED BY %s", (name, password))
        cur.execute(f"GRANT SELECT ON `{mysql_db.config['database']}`.* TO %s@'127.0.0.1'", (name,))
    yield {**mysql_db.config, "user": name, "password": password}
    with admin.cursor() as cur:
        cur.execute("DROP USER IF EXISTS %s@'127.0.0.1'", (name,))
    admin.close()


def test_connection_test_succeeds_and_warns_about_a_privileged_user(mysql_db: SampleDb) -> None:
    result = my.test(mysql_db.config)
    assert result.ok, result.message
    assert "MariaDB" in result.message or "MySQL" in result.message
    assert "Warning" in result.message and "FILE" in result.message


def test_a_select_only_user_gets_no_warning(ro_user: dict[str, Any]) -> None:
    result = my.test(ro_user)
    assert result.ok, result.message
    assert "Warning" not in result.message


def test_a_wrong_password_fails_without_echoing_it(ro_user: dict[str, Any]) -> None:
    wrong = "Wr0ng-Pa55-word!"
    result = my.test({**ro_user, "password": wrong})
    assert not result.ok
    assert "Access denied" in result.message
    assert wrong not in result.message
    assert ro_user["password"] not in result.message
    with pytest.raises(ConnectorError) as info:
        my.query({**ro_user, "password": wrong}, "SELECT 1", None, 1)
    assert info.value.code == "CONNECTION_FAILED"
    assert wrong not in info.value.message


def test_an_unreachable_server_fails_cleanly(mysql_db: SampleDb) -> None:
    result = my.test({**mysql_db.config, "port": free_port(), "password": "zz-secret-zz"})
    assert not result.ok and "zz-secret-zz" not in result.message


def test_query_rows_columns_and_values(ro_user: dict[str, Any]) -> None:
    result = my.query(ro_user, "SELECT * FROM items ORDER BY id", None, 100)
    assert result.count == SAMPLE_ROWS and not result.truncated
    assert result.columns == ["id", "name", "price", "created_at", "data"]
    assert result.data[1] == {
        "id": 2,
        "name": "item 2",
        "price": 2.5,
        "created_at": "2024-01-02T03:04:05",
        "data": "Ag==",
    }


def test_truncation_at_the_limit(mysql_db: SampleDb) -> None:
    result = my.query(mysql_db.config, "SELECT id FROM items ORDER BY id", None, 7)
    assert result.count == 7 and result.truncated
    assert [r["id"] for r in result.data] == list(range(1, 8))
    exact = my.query(mysql_db.config, "SELECT id FROM items", None, SAMPLE_ROWS)
    assert exact.count == SAMPLE_ROWS and not exact.truncated


def test_an_explicit_large_limit_is_still_capped_and_streamed(mysql_db: SampleDb) -> None:
    started = time.monotonic()
    result = my.query(
        mysql_db.config,
        "SELECT a.seq * 1000 + b.seq AS n FROM seq_1_to_1000 a, seq_1_to_1000 b LIMIT 1000000",
        None,
        3,
    )
    assert result.count == 3 and result.truncated
    assert time.monotonic() - started < 2
    # The connection was dropped mid-stream; the next query still works.
    assert my.query(mysql_db.config, "SELECT 1 AS one", None, 1).data == [{"one": 1}]


def test_parameters_are_data(mysql_db: SampleDb) -> None:
    evil = "'; DROP TABLE items; --"
    result = my.query(
        mysql_db.config,
        "SELECT %s AS v, (SELECT count(*) FROM items WHERE name = %s) AS n",
        [evil, evil],
        5,
    )
    assert result.data == [{"v": evil, "n": 0}]
    named = my.query(mysql_db.config, "SELECT name FROM items WHERE id = %(id)s", {"id": 4}, 5)
    assert named.data == [{"name": "item 4"}]
    backslash = my.query(mysql_db.config, "SELECT %s AS v", ["\\'; DELETE FROM items; -- "], 1)
    assert backslash.data == [{"v": "\\'; DELETE FROM items; -- "}]


def test_parameter_mismatch_is_invalid_query(mysql_db: SampleDb) -> None:
    with pytest.raises(ConnectorError) as info:
        my.query(mysql_db.config, "SELECT %(a)s", {"b": 1}, 1)
    assert info.value.code == "INVALID_QUERY"


def test_statement_timeout_is_enforced_by_the_server(mysql_db: SampleDb) -> None:
    ctx = ConnectorContext(statement_timeout_ms=500)
    heavy = "SELECT count(*) AS n FROM seq_1_to_100000 a, seq_1_to_100000 b"
    started = time.monotonic()
    with pytest.raises(ConnectorError) as info:
        my.query(mysql_db.config, heavy, None, 1, ctx=ctx)
    elapsed = time.monotonic() - started
    assert info.value.code == "QUERY_TIMEOUT"
    assert 0.4 < elapsed < 4


def test_sleep_is_refused_before_it_runs(mysql_db: SampleDb) -> None:
    started = time.monotonic()
    with pytest.raises(ConnectorError) as info:
        my.query(mysql_db.config, "SELECT SLEEP(3)", None, 1)
    assert info.value.code == "QUERY_NOT_READ_ONLY"
    assert time.monotonic() - started < 1


def test_the_session_is_read_only(mysql_db: SampleDb) -> None:
    config = my.clean_config(mysql_db.config)
    ctx = ConnectorContext(statement_timeout_ms=1500)
    with my.read_only_session(config, ctx) as conn, conn.cursor() as cur:
        # MariaDB 10 spells it tx_read_only, MySQL 8 transaction_read_only.
        cur.execute(
            "SHOW SESSION VARIABLES WHERE Variable_name IN"
            " ('tx_read_only', 'transaction_read_only', 'max_statement_time',"
            " 'max_execution_time')"
        )
        variables = dict(cur.fetchall())
        flavour = my.server_flavour(conn)
    read_only = variables.get("tx_read_only", variables.get("transaction_read_only"))
    assert read_only in ("ON", "1")
    if flavour == "mariadb":
        assert float(variables["max_statement_time"]) == 1.5
    else:
        assert int(variables["max_execution_time"]) == 1500


def test_server_errors_are_query_failed(mysql_db: SampleDb) -> None:
    with pytest.raises(ConnectorError) as info:
        my.query(mysql_db.config, "SELECT no_such_column FROM items", None, 1)
    assert info.value.code == "QUERY_FAILED"
    assert "no_such_column" in info.value.message
