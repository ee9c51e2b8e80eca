"""The runner's scheduling: order, merging, skipping, reporting, progress, errors."""

import threading
import time

from workflows.engine import Graph, NodeResult, Runner, RunResult

from .helpers import REGISTRY, Calls, RecordingReporter, chain, document, edge, node


def run(doc: dict, input_data=None, **kwargs) -> RunResult:
    kwargs.setdefault("registry", REGISTRY)
    return Runner(Graph.from_dict(doc), **kwargs).run(input_data)


def test_a_node_runs_with_the_merged_outputs_of_all_its_predecessors_later_keys_winning():
    doc = document(
        [node("s", "start"), node("na", "transform", mapping={"a": "1", "shared": "'a'"}),
         node("nb", "transform", mapping={"b": "2", "shared": "'b'"}),
         node("m", "transform", mapping={"seen": "[a, b, shared]"}), node("e", "end")],
        [edge("s", "na"), edge("s", "nb"), edge("na", "m"), edge("nb", "m"), edge("m", "e")],
    )
    result = run(doc, {})
    assert result.output == {"seen": [1, 2, "b"]}


def test_a_node_id_wins_over_a_data_key_of_the_same_name():
    doc = chain(node("s", "start"), node("a", "transform", mapping={"a": "1"}),
                node("t", "transform", mapping={"seen": "a"}))
    assert run(doc, {}).output == {"seen": {"a": 1}}


def test_merge_order_follows_edge_order_not_completion_order():
    doc = document(
        [node("s", "start"), node("a", "transform", mapping={"k": "'a'"}),
         node("b", "transform", mapping={"k": "'b'"}), node("e", "end")],
        [edge("s", "b"), edge("s", "a"), edge("b", "e"), edge("a", "e")],
    )
    assert run(doc, {}).output == {"k": "a"}


def test_skipping_propagates_through_a_whole_branch_and_joins_run_with_the_active_side():
    doc = document(
        [node("s", "start"), node("c", "condition", expression="go"),
         node("y1", "transform", mapping={"y": "1"}), node("y2", "transform", mapping={"y": "y"}),
         node("n1", "transform", mapping={"n": "1"}), node("j", "output"), node("e", "end")],
        [edge("s", "c"), edge("c", "y1", "true"), edge("y1", "y2"), edge("c", "n1", "false"),
         edge("y2", "j"), edge("n1", "j"), edge("j", "e")],
    )
    reporter = RecordingReporter()
    result = run(doc, {"go": False}, reporter=reporter)
    assert result.output == {"n": 1}
    assert {n: r.status for n, r in result.node_results.items()} == {
        "s": "completed", "c": "completed", "y1": "skipped", "y2": "skipped",
        "n1": "completed", "j": "completed", "e": "completed"}
    assert reporter.of("skipped") == [("skipped", "y1"), ("skipped", "y2")]


def test_a_node_whose_every_incoming_edge_is_inactive_is_skipped_even_an_end():
    doc = document(
        [node("s", "start"), node("c", "condition", expression="false"),
         node("o", "output", mapping={"x": "1"}), node("e", "end"),
         node("other", "transform", mapping={"z": "2"})],
        [edge("s", "c"), edge("c", "o", "true"), edge("c", "other", "false"), edge("o", "e")],
    )
    result = run(doc, {})
    assert result.node_results["e"].status == "skipped"
    assert result.output == {"z": 2}  # no output/end reached: the last nodes' merge


def test_reporter_gets_every_event_in_order_on_the_calling_thread():
    reporter = RecordingReporter()
    doc = chain(node("s", "start"), node("t", "transform", mapping={"v": "1"}),
                node("z", "sleep", ms=10), node("e", "end"))
    result = run(doc, {}, reporter=reporter)
    assert result.status == "completed"
    started = [e[1] for e in reporter.of("started")]
    finished = [e[1] for e in reporter.of("finished")]
    assert started == finished == ["s", "t", "z", "e"]
    assert ("log", "z", "info", "slept") in reporter.events  # logged on a pool thread
    assert reporter.threads == {threading.get_ident()}


def test_progress_counts_resolved_top_level_nodes_up_to_100():
    reporter = RecordingReporter()
    run(chain(node("s", "start"), node("a", "transform", mapping={"a": "1"}),
              node("b", "transform", mapping={"b": "1"}), node("e", "end")), {},
        reporter=reporter)
    assert [e[1] for e in reporter.of("progress")] == [25, 50, 75, 100]


