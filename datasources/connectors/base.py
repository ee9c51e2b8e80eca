"""The connector interface, its plain data objects and helpers shared by every connector."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import ipaddress
import math
import re
import time
import urllib.parse
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from datasources.outbound import SafeHttpClient

__all__ = [
    "ConfigField",
    "Connector",
    "ConnectorContext",
    "ConnectorError",
    "QueryResult",
    "TestResult",
    "json_safe",
    "scrub_secrets",
]

MiB = 1024 * 1024

# Error codes a connector raises; the API layer maps them to HTTP statuses.
CONNECTION_FAILED = "CONNECTION_FAILED"
QUERY_FAILED = "QUERY_FAILED"
QUERY_TIMEOUT = "QUERY_TIMEOUT"
QUERY_NOT_READ_ONLY = "QUERY_NOT_READ_ONLY"
INVALID_QUERY = "INVALID_QUERY"
INVALID_CONFIG = "INVALID_CONFIG"
UNKNOWN_TYPE = "UNKNOWN_TYPE"

FIELD_TYPES = frozenset(
    {"string", "text", "integer", "number", "boolean", "object", "choice", "json"}
)


class ConnectorError(Exception):
    """A failure a user can act on; `message` never contains secrets."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True)
class ConfigField:
    """One declared config key: the UI renders it, Django masks and encrypts it when secret."""

    name: str
    type: str = "string"
    required: bool = False
    secret: bool = False
    default: Any = None
    description: str = ""
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ValueError(f"Unknown config field type {self.type!r} for {self.name!r}.")

    def to_dict(self) -> dict[str, Any]:
        """A JSON description of the field for schemas and forms."""
        data: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "secret": self.secret,
            "default": self.default,
            "description": self.description,
        }
        if self.choices:
            data["choices"] = list(self.choices)
        return data


@dataclass(frozen=True)
class ConnectorContext:
    """What the caller (engine or Django) provides: base directories, HTTP client, limits."""

    sqlite_base_dir: Path | None = None
    uploads_base_dir: Path | None = None
    outbound_client: SafeHttpClient | None = None
    max_rows: int = 1000
    default_limit: int = 100
    statement_timeout_ms: int = 5000
    max_statement_timeout_ms: int = 60_000
    connect_timeout_s: float = 5.0
    max_file_bytes: int = 50 * MiB


@dataclass(frozen=True)
class TestResult:
    """Outcome of a connection test."""

    __test__ = False  # not a pytest test class, despite the name

    ok: bool
    message: str
    latency_ms: float

    def to_dict(self) -> dict[str, Any]:
        """The contract's `{status, message, latency_ms}` shape."""
        return {
            "status": "success" if self.ok else "failed",
            "message": self.message,
            "latency_ms": self.latency_ms,
        }


@dataclass(frozen=True)
class QueryResult:
    """Rows (JSON-safe dicts), their count and column order, and whether the cap cut them."""

    data: list[dict[str, Any]]
    count: int
    columns: list[str]
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The contract's `{data, count, columns}` plus `truncated`."""
        return {
            "data": self.data,
            "count": self.count,
            "columns": self.columns,
            "truncated": self.truncated,
        }


