"""The json and csv connectors: inline data and files under the uploads directory."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from datasources.connectors import ConnectorContext, ConnectorError, registry

js = registry.get("json")
csv_ = registry.get("csv")


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    base = tmp_path / "uploads"
    base.mkdir()
    (base / "people.json").write_text(
        json.dumps(
            {"meta": {"n": 3}, "data": {"people": [{"a": 1}, {"a": 2, "b": "x"}, {"c": None}]}}
        )
    )
    (base / "people.csv").write_text("\ufeffname;age\nada;36\n\ngrace;85\nlinus;54;extra\n")
    return base


@pytest.fixture
def ctx(uploads: Path) -> ConnectorContext:
    return ConnectorContext(uploads_base_dir=uploads, max_file_bytes=10_000)


def test_inline_json_array(ctx: ConnectorContext) -> None:
    config = {"data": [{"id": 1, "name": "a"}, {"id": 2, "extra": True}, {"id": 3}]}
    result = js.query(config, "", None, 10, ctx=ctx)
    assert result.columns == ["id", "name", "extra"]
    assert result.count == 3 and not result.truncated
    cut = js.query(config, None, None, 2, ctx=ctx)
    assert cut.count == 2 and cut.truncated
    assert js.test(config, ctx).message == "Found 3 records."


def test_inline_json_text_with_a_data_path(ctx: ConnectorContext) -> None:
    config = {
        "data": json.dumps({"result": {"items": [{"x": 1}, {"x": 2}]}}),
        "data_path": "result.items",
    }
    assert js.query(config, "", None, 10, ctx=ctx).data == [{"x": 1}, {"x": 2}]
    # The query overrides the data path; an object becomes one row, scalars become values.
    assert js.query(config, "result", None, 10, ctx=ctx).columns == ["items"]
    assert js.query(config, "result.items.1.x", None, 10, ctx=ctx).data == [{"value": 2}]
    with pytest.raises(ConnectorError) as info:
        js.query(config, "result.nope", None, 10, ctx=ctx)
    assert info.value.code == "QUERY_FAILED"


def test_json_file(ctx: ConnectorContext) -> None:
    config = {"file": "people.json", "data_path": "data.people"}
    result = js.query(config, "", None, 10, ctx=ctx)
    assert result.columns == ["a", "b", "c"]
    assert result.data[2] == {"c": None}


def test_json_config_validation() -> None:
    assert js.validate_config({}) == {"data": ["Give either data or file."]}
    assert js.validate_config({"data": [], "file": "x.json"})
    assert js.validate_config({"data": "{not json"}) == {"data": ["Not valid JSON text."]}
    assert js.validate_config({"file": "../x.json"})["file"]


def test_files_too_large_are_refused(ctx: ConnectorContext, uploads: Path) -> None:
    (uploads / "big.json").write_text(json.dumps([{"x": "y" * 100}] * 200))
    with pytest.raises(ConnectorError) as info:
        js.query({"file": "big.json"}, "", None, 10, ctx=ctx)
    assert info.value.code == "INVALID_CONFIG" and "limit" in info.value.message


@pytest.mark.parametrize("path", ["/etc/passwd", "../secrets.json", "a/../../b.json"])
def test_json_and_csv_files_stay_inside_uploads(ctx: ConnectorContext, path: str) -> None:
    for connector in (js, csv_):
        with pytest.raises(ConnectorError) as info:
            connector.query({"file": path}, "", None, 10, ctx=ctx)
        assert info.value.code == "INVALID_CONFIG"


def test_symlinks_out_of_uploads_are_refused(
    ctx: ConnectorContext, uploads: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text('[{"token": "t0p-secret"}]')
    os.symlink(secret, uploads / "innocent.json")
    with pytest.raises(ConnectorError) as info:
        js.query({"file": "innocent.json"}, "", None, 10, ctx=ctx)
    assert "t0p-secret" not in info.value.message


def test_csv_file_with_header_bom_delimiter_and_ragged_rows(ctx: ConnectorContext) -> None:
    result = csv_.query({"file": "people.csv", "delimiter": ";"}, "", None, 10, ctx=ctx)
    assert result.columns == ["name", "age", "col_3"]
    assert result.data == [
        {"name": "ada", "age": "36"},
        {"name": "grace", "age": "85"},
        {"name": "linus", "age": "54", "col_3": "extra"},
    ]


def test_csv_inline_without_header_and_limit(ctx: ConnectorContext) -> None:
    config = {"content": "1,2\n3,4\n5,6\n", "has_header": False}
    result = csv_.query(config, "", None, 2, ctx=ctx)
    assert result.columns == ["col_1", "col_2"]
    assert result.data == [{"col_1": "1", "col_2": "2"}, {"col_1": "3", "col_2": "4"}]
    assert result.truncated
    assert csv_.test(config, ctx).ok


def test_csv_quoting_and_duplicate_headers(ctx: ConnectorContext) -> None:
    config = {"content": 'a,a,b\n"x, y","line\nbreak",3\n'}
    result = csv_.query(config, "", None, 10, ctx=ctx)
    assert result.columns == ["a", "a_2", "b"]
    assert result.data == [{"a": "x, y", "a_2": "line\nbreak", "b": "3"}]


def test_csv_config_validation() -> None:
    assert csv_.validate_config({}) == {"content": ["Give either content or file."]}
    assert csv_.validate_config({"content": "a", "delimiter": ";;"})["delimiter"]
    assert csv_.validate_config({"content": "a", "encoding": "klingon"})["encoding"]


def test_csv_wrong_encoding_is_a_clear_error(ctx: ConnectorContext, uploads: Path) -> None:
    (uploads / "latin.csv").write_bytes("name\nJos\xe9\n".encode("latin-1"))
    with pytest.raises(ConnectorError) as info:
        csv_.query({"file": "latin.csv"}, "", None, 10, ctx=ctx)
    assert info.value.code == "INVALID_CONFIG"
    ok = csv_.query({"file": "latin.csv", "encoding": "latin-1"}, "", None, 10, ctx=ctx)
    assert ok.data == [{"name": "José"}]
