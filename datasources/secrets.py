"""Where secrets sit in a data source's config, and how they are encrypted, masked and kept.

A secret is the whole value of a config field the connector declares `secret=True` (a
password, an `auth` object), plus each value of a `headers` object whose header name looks like
a credential (Authorization, X-Api-Key, Cookie, ...): people paste keys there too. Secrets are
stored as `platform_site.crypto` tokens of their JSON text and shown as `MASK`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from datasources.connectors import Connector
from platform_site import crypto

MASK = "********"
HEADER_FIELD = "headers"
_SENSITIVE_HEADER = re.compile(
    r"(?i)(authorization|cookie|token|secret|api[-_]?key|password|passwd|credential|session"
    r"|signature|private|auth)"
)


def is_sensitive_header(name: object) -> bool:
    """True for a header name that usually carries a credential."""
    return isinstance(name, str) and bool(_SENSITIVE_HEADER.search(name))


def _secret_fields(connector: Connector) -> list[str]:
    return [spec.name for spec in connector.config_fields if spec.secret]


def _has_header_field(connector: Connector) -> bool:
    return any(
        spec.name == HEADER_FIELD and spec.type == "object" for spec in connector.config_fields
    )


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | dict | list) and not value)


def _seal(value: Any) -> str:
    return crypto.encrypt(json.dumps(value))


def _open(value: Any) -> Any:
    # Only values we sealed are opened; anything else is left as it is.
    return json.loads(crypto.decrypt(value)) if crypto.is_encrypted(value) else value


def _map_spots(connector: Connector, config: Mapping[str, Any], transform) -> dict[str, Any]:
    """A copy of `config` with `transform` applied to every non-empty secret value."""
    result = dict(config)
    for name in _secret_fields(connector):
        if name in result and not _is_empty(result[name]):
            result[name] = transform(result[name])
    headers = result.get(HEADER_FIELD)
    if _has_header_field(connector) and isinstance(headers, Mapping):
        result[HEADER_FIELD] = {
            key: transform(value) if is_sensitive_header(key) and not _is_empty(value) else value
            for key, value in headers.items()
        }
    return result


def encrypt_secrets(connector: Connector, plain: Mapping[str, Any]) -> dict[str, Any]:
    """The config to store: every secret sealed (plain input is never trusted to be sealed)."""
    return _map_spots(connector, plain, _seal)


def decrypt_secrets(connector: Connector, stored: Mapping[str, Any]) -> dict[str, Any]:
    """The usable config: every sealed secret opened."""
    return _map_spots(connector, stored, _open)


def mask_secrets(connector: Connector, stored: Mapping[str, Any]) -> dict[str, Any]:
    """The config as it may be shown: every secret replaced by MASK."""
    return _map_spots(connector, stored, lambda _value: MASK)


def merge_secrets(
    connector: Connector, incoming: Mapping[str, Any], previous: Mapping[str, Any]
) -> dict[str, Any]:
    """An updated plain config: secrets omitted or sent as MASK keep their `previous` value.

    An explicit empty value ("" or null) clears a secret. A sensitive header sent as MASK keeps
    its previous value; a header left out is removed, like any other header.
    """
    result = dict(incoming)
    for name in _secret_fields(connector):
        if name not in result or result[name] == MASK:
            if not _is_empty(previous.get(name)):
                result[name] = previous[name]
            else:
                result.pop(name, None)
    headers = result.get(HEADER_FIELD)
    if _has_header_field(connector) and isinstance(headers, Mapping):
        old = previous.get(HEADER_FIELD)
        old_by_name = (
            {str(k).lower(): v for k, v in old.items()} if isinstance(old, Mapping) else {}
        )
        merged: dict[str, Any] = {}
        for key, value in headers.items():
            if value == MASK and is_sensitive_header(key):
                if str(key).lower() in old_by_name:
                    merged[key] = old_by_name[str(key).lower()]
                continue  # a mask with nothing behind it is not a value
            merged[key] = value
        result[HEADER_FIELD] = merged
    return result


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif value is not None and not isinstance(value, bool):
        yield str(value)


def secret_values(connector: Connector, plain: Mapping[str, Any]) -> list[str]:
    """Every secret string of a plain config, for scrubbing messages (short ones skipped)."""
    values: list[str] = list(connector.secret_values(plain))
    for name in _secret_fields(connector):
        values.extend(_strings(plain.get(name)))
    headers = plain.get(HEADER_FIELD)
    if isinstance(headers, Mapping):
        values.extend(str(v) for k, v in headers.items() if is_sensitive_header(k) and v)
    # Replacing a 1-3 character "secret" everywhere would mangle messages and hide nothing.
    return sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)