def json_safe(value: Any) -> Any:
    """Convert a driver value into something `json.dumps` accepts without losing meaning."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return None
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= 0 and abs(value) < 2**53:
            return int(value)
        as_float = float(value)
        # Keep exact precision as a string when a float would round it (money, big numerics).
        return as_float if decimal.Decimal(repr(as_float)) == value else str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID | ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    return str(value)


def unique_columns(names: Iterable[str]) -> list[str]:
    """Column names made unique (`a`, `a_2`) so no value is lost when rows become dicts."""
    seen: set[str] = set()
    result: list[str] = []
    for raw in names:
        name = str(raw) if raw not in (None, "") else "column"
        candidate, n = name, 1
        while candidate in seen:
            n += 1
            candidate = f"{name}_{n}"
        seen.add(candidate)
        result.append(candidate)
    return result


# `key=value` pairs as libpq and most DSNs spell them.
_DSN_SECRET = re.compile(
    r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key)\s*=\s*('[^']*'|\"[^\"]*\"|\S+)"
)
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]*:[^/\s@]*@")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}")


def scrub_secrets(message: str, secrets: Iterable[str] = ()) -> str:
    """Remove every known secret (and DSN-style `password=...` pairs) from a message."""
    text = str(message)
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        for form in {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}:
            text = text.replace(form, "***")
    text = _DSN_SECRET.sub(lambda m: f"{m.group(1)}=***", text)
    text = _URL_USERINFO.sub(lambda m: f"{m.group(1)}***@", text)
    return _BEARER.sub(lambda m: f"{m.group(1)} ***", text)


def _collect_strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _collect_strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _collect_strings(v)]
    return [str(value)]


def _type_error(spec: ConfigField, value: Any) -> str | None:
    """Why `value` does not fit the field's type, or None."""
    kind = spec.type
    if kind in ("string", "text"):
        return None if isinstance(value, str) else "Must be a string."
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "Must be an integer."
    if kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else "Must be a number."
    if kind == "boolean":
        return None if isinstance(value, bool) else "Must be true or false."
    if kind == "object":
        return None if isinstance(value, Mapping) else "Must be an object."
    if kind == "choice":
        if value not in spec.choices:
            return f"Must be one of: {', '.join(spec.choices)}."
        return None
    return None  # "json" accepts any JSON value


class Connector:
    """Base class: declare `type_name`, `label`, `config_fields`; implement `_test`/`_query`."""

    type_name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    config_fields: ClassVar[tuple[ConfigField, ...]] = ()

    # -- config ---------------------------------------------------------------------------

    def field(self, name: str) -> ConfigField:
        """The declared field called `name`."""
        for spec in self.config_fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def schema(self) -> dict[str, Any]:
        """A JSON description of this connector type for the UI."""
        return {
            "type": self.type_name,
            "label": self.label,
            "fields": [f.to_dict() for f in self.config_fields],
        }

    def validate_config(self, config: Mapping[str, Any]) -> dict[str, list[str]]:
        """Field errors for `config` (an empty dict when it is valid)."""
        errors: dict[str, list[str]] = {}
        if not isinstance(config, Mapping):
            return {"config": ["Must be an object."]}
        known = {f.name for f in self.config_fields}
        for key in config:
            if key not in known:
                errors.setdefault(str(key), []).append("Unknown field.")
        for spec in self.config_fields:
            value = config.get(spec.name)
            if value is None or (value == "" and spec.type in ("string", "text")):
                if spec.required:
                    errors.setdefault(spec.name, []).append("This field is required.")
                continue
            problem = _type_error(spec, value)
            if problem:
                errors.setdefault(spec.name, []).append(problem)
        if not errors:
            for name, problems in self.check_config(self.with_defaults(config)).items():
                errors.setdefault(name, []).extend(problems)
        return errors

    def check_config(self, config: dict[str, Any]) -> dict[str, list[str]]:
        """Connector-specific checks on a type-correct config with defaults applied."""
        return {}

    def with_defaults(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The config with every missing field set to its default."""
        result = {f.name: f.default for f in self.config_fields}
        result.update({k: v for k, v in config.items() if v is not None})
        return result

    def clean_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Validate and fill defaults, or raise ConnectorError(INVALID_CONFIG)."""
        errors = self.validate_config(config)
        if errors:
            detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in sorted(errors.items()))
            raise ConnectorError(f"Invalid configuration ({detail})", INVALID_CONFIG)
        return self.with_defaults(config)

    def secret_values(self, config: Mapping[str, Any]) -> list[str]:
        """Every string in secret fields, for scrubbing messages."""
        if not isinstance(config, Mapping):
            return []
        values: list[str] = []
        for spec in self.config_fields:
            if spec.secret:
                values.extend(_collect_strings(config.get(spec.name)))
        return values

    # -- operations -----------------------------------------------------------------------

    def test(self, config: Mapping[str, Any], ctx: ConnectorContext | None = None) -> TestResult:
        """Try the connection; never raises, the message is safe to show."""
        ctx = ctx or ConnectorContext()
        started = time.monotonic()
        secrets = self.secret_values(config)
        try:
            message = self._test(self.clean_config(config), ctx)
            ok = True
        except ConnectorError as exc:
            message, ok = exc.message, False
        except Exception as exc:  # a test must report, not crash the caller
            message, ok = f"Unexpected error ({type(exc).__name__}).", False
        latency = round((time.monotonic() - started) * 1000, 3)
        return TestResult(ok=ok, message=scrub_secrets(message, secrets), latency_ms=latency)

    def query(
        self,
        config: Mapping[str, Any],
        query: str | Mapping[str, Any] | None,
        params: Mapping[str, Any] | Sequence[Any] | None = None,
        limit: int | None = None,
        *,
        ctx: ConnectorContext | None = None,
    ) -> QueryResult:
        """Run a read and return at most `limit` (capped by ctx.max_rows) rows."""
        ctx = ctx or ConnectorContext()
        secrets = self.secret_values(config)
        try:
            cleaned = self.clean_config(config)
            return self._query(cleaned, query, params, self.effective_limit(limit, ctx), ctx)
        except ConnectorError as exc:
            raise ConnectorError(scrub_secrets(exc.message, secrets), exc.code) from None
        except Exception as exc:
            # Driver exceptions can quote the DSN; report the type only, never the text.
            raise ConnectorError(
                f"The query failed unexpectedly ({type(exc).__name__}).", QUERY_FAILED
            ) from None

    @staticmethod
    def effective_limit(limit: int | None, ctx: ConnectorContext) -> int:
        """`limit` validated and capped by the context's row cap."""
        if limit is None:
            limit = ctx.default_limit
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConnectorError("limit must be a positive integer.", INVALID_QUERY)
        return min(limit, ctx.max_rows)

    def _test(self, config: dict[str, Any], ctx: ConnectorContext) -> str:
        raise NotImplementedError

    def _query(
        self,
        config: dict[str, Any],
        query: str | Mapping[str, Any] | None,
        params: Mapping[str, Any] | Sequence[Any] | None,
        limit: int,
        ctx: ConnectorContext,
    ) -> QueryResult:
        raise NotImplementedError


