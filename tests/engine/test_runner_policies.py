"""Node policies: retry with backoff, timeout, on_error fail / continue / branch."""

import time

import pytest

from workflows.engine import Graph, Runner

from .helpers import REGISTRY, Calls, RecordingReporter, chain, document, edge, node


def run(doc: dict, services=None, reporter=None):
    return Runner(Graph.from_dict(doc), registry=REGISTRY, reporter=reporter,
                  services=services if services is not None else {"calls": Calls()}).run({})


@pytest.mark.parametrize("node_type", ["flaky", "blocking_flaky"])
def test_retry_runs_until_success_within_max_attempts(node_type):
    services = {"calls": Calls()}
    reporter = RecordingReporter()
    doc = chain(node("s", "start"),
                node("f", node_type, failures=2, retry={"max_attempts": 3}), node("e", "end"))
    result = run(doc, services, reporter)
    assert result.status == "completed"
    assert result.output == {"attempts": 3}
    assert result.node_results["f"].attempts == 3
    assert services["calls"].counts == {"f": 3}
    assert [e[2] for e in reporter.of("started") if e[1] == "f"] == [1, 2, 3]
    warnings = [e for e in reporter.of("log") if e[2] == "warn"]
    assert [w[3].split(":")[0] for w in warnings] == ["Attempt 1 of 3 failed",
                                                      "Attempt 2 of 3 failed"]


def test_retry_gives_up_after_max_attempts_with_the_last_error():
    services = {"calls": Calls()}
    doc = chain(node("s", "start"), node("f", "flaky", failures=5, retry={"max_attempts": 2}),
                node("e", "end"))
    result = run(doc, services)
    assert result.status == "failed"
    assert result.error == "flaky failure 2"
    assert result.node_results["f"].attempts == 2
    assert services["calls"].counts == {"f": 2}


def test_backoff_waits_and_doubles_between_attempts():
    services = {"calls": Calls()}
    doc = chain(node("s", "start"),
                node("f", "flaky", failures=2, retry={"max_attempts": 3, "backoff_ms": 40}),
                node("e", "end"))
    result = run(doc, services)
    assert result.status == "completed"
    first, second, third = services["times"]
    assert second - first >= 0.035
    assert third - second >= 0.075


def test_a_blocking_node_over_its_timeout_fails_with_a_clear_message():
    doc = chain(node("s", "start"), node("z", "sleep", ms=2000, timeout_ms=50),
                node("e", "end"))
    started = time.monotonic()
    result = run(doc)
    assert time.monotonic() - started < 1.0
    assert result.status == "failed"
    assert result.error == "Timed out after 50 ms."
    assert result.node_results["z"].status == "failed"


def test_a_timed_out_attempt_is_retried():
    doc = chain(node("s", "start"),
                node("z", "sleep", ms=2000, timeout_ms=30, retry={"max_attempts": 2}),
                node("e", "end"))
    reporter = RecordingReporter()
    result = run(doc, reporter=reporter)
    assert result.node_results["z"].attempts == 2
    assert [e[2] for e in reporter.of("started") if e[1] == "z"] == [1, 2]


def test_a_blocking_node_within_its_timeout_completes():
    result = run(chain(node("s", "start"), node("z", "sleep", ms=10, timeout_ms=2000),
                       node("e", "end")))
    assert result.status == "completed" and result.output == {"z": "done"}


def test_on_error_continue_records_the_failure_and_goes_on_with_an_error_output():
    reporter = RecordingReporter()
    doc = chain(node("s", "start"), node("b", "boom", on_error="continue"),
                node("t", "transform", mapping={"seen": "error"}), node("e", "end"))
    result = run(doc, reporter=reporter)
    assert result.status == "completed"
    assert result.output == {"seen": "ValueError: kaboom"}
    failed = result.node_results["b"]
    assert failed.status == "failed" and failed.output == {"error": "ValueError: kaboom"}
    assert reporter.of("failed") == [("failed", "b", "ValueError: kaboom")]


def branch_graph() -> dict:
    return document(
        [node("s", "start"), node("b", "boom", on_error="branch"),
         node("ok", "transform", mapping={"path": "'ok'"}),
         node("handler", "transform", mapping={"path": "'handled: ' + error"}),
         node("e", "end")],
        [edge("s", "b"), edge("b", "ok"), edge("b", "handler", "error"), edge("ok", "e"),
         edge("handler", "e")],
    )


def test_on_error_branch_activates_only_the_error_handle():
    result = run(branch_graph())
    assert result.status == "completed"
    assert result.output == {"path": "handled: ValueError: kaboom"}
    assert result.node_results["ok"].status == "skipped"
    assert result.node_results["b"].handles == {"error"}


def test_without_a_failure_the_error_edge_is_inactive():
    doc = branch_graph()
    doc["nodes"][1] = node("b", "transform", mapping={"fine": "1"}, on_error="branch")
    result = run(doc)
    assert result.output == {"path": "ok"}
    assert result.node_results["handler"].status == "skipped"


def test_on_error_fail_waits_for_in_flight_branches_then_fails():
    doc = document(
        [node("s", "start"), node("slow", "sleep", ms=80), node("b", "boom"),
         node("after", "transform", mapping={"x": "1"}), node("e", "end")],
        [edge("s", "slow"), edge("s", "b"), edge("slow", "e"), edge("b", "after"),
         edge("after", "e")],
    )
    result = run(doc)
    assert result.status == "failed"
    assert result.failed_node == "b" and result.error == "ValueError: kaboom"
    assert result.node_results["slow"].status == "completed"  # awaited and recorded
    assert "after" not in result.node_results and "e" not in result.node_results


def test_retries_apply_to_a_whole_loop():
    services = {"calls": Calls()}
    doc = document(
        [node("s", "start"), node("l", "loop", items_path="[1, 2]",
                                  retry={"max_attempts": 2}),
         node("f", "flaky", parent="l", failures=1), node("e", "end")],
        [edge("s", "l"), edge("l", "e")],
    )
    result = run(doc, services)
    assert result.status == "completed"
    assert result.node_results["l"].attempts == 2
    assert result.output == {"items": [{"attempts": 2}, {"attempts": 3}]}
