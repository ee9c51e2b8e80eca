"""Connector types keyed by `type_name`; add one with the `register` decorator."""

from __future__ import annotations

from typing import TypeVar

from datasources.connectors.base import UNKNOWN_TYPE, Connector, ConnectorError

__all__ = ["ConnectorRegistry", "connector_types", "register", "registry"]

C = TypeVar("C", bound=type[Connector])


class ConnectorRegistry:
    """Maps a data source `type` to one connector instance (connectors are stateless)."""

    def __init__(self) -> None:
        self._connectors: dict[str, Connector] = {}

    def register(self, cls: C) -> C:
        """Class decorator adding a connector type; a duplicate name is a programming error."""
        name = cls.type_name
        if not name:
            raise ValueError(f"{cls.__name__} has no type_name.")
        if name in self._connectors:
            raise ValueError(f"Connector type {name!r} is already registered.")
        self._connectors[name] = cls()
        return cls

    def get(self, type_name: str) -> Connector:
        """The connector for `type_name`, or ConnectorError(UNKNOWN_TYPE)."""
        try:
            return self._connectors[type_name]
        except (KeyError, TypeError):
            known = ", ".join(sorted(self._connectors))
            raise ConnectorError(
                f"Unknown data source type {type_name!r}; known types: {known}.", UNKNOWN_TYPE
            ) from None

    def types(self) -> list[str]:
        """Registered type names, sorted."""
        return sorted(self._connectors)

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._connectors


registry = ConnectorRegistry()
register = registry.register


def connector_types() -> list[str]:
    """Registered type names, sorted."""
    return registry.types()
