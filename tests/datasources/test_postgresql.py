"""The postgresql connector against the machine's real PostgreSQL."""

from __future__ import annotations

import time

import pytest

from datasources.connectors import ConnectorContext, ConnectorError, registry
from tests.datasources.conftest import SAMPLE_ROWS, SampleDb, free_port

pytestmark = pytest.mark.services

pg = registry.get("postgresql")


def test_connection_test_succeeds(pg_db: SampleDb) -> None:
    result = pg.test(pg_db.config)
    assert result.ok, result.message
    assert "PostgreSQL" in result.message
    assert "superuser" in result.message  # the tests log in as postgres: it says so
    assert result.latency_ms > 0


def test_connection_test_failure_does_not_leak_the_password(pg_db: SampleDb) -> None:
    password = "Sup3r-Secret-pw"
    bad_db = pg.test({**pg_db.config, "database": "no_such_db_conflux", "password": password})
    assert not bad_db.ok
    assert "no_such_db_conflux" in bad_db.message
    refused = pg.test({**pg_db.config, "port": free_port(), "password": password})
    assert not refused.ok
    assert "Could not connect" in refused.message
    for result in (bad_db, refused):
        assert password not in result.message


def test_query_returns_rows_columns_and_json_safe_values(pg_db: SampleDb) -> None:
    result = pg.query(pg_db.config, "SELECT * FROM items ORDER BY id", None, 100)
    assert result.count == SAMPLE_ROWS and not result.truncated
    assert result.columns == ["id", "name", "price", "created_at", "payload", "data", "uid"]
    first = result.data[0]
    assert first == {
        "id": 1,
        "name": "item 1",
        "price": 1.25,
        "created_at": "2024-01-02T03:04:05+00:00",
        "payload": {"n": 1},
        "data": "AQ==",
        "uid": "00000000-0000-0000-0000-000000000001",
    }


def test_truncation_at_the_limit(pg_db: SampleDb) -> None:
    result = pg.query(pg_db.config, "SELECT id FROM items ORDER BY id", None, 10)
    assert result.count == 10 and result.truncated
    assert [r["id"] for r in result.data] == list(range(1, 11))
    exact = pg.query(pg_db.config, "SELECT id FROM items", None, SAMPLE_ROWS)
    assert exact.count == SAMPLE_ROWS and not exact.truncated


def test_the_row_cap_does_not_materialize_huge_results(pg_db: SampleDb) -> None:
    # A billion streamed rows would take far longer than the timeout to produce in full; the
    # server-side cursor fetches only limit + 1 of them.
    started = time.monotonic()
    result = pg.query(pg_db.config, "SELECT generate_series(1, 1000000000) AS g", None, 5)
    assert result.count == 5 and result.truncated
    assert result.data[-1] == {"g": 5}
    assert time.monotonic() - started < 2


def test_named_and_positional_parameters_are_bound_server_side(pg_db: SampleDb) -> None:
    evil = "'; DROP TABLE items; --"
    named = pg.query(
        pg_db.config,
        "SELECT %(v)s::text AS v, count(*) AS n FROM items WHERE name = %(v)s",
        {"v": evil},
        10,
    )
    assert named.data == [{"v": evil, "n": 0}]
    positional = pg.query(pg_db.config, "SELECT name FROM items WHERE id = %s", [3], 10)
    assert positional.data == [{"name": "item 3"}]
    as_json = pg.query(pg_db.config, "SELECT %(doc)s::jsonb -> 'a' AS a", {"doc": {"a": [1]}}, 1)
    assert as_json.data == [{"a": [1]}]
    assert pg.query(pg_db.config, "SELECT count(*) AS n FROM items", None, 1).data == [
        {"n": SAMPLE_ROWS}
    ]


def test_percent_signs_with_parameters(pg_db: SampleDb) -> None:
    result = pg.query(
        pg_db.config, "SELECT count(*) AS n FROM items WHERE name LIKE %s", ["item 1%"], 5
    )
    assert result.data == [{"n": 11}]  # item 1, item 10..19


def test_parameter_mismatch_is_invalid_query(pg_db: SampleDb) -> None:
    with pytest.raises(ConnectorError) as info:
        pg.query(pg_db.config, "SELECT %s, %s", [1], 5)
    assert info.value.code == "INVALID_QUERY"


def test_duplicate_column_names_keep_every_value(pg_db: SampleDb) -> None:
    result = pg.query(pg_db.config, "SELECT 1 AS a, 2 AS a, 3", None, 1)
    assert result.columns == ["a", "a_2", "?column?"]
    assert result.data == [{"a": 1, "a_2": 2, "?column?": 3}]


def test_statement_timeout_is_enforced_by_the_server(pg_db: SampleDb) -> None:
    ctx = ConnectorContext(statement_timeout_ms=500)
    heavy = (
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r)"
        " SELECT count(*) FROM r"  # never ends on its own
    )
    started = time.monotonic()
    with pytest.raises(ConnectorError) as info:
        pg.query(pg_db.config, heavy, None, 10, ctx=ctx)
    elapsed = time.monotonic() - started
    assert info.value.code == "QUERY_TIMEOUT"
    assert "500 ms" in info.value.message
    assert 0.4 < elapsed < 3


def test_cross_join_timeout_and_config_override(pg_db: SampleDb) -> None:
    config = {**pg_db.config, "statement_timeout_ms": 300}
    query = "SELECT count(*) FROM generate_series(1, 100000) a, generate_series(1, 100000) b"
    with pytest.raises(ConnectorError) as info:
        pg.query(config, query, None, 1)
    assert info.value.code == "QUERY_TIMEOUT"


def test_the_config_timeout_cannot_exceed_the_platform_maximum(pg_db: SampleDb) -> None:
    ctx = ConnectorContext(max_statement_timeout_ms=400)
    config = {**pg_db.config, "statement_timeout_ms": 3_600_000}
    endless = (
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"
    )
    with pytest.raises(ConnectorError) as info:
        pg.query(config, endless, None, 1, ctx=ctx)
    assert info.value.code == "QUERY_TIMEOUT" and "400 ms" in info.value.message


def test_pg_sleep_is_refused_before_it_runs(pg_db: SampleDb) -> None:
    started = time.monotonic()
    with pytest.raises(ConnectorError) as info:
        pg.query(pg_db.config, "SELECT pg_sleep(3)", None, 1)
    assert info.value.code == "QUERY_NOT_READ_ONLY"
    assert time.monotonic() - started < 1


def test_the_session_is_read_only_with_time_limits(pg_db: SampleDb) -> None:
    config = pg.clean_config(pg_db.config)
    ctx = ConnectorContext(statement_timeout_ms=1234)
    with pg.read_only_session(config, ctx) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT current_setting('transaction_read_only'),"
            " current_setting('statement_timeout'), current_setting('lock_timeout')"
        )
        assert cur.fetchone() == ("on", "1234ms", "1234ms")


def test_errors_from_the_server_are_query_failed(pg_db: SampleDb) -> None:
    with pytest.raises(ConnectorError) as info:
        pg.query(pg_db.config, "SELECT no_such_column FROM items", None, 1)
    assert info.value.code == "QUERY_FAILED"
    assert "no_such_column" in info.value.message
    with pytest.raises(ConnectorError) as info:
        pg.query(pg_db.config, "SELECT 1/0", None, 1)
    assert info.value.code == "QUERY_FAILED"


def test_the_query_must_be_text(pg_db: SampleDb) -> None:
    with pytest.raises(ConnectorError) as info:
        pg.query(pg_db.config, {"sql": "SELECT 1"}, None, 1)
    assert info.value.code == "INVALID_QUERY"
