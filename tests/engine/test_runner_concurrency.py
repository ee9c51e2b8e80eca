"""Blocking nodes run on worker threads so that independent I/O branches overlap."""

import time

from workflows.engine import Graph, Runner

from .helpers import REGISTRY, Calls, document, edge, node


def parallel_graph(ms: int, branches: int = 2) -> dict:
    nodes = [node("s", "start"), node("e", "end")]
    edges = []
    for index in range(branches):
        nodes.append(node(f"z{index}", "sleep", ms=ms))
        edges += [edge("s", f"z{index}"), edge(f"z{index}", "e")]
    return document(nodes, edges)


def timed_run(doc: dict, **kwargs):
    runner = Runner(Graph.from_dict(doc), registry=REGISTRY, services={"calls": Calls()},
                    **kwargs)
    started = time.perf_counter()
    result = runner.run({})
    return result, time.perf_counter() - started


def test_two_200ms_sleeping_branches_finish_in_about_200ms_not_400():
    result, elapsed = timed_run(parallel_graph(200))
    assert result.status == "completed"
    assert result.output == {"z0": "done", "z1": "done"}
    assert 0.19 <= elapsed < 0.35


def test_max_workers_bounds_the_overlap():
    result, elapsed = timed_run(parallel_graph(100, branches=2), max_workers=1)
    assert result.status == "completed"
    assert elapsed >= 0.19


def test_pure_nodes_run_while_blocking_ones_are_in_flight():
    doc = document(
        [node("s", "start"), node("z", "sleep", ms=150),
         node("t1", "transform", mapping={"a": "1"}), node("t2", "transform", mapping={"b": "a"}),
         node("e", "end")],
        [edge("s", "z"), edge("s", "t1"), edge("t1", "t2"), edge("z", "e"), edge("t2", "e")],
    )
    result, elapsed = timed_run(doc)
    assert result.output == {"z": "done", "b": 1}
    t2, z = result.node_results["t2"], result.node_results["z"]
    assert t2.finished_at < z.finished_at  # the pure branch did not wait for the sleeper
    assert elapsed < 0.3


def test_loop_items_overlap_up_to_max_concurrency():
    doc = document(
        [node("s", "start"),
         node("l", "loop", items_path="[1, 2, 3, 4]", max_concurrency=4),
         node("z", "sleep", parent="l", ms=100), node("e", "end")],
        [edge("s", "l"), edge("l", "e")],
    )
    result, elapsed = timed_run(doc)
    assert result.status == "completed"
    assert result.output == {"items": [{"z": "done"}] * 4}
    assert elapsed < 0.3

    doc["nodes"][1]["data"]["max_concurrency"] = 1
    result, elapsed = timed_run(doc)
    assert elapsed >= 0.39
