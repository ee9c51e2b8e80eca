"""Loop nodes: per-item sub-runs, stop / continue, nesting, results, edge cases."""

from workflows.engine import Graph, Runner

from .helpers import REGISTRY, Calls, RecordingReporter, document, edge, node


def loop_graph(items: str = "input.rows", error_handling: str = "stop", body=None,
               body_edges=None, **loop_data) -> dict:
    body = body or [node("b", "transform", parent="l", mapping={"v": "10 / item"})]
    return document(
        [node("s", "start"),
         node("l", "loop", items_path=items, error_handling=error_handling, **loop_data),
         *body, node("e", "end")],
        [edge("s", "l"), edge("l", "e"), *(body_edges or [])],
    )


def run(doc: dict, input_data=None, reporter=None):
    return Runner(Graph.from_dict(doc), registry=REGISTRY, reporter=reporter,
                  services={"calls": Calls()}).run(input_data or {})


def test_each_item_result_is_the_merged_output_of_the_bodys_last_nodes():
    body = [node("a", "transform", parent="l", mapping={"x": "item * 2"}),
            node("b1", "transform", parent="l", mapping={"y": "x + 1"}),
            node("b2", "transform", parent="l", mapping={"z": "x - 1"})]
    doc = loop_graph(body=body, body_edges=[edge("a", "b1"), edge("a", "b2")])
    result = run(doc, {"rows": [1, 2]})
    assert result.output == {"items": [{"y": 3, "z": 1}, {"y": 5, "z": 3}]}


def test_stop_fails_the_loop_at_the_first_failed_item():
    result = run(loop_graph(), {"rows": [1, 0, 2]})
    assert result.status == "failed"
    assert result.failed_node == "l"
    assert result.error.startswith("Item 1 node 'b' failed: Node 'b' (transform)")
    assert "Division by zero" in result.error


def test_continue_records_an_error_result_for_a_failed_item():
    result = run(loop_graph(error_handling="continue"), {"rows": [1, 0, 2]})
    assert result.status == "completed"
    items = result.output["items"]
    assert items[0] == {"v": 10.0} and items[2] == {"v": 5.0}
    assert "Division by zero" in items[1]["error"]


def test_a_body_node_with_on_error_continue_does_not_fail_the_item():
    body = [node("b", "boom", parent="l", on_error="continue")]
    result = run(loop_graph(body=body), {"rows": [1]})
    assert result.output == {"items": [{"error": "ValueError: kaboom"}]}


def test_body_nodes_read_the_item_index_input_and_outer_node_outputs():
    doc = document(
        [node("s", "start"), node("pre", "transform", mapping={"k": "100"}),
         node("l", "loop", items_path="input.rows", item_variable="row"),
         node("b", "transform", parent="l",
              mapping={"v": "row.n + {pre.k} + input.base + index"}),
         node("e", "end")],
        [edge("s", "pre"), edge("pre", "l"), edge("l", "e")],
    )
    result = run(doc, {"rows": [{"n": 1}, {"n": 2}], "base": 1000})
    assert result.output == {"items": [{"v": 1101}, {"v": 1103}]}


def test_nested_loops_see_both_item_variables():
    doc = document(
        [node("s", "start"), node("outer", "loop", items_path="input.m", item_variable="row"),
         node("inner", "loop", parent="outer", items_path="row", item_variable="cell"),
         node("b", "transform", parent="inner", mapping={"v": "cell * 10 + len(row)"}),
         node("e", "end")],
        [edge("s", "outer"), edge("outer", "e")],
    )
    result = run(doc, {"m": [[1, 2], [3]]})
    assert result.output == {"items": [{"items": [{"v": 12}, {"v": 22}]},
                                       {"items": [{"v": 31}]}]}


def test_an_empty_list_gives_no_items_and_an_empty_body_passes_items_through():
    assert run(loop_graph(), {"rows": []}).output == {"items": []}
    empty_body = document([node("s", "start"), node("l", "loop", items_path="[1, 'a']"),
                           node("e", "end")], [edge("s", "l"), edge("l", "e")])
    assert run(empty_body).output == {"items": [1, "a"]}


def test_items_that_are_not_a_list_fail_the_loop_clearly():
    result = run(loop_graph(items="input.rows"), {"rows": "abc"})
    assert result.status == "failed"
    assert result.error == "items_path 'input.rows' gave string, not a list."


def test_items_path_may_be_a_braced_path_or_an_expression():
    assert run(loop_graph(items="{input.rows}"), {"rows": [5]}).output == {"items": [{"v": 2.0}]}
    assert run(loop_graph(items="split('1 2', ' ')", body=[
        node("b", "transform", parent="l", mapping={"v": "int(item)"})])).output == {
        "items": [{"v": 1}, {"v": 2}]}


def test_body_events_are_reported_and_only_top_level_nodes_are_in_results():
    reporter = RecordingReporter()
    result = run(loop_graph(), {"rows": [1, 2]}, reporter)
    assert [e[1] for e in reporter.of("finished")] == ["s", "b", "b", "l", "e"]
    assert set(result.node_results) == {"s", "l", "e"}
    assert result.checkpoint()["l"]["output"] == {"items": [{"v": 10.0}, {"v": 5.0}]}


def test_a_node_inside_a_loop_cannot_wait():
    result = run(loop_graph(body=[node("a", "ask", parent="l")]), {"rows": [1]})
    assert result.status == "failed"
    assert "cannot wait" in result.error


def test_a_loop_in_the_checkpoint_is_not_run_again():
    checkpoint = {"s": {"status": "completed", "output": {}},
                  "l": {"status": "completed", "output": {"items": ["cached"]}}}
    result = Runner(Graph.from_dict(loop_graph()), registry=REGISTRY).run(
        {"rows": [0]}, checkpoint=checkpoint)
    assert result.output == {"items": ["cached"]}
