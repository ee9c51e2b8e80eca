"""Node types: the base class and registry, and the core types registered on import."""

from . import core
from .base import BodySpec, NodeContext, NodeOutcome, NodeRegistry, NodeType, default_registry
from .core import check_input

__all__ = [
    "BodySpec",
    "NodeContext",
    "NodeOutcome",
    "NodeRegistry",
    "NodeType",
    "check_input",
    "core",
    "default_registry",
]
