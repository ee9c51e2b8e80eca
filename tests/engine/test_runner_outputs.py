"""Node outputs as the host stores them: JSON, within the size limit."""

import pytest

from workflows.engine import Graph, Runner, RunResult

from .helpers import REGISTRY, RecordingReporter, chain, node

LIMIT = 64 * 1024


def run(doc: dict, **kwargs) -> RunResult:
    return Runner(Graph.from_dict(doc), registry=REGISTRY, max_output_bytes=LIMIT,
                  **kwargs).run({})


def test_nan_and_infinite_numbers_in_an_output_become_null_for_later_nodes_too():
    doc = chain(node("s", "start"),
                node("calc", "transform", mapping={"big": "1e308 * 10", "nan": "float('nan')",
                                                   "rows": "[1.5, -1e308 * 10]"}),
                node("seen", "transform", mapping={"big": "big", "rows": "rows"}),
                node("e", "end"))
    result = run(doc)
    assert result.status == "completed", result.error
    assert result.node_results["calc"].output == {"big": None, "nan": None, "rows": [1.5, None]}
    assert result.output == {"big": None, "rows": [1.5, None]}


def test_replacing_such_numbers_is_logged_as_a_warning_on_the_node():
    reporter = RecordingReporter()
    run(chain(node("s", "start"), node("calc", "transform", mapping={"v": "1e308 * 10"})),
        reporter=reporter)
    warnings = [event for event in reporter.of("log") if event[2] == "warn"]
    assert [(event[1], "NaN or infinite" in event[3]) for event in warnings] == [("calc", True)]


@pytest.mark.parametrize("node_type", ["set_output", "self_output"])
def test_an_output_json_cannot_hold_fails_the_node(node_type):
    result = run(chain(node("s", "start"), node("x", node_type), node("e", "end")))
    assert result.status == "failed"
    assert result.failed_node == "x"
    assert "cannot be written as JSON" in result.error


def test_without_a_size_limit_outputs_are_passed_on_as_they_are():
    doc = chain(node("s", "start"), node("calc", "transform", mapping={"v": "1e308 * 10"}))
    result = Runner(Graph.from_dict(doc), registry=REGISTRY).run({})
    assert result.output == {"v": float("inf")}
