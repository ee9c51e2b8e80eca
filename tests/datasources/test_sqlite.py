"""The sqlite connector: files under a base directory, read-only, time-limited."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from datasources.connectors import ConnectorContext, ConnectorError, registry
from tests.datasources.conftest import SAMPLE_ROWS, sqlite_snapshot

lite = registry.get("sqlite")


@pytest.fixture
def ctx(sqlite_dir: Path) -> ConnectorContext:
    return ConnectorContext(sqlite_base_dir=sqlite_dir, statement_timeout_ms=500)


def test_connection_test(ctx: ConnectorContext) -> None:
    result = lite.test({"path": "sample.db"}, ctx)
    assert result.ok, result.message
    assert "1 tables" in result.message


def test_query_rows_and_truncation(ctx: ConnectorContext) -> None:
    result = lite.query(
        {"path": "sample.db"}, "SELECT * FROM items ORDER BY id", None, 100, ctx=ctx
    )
    assert result.count == SAMPLE_ROWS and not result.truncated
    assert result.columns == ["id", "name", "price", "data"]
    assert result.data[0] == {"id": 1, "name": "item 1", "price": 1.25, "data": "AQ=="}
    cut = lite.query({"path": "sample.db"}, "SELECT id FROM items", None, 4, ctx=ctx)
    assert cut.count == 4 and cut.truncated


def test_parameters_are_data(ctx: ConnectorContext, sqlite_dir: Path) -> None:
    evil = "'; DROP TABLE items; --"
    named = lite.query(
        {"path": "sample.db"},
        "SELECT :v AS v, count(*) AS n FROM items WHERE name = :v",
        {"v": evil},
        5,
        ctx=ctx,
    )
    assert named.data == [{"v": evil, "n": 0}]
    positional = lite.query(
        {"path": "sample.db"}, "SELECT name FROM items WHERE id = ?", [2], 5, ctx=ctx
    )
    assert positional.data == [{"name": "item 2"}]
    assert sqlite_snapshot(sqlite_dir / "sample.db")[0][0] == SAMPLE_ROWS


def test_the_progress_handler_enforces_the_timeout(ctx: ConnectorContext) -> None:
    endless = (
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"
    )
    started = time.monotonic()
    with pytest.raises(ConnectorError) as info:
        lite.query({"path": "sample.db"}, endless, None, 1, ctx=ctx)
    assert info.value.code == "QUERY_TIMEOUT"
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    "path",
    ["/etc/passwd", "../sample.db", "sub/../../x.db", "~/x.db", "C:\\x.db", "..\\x.db", ""],
)
def test_paths_outside_the_base_are_refused(ctx: ConnectorContext, path: str) -> None:
    assert lite.validate_config({"path": path})
    with pytest.raises(ConnectorError) as info:
        lite.query({"path": path}, "SELECT 1", None, 1, ctx=ctx)
    assert info.value.code == "INVALID_CONFIG"


def test_a_symlink_escaping_the_base_is_refused(
    ctx: ConnectorContext, sqlite_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.db"
    sqlite3.connect(outside).close()
    os.symlink(outside, sqlite_dir / "link.db")
    with pytest.raises(ConnectorError) as info:
        lite.query({"path": "link.db"}, "SELECT 1", None, 1, ctx=ctx)
    assert info.value.code == "INVALID_CONFIG"
    assert "outside" in info.value.message
    os.symlink(tmp_path, sqlite_dir / "dirlink")
    with pytest.raises(ConnectorError):
        lite.query({"path": "dirlink/outside.db"}, "SELECT 1", None, 1, ctx=ctx)


def test_a_symlink_inside_the_base_is_fine(ctx: ConnectorContext, sqlite_dir: Path) -> None:
    os.symlink(sqlite_dir / "sample.db", sqlite_dir / "alias.db")
    result = lite.query({"path": "alias.db"}, "SELECT count(*) AS n FROM items", None, 1, ctx=ctx)
    assert result.data == [{"n": SAMPLE_ROWS}]


def test_missing_files_and_non_databases(ctx: ConnectorContext, sqlite_dir: Path) -> None:
    (sqlite_dir / "notes.txt").write_text("not a database, just text " * 100)
    missing = lite.test({"path": "missing.db"}, ctx)
    assert not missing.ok and "does not exist" in missing.message
    assert not (sqlite_dir / "missing.db").exists()  # mode=ro never creates files
    garbage = lite.test({"path": "notes.txt"}, ctx)
    assert not garbage.ok


def test_without_a_base_directory_nothing_opens(sqlite_dir: Path) -> None:
    result = lite.test({"path": "sample.db"}, ConnectorContext())
    assert not result.ok and "base directory" in result.message
