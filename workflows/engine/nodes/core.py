"""The core node types: start, input, transform, condition, loop, output, end."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ExpressionError, Issue, NodeError
from ..expressions import Compiler, Expression, type_name
from ..schema import Field
from .base import BodySpec, NodeContext, NodeOutcome, NodeType, default_registry

if TYPE_CHECKING:
    from ..graph import Graph, Node

TRUE = frozenset({"true"})
FALSE = frozenset({"false"})
INPUT_TYPES = ("string", "number", "integer", "boolean", "object", "array")
MAX_LOOP_CONCURRENCY = 64
# Items one loop runs at most, unless the host says otherwise (services["max_loop_items"]).
MAX_LOOP_ITEMS = 10_000
_VARIABLE = re.compile(r"[^\W\d]\w*")


def _mapping(node: Node, compiler: Compiler, key: str = "mapping") -> tuple[tuple[str, Expression],
                                                                             ...]:
    mapping = node.data.get(key) or {}
    if not isinstance(mapping, dict):
        raise NodeError(f"'{key}' must be an object of key: expression.")
    return tuple((name, compiler.expression(source)) for name, source in mapping.items())


def _evaluate_mapping(ctx: NodeContext, field: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    scope = ctx.scope
    for name, expression in ctx.prepared:
        try:
            out[name] = expression.evaluate(scope)
        except ExpressionError as exc:
            raise type(exc)(f"{field} '{name}': {exc}") from None
    return out


@default_registry.register
class StartNode(NodeType):
    """Where a run begins; its output is the execution's input."""

    type_name = "start"
    description = "The run's entry point; outputs the execution's input_data."
    entry = True

    def run(self, ctx: NodeContext) -> dict[str, Any]:
        """The execution's input."""
        return ctx.input


