"""The Django side's one door into the graph engine: validation with every node type loaded."""

from functools import lru_cache

from .engine import ValidationResult, default_registry, validate


@lru_cache(maxsize=1)
def node_registry():
    """The engine's registry with the node types that live in other apps registered too."""
    from importlib import import_module

    from django.conf import settings
    from django.utils.module_loading import autodiscover_modules

    # Each app may define node types in a `nodes` module that registers them on import.
    autodiscover_modules("nodes")
    for module in getattr(settings, "EXTRA_NODE_MODULES", ()):
        import_module(module)
    return default_registry


def validate_graph(nodes: list, edges: list) -> ValidationResult:
    """Validate a graph against every node type of the platform."""
    return validate({"nodes": nodes, "edges": edges}, registry=node_registry())
