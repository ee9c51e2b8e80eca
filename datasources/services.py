"""Writes and operations of the datasources app: config validation, secrets, test and query.

Secrets are decrypted only here, only for the duration of a call, and every message that leaves
(API answers, node errors, log lines) is scrubbed of them first.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework import status as http

from datasources.connectors import (
    Connector,
    ConnectorContext,
    ConnectorError,
    QueryResult,
    TestResult,
    registry,
    scrub_secrets,
)
from datasources.connectors.base import (
    CONNECTION_FAILED,
    INVALID_CONFIG,
    INVALID_QUERY,
    QUERY_FAILED,
    QUERY_NOT_READ_ONLY,
    QUERY_TIMEOUT,
    UNKNOWN_TYPE,
)
from datasources.models import ConnectionTestStatus, DataSource, DataSourceStatus
from datasources.secrets import decrypt_secrets, encrypt_secrets, merge_secrets, secret_values
from datasources.selectors import datasource_get_for_owner
from platform_site.api.errors import APIError, Conflict
from platform_site.outbound import outbound_client

logger = logging.getLogger(__name__)

MiB = 1024 * 1024

# HTTP status of each connector error code. A timeout is 422 (the query is well-formed but too
# slow to be answered; 408 would invite clients to resend it as is); an unreachable database or
# API is 502 (the platform is fine, what it talks to is not).
STATUS_BY_CODE: dict[str, int] = {
    QUERY_NOT_READ_ONLY: http.HTTP_400_BAD_REQUEST,
    INVALID_QUERY: http.HTTP_400_BAD_REQUEST,
    QUERY_TIMEOUT: http.HTTP_422_UNPROCESSABLE_ENTITY,
    QUERY_FAILED: http.HTTP_422_UNPROCESSABLE_ENTITY,
    INVALID_CONFIG: http.HTTP_422_UNPROCESSABLE_ENTITY,
    UNKNOWN_TYPE: http.HTTP_422_UNPROCESSABLE_ENTITY,
    CONNECTION_FAILED: http.HTTP_502_BAD_GATEWAY,
    # Outbound refusals and failures of `api` sources keep the client's own codes.
    "ADDRESS_NOT_ALLOWED": http.HTTP_422_UNPROCESSABLE_ENTITY,
    "SCHEME_NOT_ALLOWED": http.HTTP_422_UNPROCESSABLE_ENTITY,
    "INVALID_URL": http.HTTP_422_UNPROCESSABLE_ENTITY,
    "INVALID_REQUEST": http.HTTP_422_UNPROCESSABLE_ENTITY,
    "RESPONSE_TOO_LARGE": http.HTTP_422_UNPROCESSABLE_ENTITY,
    "TOO_MANY_REDIRECTS": http.HTTP_502_BAD_GATEWAY,
    "INVALID_RESPONSE": http.HTTP_502_BAD_GATEWAY,
}


class DataSourceError(APIError):
    """A connector failure in the contract's error shape; the message holds no secret."""

    status_code = http.HTTP_422_UNPROCESSABLE_ENTITY
    error_code = QUERY_FAILED

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, error_code=code)
        self.status_code = STATUS_BY_CODE.get(code, http.HTTP_422_UNPROCESSABLE_ENTITY)
        self.message = message


def connector_context() -> ConnectorContext:
    """The connectors' base directories, outbound client and limits, from the settings."""
    return ConnectorContext(
        sqlite_base_dir=Path(settings.SQLITE_DATASOURCE_DIR),
        uploads_base_dir=Path(settings.MEDIA_ROOT),
        outbound_client=outbound_client(),
        max_rows=getattr(settings, "DATASOURCE_MAX_ROWS", 1000),
        default_limit=getattr(settings, "DATASOURCE_DEFAULT_LIMIT", 100),
        statement_timeout_ms=getattr(settings, "DATASOURCE_STATEMENT_TIMEOUT_MS", 5000),
        max_statement_timeout_ms=getattr(settings, "DATASOURCE_MAX_STATEMENT_TIMEOUT_MS", 60_000),
        connect_timeout_s=getattr(settings, "DATASOURCE_CONNECT_TIMEOUT_S", 5.0),
        max_file_bytes=getattr(settings, "DATASOURCE_MAX_FILE_BYTES", 50 * MiB),
    )


def _connector(type_name: str) -> Connector:
    try:
        return registry.get(type_name)
    except ConnectorError as exc:
        raise APIError(exc.message, error_code="VALIDATION_ERROR",
                       errors={"type": [exc.message]}) from None


def _validated(connector: Connector, plain: Mapping[str, Any]) -> None:
    """Refuse a config the connector rejects: 400 with the field errors under `config`."""
    errors = connector.validate_config(plain)
    if errors:
        listed = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in sorted(errors.items()))
        raise APIError(f"Invalid config: {listed}", error_code="VALIDATION_ERROR",
                       errors={"config": errors})


def plain_config(data_source: DataSource) -> dict[str, Any]:
    """The source's config with secrets decrypted: for connectors only, never for output."""
    return decrypt_secrets(registry.get(data_source.type), data_source.config or {})


@transaction.atomic
def datasource_create(*, owner: Any, name: str, type: str, config: Mapping[str, Any],
                      description: str = "", status: str = DataSourceStatus.ACTIVE
                      ) -> DataSource:
    """Create a data source; its config is validated by the connector, secrets encrypted."""
    connector = _connector(type)
    plain = merge_secrets(connector, dict(config or {}), {})
    _validated(connector, plain)
    source = DataSource.objects.create(
        owner=owner, name=name, type=type, description=description, status=status,
        config=encrypt_secrets(connector, plain),
    )
    logger.info("Data source %s (%s) created", source.pk, source.type)
    return source


