"""Registry, config schemas and validation, value conversion, secret scrubbing, no Django."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from datasources.connectors import (
    ConfigField,
    Connector,
    ConnectorContext,
    ConnectorError,
    ConnectorRegistry,
    connector_types,
    json_safe,
    registry,
    scrub_secrets,
)

ROOT = Path(__file__).resolve().parents[2]


def test_the_libraries_do_not_import_django() -> None:
    code = (
        "import sys\n"
        "import datasources.outbound, datasources.connectors\n"
        "from datasources.connectors import registry\n"
        "for t in registry.types(): registry.get(t).schema()\n"
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_the_contract_types_are_registered() -> None:
    assert connector_types() == ["api", "csv", "json", "mysql", "postgresql", "sqlite"]
    for name in connector_types():
        connector = registry.get(name)
        assert connector.type_name == name
        schema = connector.schema()
        assert schema["type"] == name and schema["label"] and schema["fields"]
        json.dumps(schema)


def test_an_unknown_type_is_a_clear_error() -> None:
    with pytest.raises(ConnectorError) as info:
        registry.get("oracle")
    assert info.value.code == "UNKNOWN_TYPE"
    assert "postgresql" in info.value.message
    assert "oracle" not in registry


def test_secret_fields_are_declared() -> None:
    secret = {
        name: sorted(f.name for f in registry.get(name).config_fields if f.secret)
        for name in connector_types()
    }
    assert secret == {
        "api": ["auth"],
        "csv": [],
        "json": [],
        "mysql": ["password"],
        "postgresql": ["password"],
        "sqlite": [],
    }


def test_a_registry_refuses_duplicates_and_nameless_connectors() -> None:
    reg = ConnectorRegistry()

    class One(Connector):
        type_name = "one"

    class Nameless(Connector):
        pass

    reg.register(One)
    with pytest.raises(ValueError):
        reg.register(One)
    with pytest.raises(ValueError):
        reg.register(Nameless)
    assert reg.types() == ["one"]


def test_config_field_types_are_checked() -> None:
    with pytest.raises(ValueError):
        ConfigField("x", "blob")


def test_validate_config_reports_field_errors() -> None:
    pg = registry.get("postgresql")
    assert pg.validate_config({"host": "h", "database": "d", "user": "u"}) == {}
    errors = pg.validate_config(
        {"host": "", "database": 3, "port": "5432", "sslmode": "sometimes", "extra": 1}
    )
    assert errors["host"] == ["This field is required."]
    assert errors["database"] == ["Must be a string."]
    assert errors["user"] == ["This field is required."]
    assert errors["port"] == ["Must be an integer."]
    assert "Must be one of" in errors["sslmode"][0]
    assert errors["extra"] == ["Unknown field."]
    assert pg.validate_config({"host": "h", "database": "d", "user": "u", "port": 70000}) == {
        "port": ["Must be between 1 and 65535."]
    }
    assert pg.validate_config([]) == {"config": ["Must be an object."]}  # type: ignore[arg-type]


def test_query_with_a_bad_config_is_invalid_config_without_secrets() -> None:
    with pytest.raises(ConnectorError) as info:
        registry.get("mysql").query({"password": "hunter2-secret"}, "SELECT 1")
    assert info.value.code == "INVALID_CONFIG"
    assert "hunter2-secret" not in info.value.message


def test_test_never_raises() -> None:
    result = registry.get("postgresql").test({"password": "hunter2-secret"})
    assert not result.ok
    assert "hunter2-secret" not in result.message
    assert result.to_dict()["status"] == "failed"


@pytest.mark.parametrize("limit", [0, -1, True, 1.5, "10"])
def test_a_bad_limit_is_invalid_query(limit: object) -> None:
    with pytest.raises(ConnectorError) as info:
        registry.get("json").query({"data": [{"a": 1}]}, "", None, limit)  # type: ignore[arg-type]
    assert info.value.code == "INVALID_QUERY"


def test_the_limit_is_capped_by_the_context() -> None:
    ctx = ConnectorContext(max_rows=3, default_limit=2)
    data = {"data": [{"a": i} for i in range(10)]}
    assert registry.get("json").query(data, "", ctx=ctx).count == 2
    result = registry.get("json").query(data, "", None, 1000, ctx=ctx)
    assert result.count == 3 and result.truncated


def test_json_safe_values() -> None:
    value = {
        "dec": decimal.Decimal("12.34"),
        "int_dec": decimal.Decimal("12"),
        "scaled": decimal.Decimal("5.00"),
        "big": decimal.Decimal("12345678901234567890.123456789"),
        "nan": decimal.Decimal("NaN"),
        "inf": float("inf"),
        "dt": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        "date": dt.date(2024, 1, 2),
        "time": dt.time(3, 4),
        "delta": dt.timedelta(minutes=1, seconds=30),
        "bytes": b"\x00\xff",
        "mv": memoryview(b"ab"),
        "uuid": uuid.UUID(int=1),
        "list": (1, {2}),
    }
    safe = json_safe(value)
    json.dumps(safe)
    assert safe["dec"] == 12.34
    assert safe["int_dec"] == 12
    assert safe["scaled"] == 5.0
    assert safe["big"] == "12345678901234567890.123456789"
    assert safe["nan"] is None and safe["inf"] is None
    assert safe["dt"] == "2024-01-02T03:04:05+00:00"
    assert safe["date"] == "2024-01-02" and safe["time"] == "03:04:00"
    assert safe["delta"] == 90.0
    assert safe["bytes"] == "AP8=" and safe["mv"] == "YWI="
    assert safe["uuid"] == "00000000-0000-0000-0000-000000000001"
    assert safe["list"] == [1, [2]]


def test_scrub_secrets() -> None:
    message = (
        "failed: host=db password=s3cr3t user=u; url postgres://u:s3cr3t@db/x;"
        " Authorization: Bearer abcdef123456; raw s3cr3t; quoted p%40ss"
    )
    scrubbed = scrub_secrets(message, ["s3cr3t", "p@ss", ""])
    assert "s3cr3t" not in scrubbed
    assert "p%40ss" not in scrubbed
    assert "abcdef123456" not in scrubbed
    assert "host=db" in scrubbed