def test_node_results_have_timings_and_attempts():
    result = run(chain(node("s", "start"), node("e", "end")), {})
    record = result.node_results["e"]
    assert isinstance(record, NodeResult)
    assert record.attempts == 1
    assert record.started_at <= record.finished_at
    assert record.duration_ms >= 0


def test_a_plain_exception_becomes_a_node_failure_without_a_traceback():
    result = run(chain(node("s", "start"), node("b", "boom"), node("e", "end")), {})
    assert result.status == "failed"
    assert result.error == "ValueError: kaboom"
    assert "Traceback" not in result.error
    assert result.node_results["b"].status == "failed"
    assert "e" not in result.node_results


def test_a_node_returning_a_non_object_fails_clearly():
    result = run(chain(node("s", "start"), node("x", "bad_output"), node("e", "end")), {})
    assert result.error == "The node returned list, not an object."


def test_an_unknown_node_type_fails_at_run_time_when_not_validated_first():
    result = Runner(Graph.from_dict(chain(node("s", "start"), node("q", "quantum")))).run({})
    assert result.status == "failed" and result.error == "Unknown node type 'quantum'."


def test_a_broken_expression_fails_its_node_at_run_time_when_not_validated_first():
    result = run(chain(node("s", "start"), node("t", "transform", mapping={"a": "1 +"})), {})
    assert result.status == "failed"
    assert result.failed_node == "t" and "Node 't' (transform)" in result.error


def test_without_a_start_node_roots_get_the_input():
    result = run(chain(node("t", "transform", mapping={"v": "x + 1"}), node("e", "end")), {"x": 1})
    assert result.output == {"v": 2}


def test_a_cycle_is_reported_as_a_failure_not_a_hang():
    doc = document([node("s", "start"), node("a", "transform", mapping={"x": "1"}),
                    node("b", "transform", mapping={"x": "1"})],
                   [edge("s", "a"), edge("a", "b"), edge("b", "a")])
    result = run(doc, {})
    assert result.status == "failed" and "could never run" in result.error


def test_the_same_runner_and_graph_run_many_times_independently():
    calls = Calls()
    runner = Runner(Graph.from_dict(chain(node("s", "start"), node("c", "count"),
                                          node("e", "end"))),
                    registry=REGISTRY, services={"calls": calls})
    assert [runner.run({}).output for _ in range(3)] == [{"c": 1}, {"c": 2}, {"c": 3}]


def test_expressions_are_compiled_once_per_graph_not_per_run():
    graph = Graph.from_dict(chain(node("s", "start"), node("t", "transform",
                                                           mapping={"v": "1"})))
    Runner(graph).run({})
    compiled = graph.compiler.expression("1")
    Runner(graph).run({})
    assert graph.compiler.expression("1") is compiled
    assert len(graph._runtime_cache) == 1


def test_services_are_handed_to_nodes():
    calls = Calls()
    run(chain(node("s", "start"), node("c", "count")), {}, services={"calls": calls})
    assert calls.counts == {"c": 1}


def test_no_thread_pool_is_created_for_a_graph_without_blocking_nodes(monkeypatch):
    import workflows.engine.runner as runner_module

    def refuse(*args, **kwargs):
        raise AssertionError("a pool was created")

    monkeypatch.setattr(runner_module, "ThreadPoolExecutor", refuse)
    result = run(chain(node("s", "start"), node("t", "transform", mapping={"v": "1"})), {})
    assert result.status == "completed"


def test_the_checkpoint_of_a_result_is_serialisable():
    import json

    result = run(chain(node("s", "start"), node("t", "transform", mapping={"v": "1"})), {})
    checkpoint = result.checkpoint()
    assert json.loads(json.dumps(checkpoint)) == {
        "s": {"status": "completed", "output": {}, "handles": None},
        "t": {"status": "completed", "output": {"v": 1}, "handles": None}}


def test_engine_overhead_per_node_is_far_below_50_microseconds():
    nodes = [node("s", "start")] + [
        node(f"t-{i}", "transform", mapping={"value": "value + 1"}) for i in range(100)]
    runner = Runner(Graph.from_dict(chain(*nodes, node("e", "end"))))
    assert runner.run({"value": 0}).output == {"value": 100}
    best = min(_timed(runner) for _ in range(5))
    # About 3-6 us per node on the reference machine (bench/RESULTS.md); a wide margin here.
    assert best / 102 < 50e-6, best


def _timed(runner: Runner) -> float:
    started = time.perf_counter()
    runner.run({"value": 0})
    return time.perf_counter() - started
