"""The graph model: parsing React Flow JSON, malformed input, policies, round trip."""

import copy

import pytest

from workflows.engine import Graph, GraphFormatError, Policy
from workflows.engine.graph import parse_policy

from .helpers import edge, node

DOCUMENT = {
    "nodes": [
        {"id": "start", "type": "start", "position": {"x": 0, "y": 0}, "data": {"label": "Go"}},
        {"id": "cond-1", "type": "condition", "position": {"x": 1, "y": 0}, "parentId": None,
         "data": {"expression": "x > 1", "retry": {"max_attempts": 3, "backoff_ms": 10}},
         "width": 150, "selected": True},
        {"id": "loop-1", "type": "loop", "position": {"x": 2, "y": 0},
         "data": {"items_path": "input.rows"}, "on_error": "continue", "timeout_ms": 500},
        {"id": "body", "type": "transform", "parentId": "loop-1",
         "data": {"mapping": {"y": "item"}}},
        {"id": "end", "type": "end", "position": {"x": 3, "y": 0}, "data": {}},
    ],
    "edges": [
        {"id": "e1", "source": "start", "target": "cond-1", "animated": True},
        {"id": "e2", "source": "cond-1", "target": "loop-1", "sourceHandle": "true"},
        {"id": "e3", "source": "cond-1", "target": "end", "sourceHandle": "false"},
        {"id": "e4", "source": "loop-1", "target": "end", "sourceHandle": None},
    ],
}


def test_from_dict_then_to_dict_round_trips_exactly_including_unknown_keys():
    graph = Graph.from_dict(DOCUMENT)
    assert graph.to_dict() == DOCUMENT


def test_graph_does_not_alias_the_input_document():
    document = copy.deepcopy(DOCUMENT)
    graph = Graph.from_dict(document)
    document["nodes"][0]["data"]["label"] = "changed"
    assert graph.to_dict() == DOCUMENT
    assert graph.nodes["start"].data["label"] == "Go"


def test_nodes_edges_and_adjacency_are_precomputed():
    graph = Graph.from_dict(DOCUMENT)
    assert list(graph.nodes) == ["start", "cond-1", "loop-1", "body", "end"]
    assert [e.id for e in graph.outgoing["cond-1"]] == ["e2", "e3"]
    assert [e.source_handle for e in graph.outgoing["cond-1"]] == ["true", "false"]
    assert [e.id for e in graph.incoming["end"]] == ["e3", "e4"]
    assert graph.children["loop-1"] == ["body"]
    assert graph.top_level() == ["start", "cond-1", "loop-1", "end"]
    assert graph.nodes["body"].parent_id == "loop-1"
    assert graph.nodes["start"].label == "Go"
    assert graph.nodes["end"].label == "end"


def test_policies_are_read_from_data_or_the_node_top_level():
    graph = Graph.from_dict(DOCUMENT)
    assert graph.nodes["cond-1"].policy == Policy(max_attempts=3, backoff_ms=10)
    assert graph.nodes["loop-1"].policy == Policy(timeout_ms=500, on_error="continue")
    assert graph.nodes["end"].policy == Policy()


def test_policy_in_data_wins_over_the_top_level():
    policy, problems = parse_policy({"data": {"on_error": "branch"}, "on_error": "continue"})
    assert policy.on_error == "branch" and problems == []


@pytest.mark.parametrize("raw, fragment", [
    ({"retry": 3}, "retry must be an object"),
    ({"retry": {"max_attempts": 0}}, "max_attempts"),
    ({"retry": {"max_attempts": 11}}, "max_attempts"),
    ({"retry": {"max_attempts": True}}, "max_attempts"),
    ({"retry": {"backoff_ms": -1}}, "backoff_ms"),
    ({"retry": {"tries": 2}}, "unknown keys"),
    ({"timeout_ms": 0}, "timeout_ms"),
    ({"timeout_ms": "5s"}, "timeout_ms"),
    ({"on_error": "ignore"}, "on_error"),
])
def test_malformed_policies_are_reported_not_raised(raw, fragment):
    policy, problems = parse_policy({"data": raw})
    assert any(fragment in problem for problem in problems), problems
    assert isinstance(policy, Policy)


def test_backoff_doubles_after_each_failed_attempt():
    policy = Policy(max_attempts=4, backoff_ms=100)
    assert [policy.backoff_s(n) for n in (1, 2, 3)] == [0.1, 0.2, 0.4]
    assert Policy().backoff_s(1) == 0


@pytest.mark.parametrize("document, fragment", [
    ([], "must be an object"),
    ("nodes", "must be an object"),
    ({"nodes": {}}, "'nodes' must be a list"),
    ({"nodes": [], "edges": "x"}, "'edges' must be a list"),
    ({"nodes": [1]}, "Node #1 must be an object"),
    ({"nodes": [{"type": "start"}]}, "needs a string 'id'"),
    ({"nodes": [{"id": 5, "type": "start"}]}, "needs a string 'id'"),
    ({"nodes": [{"id": "n" * 201, "type": "start"}]}, "longer than 200 characters"),
    ({"nodes": [{"id": "a"}]}, "needs a string 'type'"),
    ({"nodes": [{"id": "a", "type": "start", "data": []}]}, "'data' must be an object"),
    ({"nodes": [{"id": "a", "type": "start", "parentId": 3}]}, "'parentId'"),
    ({"nodes": [node("a", "start"), node("a", "end")]}, "Two nodes have the id 'a'"),
    ({"nodes": [], "edges": [{"id": "e", "source": "a"}]}, "needs string 'source' and 'target'"),
    ({"nodes": [], "edges": [5]}, "Edge #1 must be an object"),
    ({"nodes": [], "edges": [{"id": "e", "source": "a", "target": "b", "sourceHandle": 1}]},
     "'sourceHandle' must be a string"),
])
def test_structurally_malformed_documents_raise_graph_format_error(document, fragment):
    with pytest.raises(GraphFormatError, match="malformed") as caught:
        Graph.from_dict(document)
    assert fragment in str(caught.value)


def test_missing_data_and_edges_are_allowed():
    graph = Graph.from_dict({"nodes": [{"id": "s", "type": "start"}]})
    assert graph.nodes["s"].data == {} and graph.edges == []


def test_dangling_edges_are_kept_for_validation_but_not_followed():
    graph = Graph.from_dict({"nodes": [node("s", "start")], "edges": [edge("s", "ghost")]})
    assert len(graph.edges) == 1
    assert graph.outgoing["s"] == []


def test_compiler_is_cached_and_knows_hyphenated_node_ids():
    graph = Graph.from_dict(DOCUMENT)
    assert graph.compiler is graph.compiler
    assert graph.compiler.expression("cond-1.x").references == {"cond-1"}
