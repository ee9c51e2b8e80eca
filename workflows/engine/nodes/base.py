"""The node type base class, what a node sees while it runs, and the registry of node types.

Adding a node type is one module: subclass `NodeType`, declare `type_name`, `config_fields`
(and `blocking = True` when it does I/O), implement `run(ctx)`, and decorate the class with
`@default_registry.register` (or a registry of your own).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import Issue
from ..expressions import Compiler, Scope
from ..schema import Field, field_references, validate_fields

if TYPE_CHECKING:
    from ..graph import Node


@dataclass(slots=True)
class NodeOutcome:
    """What a node produced: its output (a JSON object) and which source handles it activates.

    `handles=None` activates every outgoing edge except the "error" ones.
    """

    output: dict[str, Any]
    handles: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class BodySpec:
    """How a composite node (loop) wants its body run: once per item."""

    items: list[Any]
    variable: str = "item"
    concurrency: int = 1
    error_handling: str = "stop"


class _Detached:
    """Stands in for a run when a node is used on its own (tests): logs go nowhere."""

    cancelled = False

    def node_log(self, ctx: NodeContext, level: str, message: str, data: dict[str, Any]
                 ) -> None:
        """Drop the line."""


class NodeContext:
    """Everything a running node may use; `data` is the merged output of its predecessors.

    Treat `data`, `input` and `config` as read-only: they are shared, not copied.
    """

    __slots__ = ("_run", "abandoned", "attempt", "compiler", "config", "data", "input", "node",
                 "prepared", "scope", "services")

    def __init__(
        self,
        node: Node,
        data: Mapping[str, Any],
        scope: Scope | None = None,
        *,
        services: Mapping[str, Any] | None = None,
        attempt: int = 1,
        input_data: Any = None,
        prepared: Any = None,
        compiler: Compiler | None = None,
        run: Any = None,
    ) -> None:
        self.node = node
        self.config = node.data
        self.data = data
        self.scope = scope if scope is not None else Scope(input_data, data)
        self.services = services if services is not None else {}
        self.attempt = attempt
        self.input = input_data
        self.prepared = prepared
        self.compiler = compiler if compiler is not None else Compiler()
        self._run = run if run is not None else _Detached()
        self.abandoned = False  # set by the runner when this attempt timed out

    @property
    def node_id(self) -> str:
        """The running node's id."""
        return self.node.id

    def log(self, level: str, message: str, **data: Any) -> None:
        """Add a line to the execution's log (levels: debug, info, warn, error).

        Safe from worker threads: the runner hands the line to the reporter on its own thread.
        """
        self._run.node_log(self, level, message, data)

    def cancel_requested(self) -> bool:
        """True once the run is cancelled or this attempt timed out: stop early if you can."""
        return self.abandoned or self._run.cancelled

    def evaluate(self, source: str) -> Any:
        """The value of an expression in this node's scope (compiled once per graph)."""
        return self.compiler.expression(source).evaluate(self.scope)

    def render(self, source: str) -> str:
        """A template rendered as text in this node's scope."""
        return self.compiler.template(source).render(self.scope)

    def render_value(self, source: str) -> Any:
        """A template's raw value when it is one reference (e.g. `{input.rows}`), else text."""
        return self.compiler.template(source).render_value(self.scope)

    def render_deep(self, value: Any) -> Any:
        """A JSON value with every string in it rendered with `render_value`."""
        if isinstance(value, str):
            return self.render_value(value)
        if isinstance(value, Mapping):
            return {key: self.render_deep(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.render_deep(item) for item in value]
        return value


class NodeType:
    """Base of node types: a declarative config schema plus `run`.

    Class attributes:
      type_name        the node's `type` in the graph JSON
      config_fields    the config schema (validated by `validate_config`)
      blocking         True for I/O-bound nodes: they run on worker threads and overlap
      output_handles   the source handles it routes by (empty: one default output)
      required_handles handles that must each have an outgoing edge (condition: true, false)
      terminal         "output" or "end": the run's output is made of such nodes' outputs
      entry            True for nodes a run starts from (start, input)
      composite        True for nodes with a body of child nodes run per item (loop)
    """

    type_name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    config_fields: ClassVar[tuple[Field, ...]] = ()
    blocking: ClassVar[bool] = False
    output_handles: ClassVar[tuple[str, ...]] = ()
    required_handles: ClassVar[tuple[str, ...]] = ()
    terminal: ClassVar[str | None] = None
    entry: ClassVar[bool] = False
    composite: ClassVar[bool] = False

    def validate_config(self, config: Mapping[str, Any], compiler: Compiler | None = None
                        ) -> list[Issue]:
        """Problems of a node's config; the default checks `config_fields`."""
        return validate_fields(self.config_fields, config, compiler or Compiler())

    def references(self, config: Mapping[str, Any], compiler: Compiler) -> set[str]:
        """First path segments its expressions and templates read (for UNKNOWN_REFERENCE)."""
        return field_references(self.config_fields, config, compiler)

    def prepare(self, node: Node, compiler: Compiler) -> Any:
        """Work done once per graph before any run (e.g. compiling); passed as ctx.prepared."""
        return None

    def run(self, ctx: NodeContext) -> NodeOutcome | dict[str, Any]:
        """Do the node's work and return its output (a dict) or a NodeOutcome."""
        raise NotImplementedError(f"Node type '{self.type_name}' does not implement run().")

    def begin(self, ctx: NodeContext) -> BodySpec:
        """Composite nodes: the items to run the body for."""
        raise NotImplementedError(f"Node type '{self.type_name}' is not composite.")

    def finish(self, ctx: NodeContext, results: list[Any]) -> NodeOutcome | dict[str, Any]:
        """Composite nodes: the output made of the per-item results."""
        return {"items": results}

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """A JSON description of the node type for front ends and docs."""
        return {
            "type": cls.type_name,
            "description": cls.description,
            "blocking": cls.blocking,
            "handles": list(cls.output_handles),
            "config": [spec.to_dict() for spec in cls.config_fields],
        }


class NodeRegistry:
    """Node types by `type_name`; apps register theirs with `@registry.register`."""

    def __init__(self) -> None:
        self._types: dict[str, type[NodeType]] = {}
        self._instances: dict[str, NodeType] = {}
        self.version = 0

    def register(self, node_class: type[NodeType] | None = None, *, replace: bool = False
                 ) -> Any:
        """Register a NodeType subclass; usable as `@registry.register` or `register(cls)`."""
        if node_class is None:
            return lambda cls: self.register(cls, replace=replace)
        if not (isinstance(node_class, type) and issubclass(node_class, NodeType)):
            raise TypeError(f"{node_class!r} is not a NodeType subclass.")
        name = node_class.type_name
        if not isinstance(name, str) or not name:
            raise ValueError(f"{node_class.__name__} needs a non-empty `type_name`.")
        existing = self._types.get(name)
        if existing is not None and existing is not node_class and not replace:
            # Re-importing the same module registers an equal class again; that is fine.
            same = (existing.__module__, existing.__qualname__) == (
                node_class.__module__, node_class.__qualname__)
            if not same:
                raise ValueError(
                    f"Node type '{name}' is already registered by {existing.__qualname__}; "
                    "pass replace=True to override it."
                )
        self._types[name] = node_class
        self._instances.pop(name, None)
        self.version += 1
        return node_class

    def unregister(self, type_name: str) -> None:
        """Remove a node type (tests)."""
        self._types.pop(type_name, None)
        self._instances.pop(type_name, None)
        self.version += 1

    def get(self, type_name: str) -> type[NodeType] | None:
        """The class registered for `type_name`, or None."""
        return self._types.get(type_name)

    def instance(self, type_name: str) -> NodeType | None:
        """A shared instance of the node type (node types keep no per-run state)."""
        found = self._instances.get(type_name)
        if found is None:
            node_class = self._types.get(type_name)
            if node_class is None:
                return None
            found = self._instances[type_name] = node_class()
        return found

    def copy(self) -> NodeRegistry:
        """A new registry with the same types (add test-only types to the copy)."""
        other = NodeRegistry()
        other._types = dict(self._types)
        return other

    def names(self) -> list[str]:
        """Registered type names, sorted."""
        return sorted(self._types)

    def describe(self) -> list[dict[str, Any]]:
        """Descriptions of every node type."""
        return [self._types[name].describe() for name in self.names()]

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._types

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._types)


default_registry = NodeRegistry()
