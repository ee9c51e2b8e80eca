"""Checkpoints, resuming, waiting nodes (Suspend), cancel and pause."""

import time

from workflows.engine import Graph, Runner, checkpoint_from_results

from .helpers import REGISTRY, Calls, RecordingReporter, StopAfter, chain, document, edge, node


def counting_chain() -> dict:
    return chain(node("s", "start"), node("c1", "count"), node("c2", "count"),
                 node("c3", "count"), node("e", "end"))


def runner(doc: dict, calls: Calls, reporter=None) -> Runner:
    return Runner(Graph.from_dict(doc), registry=REGISTRY, services={"calls": calls},
                  reporter=reporter)


def test_checkpointed_nodes_are_not_run_again_and_their_outputs_feed_successors():
    calls = Calls()
    checkpoint = {"s": {"status": "completed", "output": {}, "handles": None},
                  "c1": {"status": "completed", "output": {"c1": 41}, "handles": None}}
    reporter = RecordingReporter()
    result = runner(counting_chain(), calls, reporter).run({}, checkpoint=checkpoint)
    assert result.status == "completed"
    assert calls.counts == {"c2": 1, "c3": 1}
    assert result.node_results["c1"].restored
    assert [e[1] for e in reporter.of("started")] == ["c2", "c3", "e"]
    assert result.output == {"c3": 1}


def test_checkpoint_handles_route_branches():
    calls = Calls()
    doc = document(
        [node("s", "start"), node("cond", "condition", expression="boom()" if False else "x"),
         node("yes", "count"), node("no", "count"), node("e", "end")],
        [edge("s", "cond"), edge("cond", "yes", "true"), edge("cond", "no", "false"),
         edge("yes", "e"), edge("no", "e")],
    )
    checkpoint = {"s": {"status": "completed", "output": {}},
                  "cond": {"status": "completed", "output": {}, "handles": ["false"]}}
    result = runner(doc, calls).run({}, checkpoint=checkpoint)
    assert result.status == "completed"
    assert calls.counts == {"no": 1}
    assert result.node_results["yes"].status == "skipped"


def test_failed_nodes_with_continue_or_branch_are_restored_from_the_checkpoint():
    calls = Calls()
    doc = document(
        [node("s", "start"), node("b", "boom", on_error="branch"), node("ok", "count"),
         node("handler", "count"), node("e", "end")],
        [edge("s", "b"), edge("b", "ok"), edge("b", "handler", "error"), edge("ok", "e"),
         edge("handler", "e")],
    )
    checkpoint = {"s": {"status": "completed", "output": {}},
                  "b": {"status": "failed", "output": {"error": "x"}, "handles": None}}
    result = runner(doc, calls).run({}, checkpoint=checkpoint)
    assert calls.counts == {"handler": 1}
    assert result.output == {"handler": 1}


def test_a_run_resumed_from_its_own_checkpoint_reruns_nothing():
    calls = Calls()
    first = runner(counting_chain(), calls).run({})
    again = runner(counting_chain(), calls).run({}, checkpoint=first.checkpoint())
    assert again.status == "completed"
    assert again.output == first.output == {"c3": 1}
    assert calls.counts == {"c1": 1, "c2": 1, "c3": 1}


def approval_graph() -> dict:
    return document(
        [node("s", "start"), node("ask", "ask"), node("after", "count"),
         node("side", "count"), node("e", "end")],
        [edge("s", "ask"), edge("ask", "after"), edge("s", "side"), edge("after", "e"),
         edge("side", "e")],
    )


def test_suspend_makes_the_run_wait_and_a_checkpoint_answer_resumes_it():
    calls = Calls()
    first = runner(approval_graph(), calls).run({})
    assert first.status == "waiting"
    assert first.waiting_node == "ask"
    waiting = first.node_results["ask"]
    assert waiting.status == "waiting" and waiting.output == {"question": "Approve?"}
    assert "ask" not in first.checkpoint()
    assert "after" not in first.node_results
    assert first.node_results["side"].status == "completed"  # other branches go on
    assert "e" not in first.node_results

    checkpoint = first.checkpoint()
    checkpoint["ask"] = {"status": "completed", "output": {"approved": True, "by": "ada"},
                         "handles": None}
    second = runner(approval_graph(), calls).run({}, checkpoint=checkpoint)
    assert second.status == "completed"
    assert calls.counts == {"side": 1, "after": 1}  # side was not run again
    assert second.node_results["after"].status == "completed"
    assert second.output == {"after": 1, "side": 1}


def test_cancel_between_nodes_returns_cancelled_with_results_so_far():
    calls = Calls()
    result = runner(counting_chain(), calls).run({}, control=StopAfter(2, "cancel"))
    assert result.status == "cancelled"
    assert list(result.node_results) == ["s", "c1"]
    assert calls.counts == {"c1": 1}


def test_pause_between_nodes_returns_a_checkpoint_to_resume_from():
    calls = Calls()
    paused = runner(counting_chain(), calls).run({}, control=StopAfter(3, "pause"))
    assert paused.status == "paused"
    assert set(paused.checkpoint()) == {"s", "c1", "c2"}
    resumed = runner(counting_chain(), calls).run({}, checkpoint=paused.checkpoint())
    assert resumed.status == "completed"
    assert calls.counts == {"c1": 1, "c2": 1, "c3": 1}


def test_pause_lets_in_flight_blocking_nodes_finish():
    doc = chain(node("s", "start"), node("z", "sleep", ms=100), node("t", "count"),
                node("e", "end"))
    calls = Calls()
    result = runner(doc, calls).run({}, control=StopAfter(2, "pause"))
    assert result.status == "paused"
    assert result.node_results["z"].status == "completed"
    assert "t" not in result.node_results


def test_cancel_does_not_wait_for_in_flight_blocking_nodes():
    doc = chain(node("s", "start"), node("z", "sleep", ms=3000), node("e", "end"))

    class CancelSoon:
        def __init__(self) -> None:
            self.started = time.monotonic()

        def should_stop(self):
            return "cancel" if time.monotonic() - self.started > 0.05 else None

    started = time.monotonic()
    result = runner(doc, Calls()).run({}, control=CancelSoon())
    assert result.status == "cancelled"
    assert time.monotonic() - started < 1.0
    assert "z" not in result.node_results


def test_control_is_asked_between_loop_items():
    doc = document(
        [node("s", "start"), node("l", "loop", items_path="[1, 2, 3, 4, 5]"),
         node("c", "count", parent="l"), node("e", "end")],
        [edge("s", "l"), edge("l", "e")],
    )
    calls = Calls()
    result = runner(doc, calls).run({}, control=StopAfter(4, "cancel"))
    assert result.status == "cancelled"
    assert calls.counts == {"c": 2}


def test_checkpoint_from_results_keeps_only_finished_nodes():
    first = runner(approval_graph(), Calls()).run({})
    checkpoint = checkpoint_from_results(first.node_results)
    assert set(checkpoint) == {"s", "side"}
    assert all(entry["status"] == "completed" for entry in checkpoint.values())
