"""The node type registry, the declarative schema and using a node type on its own."""

import pytest

from workflows.engine import (
    Field,
    Graph,
    NodeContext,
    NodeOutcome,
    NodeRegistry,
    NodeType,
    Scope,
    default_registry,
)
from workflows.engine.nodes.core import ConditionNode, TransformNode

CORE = ["condition", "end", "input", "loop", "output", "start", "transform"]


def test_the_default_registry_holds_the_core_types():
    # Apps of the platform add their own types to the same registry when Django loads them.
    assert set(CORE) <= set(default_registry.names())
    assert default_registry.get("transform") is TransformNode
    assert default_registry.get("nope") is None
    assert "condition" in default_registry
    assert isinstance(default_registry.instance("condition"), ConditionNode)


def test_core_types_are_pure_so_they_run_inline():
    assert not any(default_registry.get(name).blocking for name in CORE)


def test_register_as_decorator_and_refuse_silent_replacement():
    registry = NodeRegistry()

    @registry.register
    class Echo(NodeType):
        type_name = "echo"

    assert registry.get("echo") is Echo
    version = registry.version

    class Other(NodeType):
        type_name = "echo"

    with pytest.raises(ValueError, match="already registered"):
        registry.register(Other)
    registry.register(Other, replace=True)
    assert registry.get("echo") is Other and registry.version > version
    registry.unregister("echo")
    assert "echo" not in registry


def test_register_refuses_non_node_types_and_missing_names():
    registry = NodeRegistry()
    with pytest.raises(TypeError):
        registry.register(dict)  # type: ignore[arg-type]

    class Nameless(NodeType):
        pass

    with pytest.raises(ValueError, match="type_name"):
        registry.register(Nameless)


def test_a_copy_is_independent_of_the_default_registry():
    copy = default_registry.copy()

    class Extra(NodeType):
        type_name = "extra"

    copy.register(Extra)
    assert "extra" in copy and "extra" not in default_registry


def test_a_registry_change_invalidates_the_runners_prepared_graph():
    from workflows.engine import Runner

    registry = default_registry.copy()
    graph = Graph.from_dict({"nodes": [{"id": "s", "type": "start"},
                                       {"id": "x", "type": "later"}],
                             "edges": [{"id": "e", "source": "s", "target": "x"}]})
    assert Runner(graph, registry=registry).run({}).status == "failed"

    class Later(NodeType):
        type_name = "later"

        def run(self, ctx):
            return {"ok": True}

    registry.register(Later)
    assert Runner(graph, registry=registry).run({}).output == {"ok": True}


def test_describe_gives_front_ends_the_schema():
    described = {d["type"]: d for d in default_registry.describe()}
    loop = described["loop"]
    assert [f["name"] for f in loop["config"]] == ["items_path", "item_variable",
                                                   "error_handling", "max_concurrency"]
    assert loop["config"][2]["choices"] == ["stop", "continue"]
    assert described["condition"]["handles"] == ["true", "false"]


def test_unknown_field_kinds_are_refused():
    with pytest.raises(ValueError, match="Unknown field kind"):
        Field("x", "color")


def test_a_node_type_can_be_run_on_its_own_with_a_context():
    node = Graph.from_dict({"nodes": [{"id": "c", "type": "condition",
                                       "data": {"expression": "n > 1"}}]}).nodes["c"]
    impl = ConditionNode()
    from workflows.engine import Compiler

    prepared = impl.prepare(node, Compiler())
    ctx = NodeContext(node, {"n": 2}, prepared=prepared)
    assert impl.run(ctx) == NodeOutcome({"n": 2}, frozenset({"true"}))
    ctx.log("info", "dropped")  # no run: logs go nowhere
    assert not ctx.cancel_requested()


def test_context_helpers_render_templates_and_expressions_in_the_node_scope():
    node = Graph.from_dict({"nodes": [{"id": "h", "type": "x",
                                       "data": {"url": "https://api/{input.id}"}}]}).nodes["h"]
    ctx = NodeContext(node, {"k": "v"}, Scope(input={"id": 7, "rows": [1]}, data={"k": "v"}),
                      input_data={"id": 7})
    assert ctx.render(ctx.config["url"]) == "https://api/7"
    assert ctx.render_value("{input.rows}") == [1]
    assert ctx.evaluate("input.id * 2") == 14
    assert ctx.render_deep({"h": ["{k}", 1], "n": "{input.id}"}) == {"h": ["v", 1], "n": 7}
    assert ctx.node_id == "h"