def rows_result(records: Iterable[Any], limit: int) -> QueryResult:
    """Rows from records (dicts, or scalars as `{"value": x}`), columns in first-seen order."""
    data: list[dict[str, Any]] = []
    columns: dict[str, None] = {}
    truncated = False
    for record in records:
        if len(data) >= limit:
            truncated = True
            break
        row = (
            {str(k): json_safe(v) for k, v in record.items()}
            if isinstance(record, Mapping)
            else {"value": json_safe(record)}
        )
        columns.update(dict.fromkeys(row))
        data.append(row)
    return QueryResult(data=data, count=len(data), columns=list(columns), truncated=truncated)


def statement_timeout_ms(config: Mapping[str, Any], ctx: ConnectorContext) -> int:
    """The config's timeout, else the context default, never above the context maximum."""
    value = config.get("statement_timeout_ms") or ctx.statement_timeout_ms
    return max(1, min(int(value), ctx.max_statement_timeout_ms))


class _Missing:
    """Marks a path that is absent (None is a legitimate value)."""


_MISSING = _Missing()


def extract_path(document: Any, path: str) -> Any:
    """The value at a dotted path (`a.b.0.c`), or _MISSING."""
    current = document
    for part in [p for p in (path or "").split(".") if p]:
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.lstrip("-").isdigit():
            index = int(part)
            if not -len(current) <= index < len(current):
                return _MISSING
            current = current[index]
        else:
            return _MISSING
    return current


def records_at(document: Any, path: str) -> list[Any]:
    """The records found at `path`: a list as is, anything else as a one-item list."""
    found = extract_path(document, path)
    if isinstance(found, _Missing):
        raise ConnectorError(f"data_path {path!r} was not found in the data.", QUERY_FAILED)
    if found is None:
        return []
    return found if isinstance(found, list) else [found]