@transaction.atomic
def datasource_update(*, data_source: DataSource, name: str | None = None,
                      type: str | None = None, description: str | None = None,
                      config: Mapping[str, Any] | None = None, status: str | None = None
                      ) -> DataSource:
    """Change the given fields; secrets left out of `config` or sent masked are kept."""
    locked = DataSource.objects.select_for_update().get(pk=data_source.pk)
    fields: list[str] = []
    new_type = type if type is not None else locked.type
    if new_type != locked.type and config is None:
        raise APIError("Changing the type needs the config for the new type.",
                       error_code="VALIDATION_ERROR",
                       errors={"config": ["Give the config for the new type."]})
    if config is not None:
        connector = _connector(new_type)
        # Stored secrets carry over only within a type: another connector gets nothing it
        # was not given explicitly.
        previous = plain_config(locked) if new_type == locked.type else {}
        plain = merge_secrets(connector, dict(config), previous)
        _validated(connector, plain)
        # A client sending the masked config back unchanged changes nothing.
        if new_type != locked.type or plain != previous:
            locked.type, locked.config = new_type, encrypt_secrets(connector, plain)
            # The last test said something about the old config, not this one.
            locked.last_test_status, locked.last_test_message = "", ""
            locked.last_tested_at = locked.last_test_latency_ms = None
            if locked.status == DataSourceStatus.ERROR and status is None:
                locked.status = DataSourceStatus.ACTIVE
                fields.append("status")
            fields += ["type", "config", "last_test_status", "last_test_message",
                       "last_tested_at", "last_test_latency_ms"]
    for field, value in (("name", name), ("description", description), ("status", status)):
        if value is not None and value != getattr(locked, field):
            setattr(locked, field, value)
            fields.append(field)
    if fields:
        locked.save(update_fields=[*dict.fromkeys(fields), "updated_at"])
        logger.info("Data source %s updated (%s)", locked.pk, ", ".join(dict.fromkeys(fields)))
    return locked


def datasource_delete(*, data_source: DataSource) -> None:
    """Delete a data source."""
    pk = data_source.pk
    data_source.delete()
    logger.info("Data source %s deleted", pk)


def datasource_test(*, data_source: DataSource) -> TestResult:
    """Try the connection, record the outcome on the source and return it (never raises)."""
    connector = registry.get(data_source.type)
    plain = decrypt_secrets(connector, data_source.config or {})
    result = connector.test(plain, connector_context())
    result = TestResult(ok=result.ok, latency_ms=result.latency_ms,
                        message=scrub_secrets(result.message, secret_values(connector, plain)))
    data_source.last_test_status = (
        ConnectionTestStatus.SUCCESS if result.ok else ConnectionTestStatus.FAILED
    )
    data_source.last_test_message = result.message[:2000]
    data_source.last_tested_at = timezone.now()
    data_source.last_test_latency_ms = result.latency_ms
    fields = ["last_test_status", "last_test_message", "last_tested_at", "last_test_latency_ms"]
    # An inactive source stays inactive whatever the test says.
    if data_source.status != DataSourceStatus.INACTIVE:
        data_source.status = DataSourceStatus.ACTIVE if result.ok else DataSourceStatus.ERROR
        fields.append("status")
    data_source.save(update_fields=[*fields, "updated_at"])
    logger.info("Data source %s (%s) test %s in %.0f ms", data_source.pk, data_source.type,
                data_source.last_test_status, result.latency_ms)
    return result


def datasource_query(*, data_source: DataSource, query: str | Mapping[str, Any] | None,
                     params: Mapping[str, Any] | Sequence[Any] | None = None,
                     limit: int | None = None) -> QueryResult:
    """Run a read on the source (read-only, time-limited, row-capped) or raise DataSourceError."""
    if data_source.status == DataSourceStatus.INACTIVE:
        raise Conflict(f"The data source {data_source.name!r} is inactive.",
                       error_code="DATA_SOURCE_INACTIVE")
    connector = registry.get(data_source.type)
    plain = decrypt_secrets(connector, data_source.config or {})
    started = time.monotonic()
    try:
        result = connector.query(plain, query, params, limit, ctx=connector_context())
    except ConnectorError as exc:
        message = scrub_secrets(exc.message, secret_values(connector, plain))
        logger.info("Data source %s (%s) query refused or failed: %s", data_source.pk,
                    data_source.type, exc.code)
        raise DataSourceError(message, exc.code) from None
    logger.info("Data source %s (%s) query: %d rows%s in %.0f ms", data_source.pk,
                data_source.type, result.count, " (truncated)" if result.truncated else "",
                (time.monotonic() - started) * 1000)
    return result


def datasource_query_for_owner(*, owner_id: Any, data_source_id: Any,
                               query: str | Mapping[str, Any] | None,
                               params: Mapping[str, Any] | Sequence[Any] | None = None,
                               limit: int | None = None) -> dict[str, Any]:
    """`{data, count, columns}` of a query on one of `owner_id`'s sources (nodes, agent tools).

    Raises DataSource.DoesNotExist for a missing or foreign source and DataSourceError or
    Conflict (both APIError) when the query is refused or fails.
    """
    source = datasource_get_for_owner(owner_id=owner_id, data_source_id=data_source_id)
    result = datasource_query(data_source=source, query=query, params=params, limit=limit)
    return {"data": result.data, "count": result.count, "columns": result.columns}