def _matches(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "object":
        return isinstance(value, Mapping)
    if kind == "array":
        return isinstance(value, list | tuple)
    return True


def check_fields(fields: Any, input_data: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """`input_data` checked against `fields` and defaulted; errors by field name."""
    if input_data is None:
        input_data = {}
    if not isinstance(input_data, Mapping):
        return {}, {"input_data": [f"must be an object, not {type_name(input_data)}."]}
    data = dict(input_data)
    errors: dict[str, list[str]] = {}
    for spec in fields if isinstance(fields, list) else []:
        if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
            continue
        name, kind = spec["name"], spec.get("type") or "string"
        value = data.get(name)
        if value is None:
            if spec.get("default") is not None:
                data[name] = copy.deepcopy(spec["default"])
            elif spec.get("required"):
                errors.setdefault(name, []).append("This field is required.")
            continue
        if not _matches(kind, value):
            errors.setdefault(name, []).append(f"Must be of type {kind}, not {type_name(value)}.")
    return data, errors


def input_node(graph: Graph) -> Node | None:
    """The graph's top-level `input` node, if any."""
    for node_id in graph.top_level():
        node = graph.nodes[node_id]
        if node.type == "input":
            return node
    return None


def check_input(graph: Graph, input_data: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The input checked and defaulted by the graph's input node, and errors by field.

    The host calls this before enqueueing a run to answer 400 for a missing required field.
    """
    node = input_node(graph)
    if node is None:
        if input_data is None:
            return {}, {}
        if not isinstance(input_data, Mapping):
            return {}, {"input_data": [f"must be an object, not {type_name(input_data)}."]}
        return dict(input_data), {}
    return check_fields(node.data.get("fields"), input_data)


@default_registry.register
class InputNode(NodeType):
    """Declares the execution's input fields; outputs the input checked and defaulted."""

    type_name = "input"
    description = "Checks input_data against declared fields and fills in defaults."
    entry = True
    config_fields = (
        Field("fields", "list", default=[],
              description="[{name, type (string|number|integer|boolean|object|array), "
                          "required, default}]"),
    )

    def validate_config(self, config: Mapping[str, Any], compiler: Compiler | None = None
                        ) -> list[Issue]:
        """Schema checks plus each field spec's shape."""
        issues = super().validate_config(config, compiler)
        fields = config.get("fields")
        if issues or not isinstance(fields, list):
            return issues
        seen: set[str] = set()
        for index, spec in enumerate(fields):
            where = f"'fields' #{index + 1}"
            if not isinstance(spec, Mapping):
                issues.append(Issue(None, "INVALID_CONFIG", f"{where} must be an object."))
                continue
            name = spec.get("name")
            if not isinstance(name, str) or not name:
                issues.append(Issue(None, "INVALID_CONFIG", f"{where} needs a 'name'."))
                continue
            if name in seen:
                issues.append(Issue(None, "INVALID_CONFIG", f"Field '{name}' is declared twice."))
            seen.add(name)
            kind = spec.get("type", "string")
            if kind not in INPUT_TYPES:
                issues.append(Issue(None, "INVALID_CONFIG",
                                    f"Field '{name}': type must be one of "
                                    f"{', '.join(INPUT_TYPES)}."))
                continue
            if "required" in spec and not isinstance(spec["required"], bool):
                issues.append(Issue(None, "INVALID_CONFIG",
                                    f"Field '{name}': required must be true or false."))
            default = spec.get("default")
            if default is not None and not _matches(kind, default):
                issues.append(Issue(None, "INVALID_CONFIG",
                                    f"Field '{name}': the default is not of type {kind}."))
        return issues

    def run(self, ctx: NodeContext) -> dict[str, Any]:
        """The input checked and defaulted; fails listing every problem."""
        data, errors = check_fields(ctx.config.get("fields"), ctx.input)
        if errors:
            listed = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in errors.items())
            raise NodeError(f"Invalid input: {listed}")
        return data


@default_registry.register
class TransformNode(NodeType):
    """Builds a new object: each key of `mapping` gets its expression's value."""

    type_name = "transform"
    description = "Outputs {key: value} with each value computed by an expression."
    config_fields = (
        Field("mapping", "mapping", required=True, description="{key: expression}"),
    )

    def prepare(self, node: Node, compiler: Compiler) -> Any:
        """Compile the mapping's expressions once."""
        return _mapping(node, compiler)

    def run(self, ctx: NodeContext) -> dict[str, Any]:
        """Evaluate every expression of the mapping."""
        return _evaluate_mapping(ctx, "mapping")


@default_registry.register
class ConditionNode(NodeType):
    """Routes the data flowing in to the "true" or "false" edges."""

    type_name = "condition"
    description = "Evaluates an expression and routes to the 'true' or 'false' handle."
    output_handles = ("true", "false")
    required_handles = ("true", "false")
    config_fields = (
        Field("expression", "expression", required=True, description="e.g. {value} > 10"),
    )

    def prepare(self, node: Node, compiler: Compiler) -> Any:
        """Compile the expression once."""
        return compiler.expression(node.data.get("expression", ""))

    def run(self, ctx: NodeContext) -> NodeOutcome:
        """The data flowing in, routed by the expression's truth."""
        return NodeOutcome(ctx.data, TRUE if ctx.prepared.evaluate(ctx.scope) else FALSE)


@default_registry.register
class LoopNode(NodeType):
    """Runs its body (the nodes whose parentId is this loop) once per item."""

    type_name = "loop"
    description = ("Runs the child nodes once per item of a list; outputs {items: [result per "
                   "item]}. Body nodes read the item as {item} (item_variable) and its position "
                   "as {index}; the body's first nodes receive the loop's input data plus both.")
    composite = True
    config_fields = (
        Field("items_path", "expression", required=True,
              description="A path or expression giving the list, e.g. input.rows"),
        Field("item_variable", "string", default="item",
              description="The name under which the body reads the current item"),
        Field("error_handling", "enum", default="stop", choices=("stop", "continue"),
              description="stop: the first failed item fails the loop; continue: a failed "
                          "item's result is {error}"),
        Field("max_concurrency", "int", default=1, min_value=1,
              max_value=MAX_LOOP_CONCURRENCY,
              description="How many items run at once (useful with blocking body nodes)"),
    )

    def validate_config(self, config: Mapping[str, Any], compiler: Compiler | None = None
                        ) -> list[Issue]:
        """Schema checks plus a usable item variable name."""
        issues = super().validate_config(config, compiler)
        variable = config.get("item_variable")
        if isinstance(variable, str) and variable and (
                not _VARIABLE.fullmatch(variable) or variable.startswith("_")
                or variable == "input"):
            issues.append(Issue(None, "INVALID_CONFIG",
                                "'item_variable' must be a name (letters, digits, underscores, "
                                "not starting with '_'), other than 'input'."))
        return issues

    def prepare(self, node: Node, compiler: Compiler) -> Any:
        """Compile the items expression once."""
        return compiler.expression(node.data.get("items_path", ""))

    def begin(self, ctx: NodeContext) -> BodySpec:
        """The items and how to run them."""
        items = ctx.prepared.evaluate(ctx.scope)
        if not isinstance(items, list | tuple):
            raise NodeError(
                f"items_path {ctx.config.get('items_path')!r} gave {type_name(items)}, not a list."
            )
        limit = ctx.services.get("max_loop_items", MAX_LOOP_ITEMS)
        if len(items) > limit:
            raise NodeError(f"The loop has {len(items)} items; at most {limit} are allowed.")
        config = ctx.config
        return BodySpec(
            items=list(items),
            variable=config.get("item_variable") or "item",
            concurrency=config.get("max_concurrency") or 1,
            error_handling=config.get("error_handling") or "stop",
        )

    def finish(self, ctx: NodeContext, results: list[Any]) -> dict[str, Any]:
        """One result per item, in item order."""
        return {"items": results}


@default_registry.register
class OutputNode(NodeType):
    """Shapes the run's output: its mapping's result, or the data flowing in."""

    type_name = "output"
    description = "The run's output: the mapping's result, or the data flowing in."
    terminal = "output"
    config_fields = (
        Field("mapping", "mapping", description="{key: expression}; optional"),
    )

    def prepare(self, node: Node, compiler: Compiler) -> Any:
        """Compile the mapping's expressions once (None without a mapping)."""
        return _mapping(node, compiler) if node.data.get("mapping") else None

    def run(self, ctx: NodeContext) -> dict[str, Any]:
        """The mapping's result or the data flowing in."""
        if ctx.prepared is None:
            return ctx.data  # type: ignore[return-value]
        return _evaluate_mapping(ctx, "mapping")


@default_registry.register
class EndNode(NodeType):
    """Where a run ends; outputs the data flowing in."""

    type_name = "end"
    description = "The run's end; outputs the data flowing in."
    terminal = "end"

    def run(self, ctx: NodeContext) -> dict[str, Any]:
        """The data flowing in."""
        return ctx.data  # type: ignore[return-value]
