"""The core node types, each run through the runner, plus check_input."""

import pytest

from workflows.engine import Graph, Runner, check_input

from .helpers import chain, document, edge, graph, node


def run(doc: dict, input_data=None, **kwargs):
    return Runner(Graph.from_dict(doc), **kwargs).run(input_data)


def test_start_outputs_the_input_and_end_outputs_the_data_flowing_in():
    result = run(chain(node("s", "start"), node("e", "end")), {"a": 1})
    assert result.status == "completed"
    assert result.node_results["s"].output == {"a": 1}
    assert result.output == {"a": 1}


def test_transform_maps_keys_to_expression_values():
    doc = chain(node("s", "start"),
                node("t", "transform", mapping={"double": "input.x * 2", "text": "'x=' + str(x)",
                                                "list": "[x, {s.x}]"}),
                node("e", "end"))
    assert run(doc, {"x": 4}).output == {"double": 8, "text": "x=4", "list": [4, 4]}


def test_transform_error_names_the_node_the_mapping_key_and_the_expression():
    doc = chain(node("s", "start"), node("t-1", "transform", mapping={"v": "x + 'a'"}),
                node("e", "end"))
    result = run(doc, {"x": 1})
    assert result.status == "failed"
    assert result.failed_node == "t-1"
    assert result.error == ("Node 't-1' (transform): mapping 'v': In expression \"x + 'a'\": "
                            "Cannot add number and string.")


def test_a_missing_path_fails_the_node_quoting_the_path():
    doc = chain(node("s", "start"), node("t", "transform", mapping={"v": "input.nope"}),
                node("e", "end"))
    result = run(doc, {})
    assert result.status == "failed"
    assert "'{input.nope}' is missing" in result.error
    assert result.node_results["t"].status == "failed"


def condition_graph(expression: str) -> dict:
    return document(
        [node("s", "start"), node("c", "condition", expression=expression),
         node("yes", "transform", mapping={"branch": "'yes'"}),
         node("no", "transform", mapping={"branch": "'no'"}), node("e", "end")],
        [edge("s", "c"), edge("c", "yes", "true"), edge("c", "no", "false"),
         edge("yes", "e"), edge("no", "e")],
    )


@pytest.mark.parametrize("value, branch, skipped", [(11, "yes", "no"), (3, "no", "yes")])
def test_condition_routes_by_handle_and_skips_the_other_branch(value, branch, skipped):
    result = run(condition_graph("{value} > 10"), {"value": value})
    assert result.status == "completed"
    assert result.output == {"branch": branch}
    cond = result.node_results["c"]
    assert cond.output == {"value": value}
    assert cond.handles == {"true" if branch == "yes" else "false"}
    assert result.node_results[skipped].status == "skipped"


def test_input_checks_and_defaults_fields():
    fields = [{"name": "text", "type": "string", "required": True},
              {"name": "n", "type": "integer", "default": 3},
              {"name": "opt", "type": "boolean"}]
    doc = chain(node("in", "input", fields=fields),
                node("t", "transform", mapping={"n": "input.n", "text": "text"}),
                node("e", "end"))
    result = run(doc, {"text": "hi", "extra": 1})
    assert result.node_results["in"].output == {"text": "hi", "n": 3, "extra": 1}
    assert result.output == {"n": 3, "text": "hi"}  # {input.n} sees the default too
    failed = run(doc, {"n": "x"})
    assert failed.status == "failed"
    assert "text: This field is required." in failed.error
    assert "n: Must be of type integer, not string." in failed.error


@pytest.mark.parametrize("kind, good, bad", [
    ("string", "a", 1), ("number", 1.5, "1"), ("number", 2, True), ("integer", 2, 2.5),
    ("boolean", False, 0), ("object", {}, []), ("array", [], {}),
])
def test_check_input_types(kind, good, bad):
    g = graph([node("in", "input", fields=[{"name": "f", "type": kind, "required": True}])], [])
    assert check_input(g, {"f": good}) == ({"f": good}, {})
    assert "f" in check_input(g, {"f": bad})[1]


def test_check_input_lists_missing_required_fields_for_a_400():
    g = graph([node("in", "input", fields=[{"name": "a", "required": True},
                                           {"name": "b", "required": True, "default": "x"}])],
              [])
    data, errors = check_input(g, {})
    assert errors == {"a": ["This field is required."]}
    assert data == {"b": "x"}
    assert check_input(g, "text") == ({}, {"input_data": ["must be an object, not string."]})


def test_check_input_without_an_input_node_passes_the_data_through():
    g = graph([node("s", "start")], [])
    assert check_input(g, {"a": 1}) == ({"a": 1}, {})
    assert check_input(g, None) == ({}, {})
    assert check_input(g, [1])[1] == {"input_data": ["must be an object, not list."]}


def test_output_without_mapping_passes_the_data_through_and_with_mapping_shapes_it():
    doc = chain(node("s", "start"), node("o", "output"), node("e", "end"))
    assert run(doc, {"a": 1}).output == {"a": 1}
    doc = chain(node("s", "start"), node("o", "output", mapping={"b": "a + 1"}),
                node("e", "end"))
    assert run(doc, {"a": 1}).output == {"b": 2}


def test_run_output_merges_every_output_node_reached_in_graph_order():
    doc = document(
        [node("s", "start"), node("o1", "output", mapping={"a": "1", "k": "'first'"}),
         node("o2", "output", mapping={"b": "2", "k": "'second'"}), node("e", "end")],
        [edge("s", "o1"), edge("s", "o2"), edge("o1", "e"), edge("o2", "e")],
    )
    assert run(doc, {}).output == {"a": 1, "k": "second", "b": 2}


def test_run_output_is_the_end_node_without_output_nodes():
    doc = chain(node("s", "start"), node("t", "transform", mapping={"z": "1"}), node("e", "end"))
    assert run(doc, {}).output == {"z": 1}


def test_loop_runs_its_body_per_item():
    doc = document(
        [node("s", "start"),
         node("l", "loop", items_path="input.rows", item_variable="row"),
         node("b1", "transform", parent="l", mapping={"name": "upper(row.name)"}),
         node("b2", "transform", parent="l", mapping={"label": "name + '#' + str(index)"}),
         node("e", "end")],
        [edge("s", "l"), edge("b1", "b2"), edge("l", "e")],
    )
    result = run(doc, {"rows": [{"name": "a"}, {"name": "b"}]})
    assert result.status == "completed", result.error
    assert result.output == {"items": [{"label": "A#0"}, {"label": "B#1"}]}
