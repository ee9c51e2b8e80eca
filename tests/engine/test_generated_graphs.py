"""Generated graphs: validation always answers, and a graph it accepts always runs to an end.

Hypothesis builds graphs of the core node types (start, input, transform, condition, loop,
output, end) with expressions that work, fail, overflow or name nodes, policies, loop bodies and
edges with any handle. For every graph: validation answers without an internal error; the input
check answers; and a valid graph's run ends completed or failed, with a reason when it fails,
and outputs JSON can hold.
"""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflows.engine import Graph, Runner, check_input, validate

from .helpers import REGISTRY

EXPRESSIONS = ["1", "input.x", "input.rows", "x", "len(input.rows)", "input.x > 1", "missing",
               "1 / 0", "1e308 * 10", "float('nan')", "'ab' * 3", "[1, 2, 3]", "{'k': 1}",
               "input", "item", "index", "n1", "n2.v", "default(input.y, 0)", "str(input)",
               "parse_json('[1, 2]')", "upper(input.name)"]
NODE_TYPES = ["transform", "transform", "condition", "loop", "output", "end"]


def config_of(node_type: str, draw) -> dict:
    expression = st.sampled_from(EXPRESSIONS)
    if node_type in ("transform", "output"):
        keys = st.sampled_from(["v", "x", "rows", "name"])
        return {"mapping": draw(st.dictionaries(keys, expression, max_size=3))}
    if node_type == "condition":
        return {"expression": draw(expression)}
    if node_type == "loop":
        return {"items_path": draw(expression),
                "max_concurrency": draw(st.integers(1, 3)),
                "error_handling": draw(st.sampled_from(["stop", "continue"]))}
    if node_type == "input":
        spec = st.fixed_dictionaries(
            {"name": st.sampled_from(["x", "rows", "name"]),
             "type": st.sampled_from(["string", "number", "integer", "array", "object"])},
            optional={"required": st.booleans(), "default": st.sampled_from([1, "a", [1]])})
        return {"fields": draw(st.lists(spec, max_size=2))}
    return {}


def policy_of(draw) -> dict:
    return draw(st.fixed_dictionaries({}, optional={
        "retry": st.fixed_dictionaries({"max_attempts": st.integers(1, 3),
                                        "backoff_ms": st.just(0)}),
        "on_error": st.sampled_from(["fail", "continue", "continue", "branch"]),
    }))


def handle_from(source: dict, draw) -> str | None:
    """Mostly a handle the source has, sometimes one it has not."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(["true", "false", "error", "other"]))
    if source["type"] == "condition":
        return draw(st.sampled_from(["true", "false"]))
    if source["data"].get("on_error") == "branch":
        return draw(st.sampled_from([None, "error"]))
    return None


@st.composite
def graphs(draw) -> dict:
    """An entry node, then nodes each fed by earlier ones; loops get bodies of later nodes."""
    count = draw(st.integers(1, 7))
    entry = draw(st.sampled_from(["start", "start", "input"]))
    nodes = [{"id": "n0", "type": entry, "data": config_of(entry, draw)}]
    loops: list[str] = []
    for index in range(1, count + 1):
        node_type = draw(st.sampled_from(NODE_TYPES))
        node = {"id": f"n{index}", "type": node_type,
                "data": {**config_of(node_type, draw), **policy_of(draw)}}
        if loops and draw(st.booleans()):
            node["parentId"] = draw(st.sampled_from(loops))
        if node_type == "loop":
            loops.append(node["id"])
        nodes.append(node)
    edges = []
    for index, node in enumerate(nodes[1:], start=1):
        same_scope = [earlier for earlier in nodes[:index]
                      if earlier.get("parentId") == node.get("parentId")]
        if not same_scope:
            continue
        sources = draw(st.lists(st.sampled_from(same_scope), min_size=1, max_size=2,
                                unique_by=lambda source: source["id"]))
        for source in sources:
            edges.append({"id": f"e{len(edges)}", "source": source["id"], "target": node["id"],
                          "sourceHandle": handle_from(source, draw)})
    return {"nodes": nodes, "edges": edges}


INPUTS = st.fixed_dictionaries({}, optional={
    "x": st.one_of(st.integers(-3, 3), st.text(max_size=3)),
    "rows": st.lists(st.integers(0, 5), max_size=4),
    "name": st.text(max_size=5),
})


@settings(max_examples=600, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(graphs(), INPUTS)
def test_a_generated_graph_is_validated_and_if_valid_runs_to_an_end(document, input_data):
    result = validate(document, REGISTRY)
    assert not any("could not be validated" in issue.message for issue in result.errors), \
        result.errors
    if not result.valid:
        return
    graph = Graph.from_dict(document)
    checked, errors = check_input(graph, input_data)
    if errors:
        return
    run = Runner(graph, registry=REGISTRY, max_output_bytes=64 * 1024).run(checked)
    assert run.status in ("completed", "failed"), run
    if run.status == "failed":
        assert run.error
    json.dumps(run.output, allow_nan=False)
    for node_result in run.node_results.values():
        json.dumps(node_result.output, allow_nan=False)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["id", "type", "data", "nodes", "edges", "source",
                                       "target", "parentId", "sourceHandle", "retry"]),
                      children, max_size=4),
    max_leaves=20))
def test_validation_answers_any_document_without_an_internal_error(document):
    result = validate(document, REGISTRY)
    assert not any("could not be validated" in issue.message for issue in result.errors), \
        result.errors
