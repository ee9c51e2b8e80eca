"""Data source connectors: a registry of small classes keyed by the data source `type`.

Plain Python (no Django import): the workflow engine and the Django app both use it.
"""

from datasources.connectors import api_source, csv_source, json_source, mysql, postgresql, sqlite
from datasources.connectors.base import (
    ConfigField,
    Connector,
    ConnectorContext,
    ConnectorError,
    QueryResult,
    TestResult,
    json_safe,
    scrub_secrets,
)
from datasources.connectors.registry import ConnectorRegistry, connector_types, register, registry
from datasources.connectors.sql_guard import (
    InvalidQuery,
    QueryNotReadOnly,
    SqlGuardError,
    check_read_only,
)

__all__ = [
    "ConfigField",
    "Connector",
    "ConnectorContext",
    "ConnectorError",
    "ConnectorRegistry",
    "InvalidQuery",
    "QueryNotReadOnly",
    "QueryResult",
    "SqlGuardError",
    "TestResult",
    "api_source",
    "check_read_only",
    "connector_types",
    "csv_source",
    "json_safe",
    "json_source",
    "mysql",
    "postgresql",
    "register",
    "registry",
    "scrub_secrets",
    "sqlite",
]
