"""The difference between two versions of a workflow."""

import pytest

from tests.factories import WorkflowFactory, edge, node, simple_graph
from workflows.diff import diff_graphs, diff_versions
from workflows.services import workflow_update


def test_nodes_and_edges_added_removed_and_changed():
    old = {"name": "A", "description": "", **simple_graph()}
    new_nodes = [dict(n) for n in simple_graph()["nodes"]]
    new_nodes[1] = node("double", "transform", mapping={"y": "input.x * 3"})
    new_nodes[1]["position"] = {"x": 500, "y": 9}
    new_nodes.append(node("log", "transform", mapping={"z": "1"}))
    new = {"name": "B", "description": "now triples",
           "nodes": [n for n in new_nodes if n["id"] != "end"] + [node("done", "end")],
           "edges": [edge("start", "double"), edge("double", "log"), edge("log", "done")]}
    diff = diff_graphs(old, new)
    assert diff.name == ("A", "B") and diff.description == ("", "now triples")
    assert [n["id"] for n in diff.nodes_added] == ["log", "done"]
    assert [n["id"] for n in diff.nodes_removed] == ["end"]
    assert len(diff.nodes_changed) == 1
    change = diff.nodes_changed[0]
    assert change.node_id == "double"
    assert change.changes == {"data.mapping": ({"y": "input.x * 2"}, {"y": "input.x * 3"})}
    assert {(e["source"], e["target"]) for e in diff.edges_added} == {
        ("double", "log"), ("log", "done")}
    assert [(e["source"], e["target"]) for e in diff.edges_removed] == [("double", "end")]
    assert not diff.is_empty


def test_equal_graphs_with_new_edge_ids_and_positions_differ_in_nothing():
    graph = simple_graph()
    moved = {"nodes": [{**n, "position": {"x": 1, "y": 1}} for n in graph["nodes"]],
             "edges": [{**e, "id": "other-" + e["id"]} for e in graph["edges"]]}
    assert diff_graphs({"name": "A", **graph}, {"name": "A", **moved}).is_empty


@pytest.mark.django_db
def test_diff_of_two_stored_versions():
    workflow = WorkflowFactory(name="Doubler")
    workflow_update(workflow=workflow, author=workflow.owner, name="Tripler")
    v1, v2 = workflow.versions.get(number=1), workflow.versions.get(number=2)
    diff = diff_versions(v1, v2)
    assert diff.name == ("Doubler", "Tripler")
    assert not diff.nodes_added and not diff.nodes_changed
