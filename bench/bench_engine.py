"""Graph engine micro-benchmarks (plain Python, no Django, no services).

Measures:
  1. engine overhead per node: a 100-node chain of transforms (`{"value": "value + 1"}`) run by
     the Runner, against a plain-Python loop doing the same arithmetic and building the same
     dicts; reports microseconds per node of the engine minus the baseline;
  2. validation of a 1,000-node graph (distinct expressions, node references, conditions),
     against a bare topological sort of the same dicts.

Run:  .venv/bin/python bench/bench_engine.py [--repeat 15]
"""

import argparse
import os
import platform
import statistics
import sys
import timeit
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workflows.engine import Graph, Reporter, Runner, validate


def chain_graph(length: int) -> dict:
    """start -> t-1 ... t-N -> end, each transform adding one."""
    nodes = [{"id": "start", "type": "start", "position": {"x": 0, "y": 0}, "data": {}}]
    edges = []
    previous = "start"
    for index in range(1, length + 1):
        node_id = f"t-{index}"
        nodes.append({"id": node_id, "type": "transform", "position": {"x": index, "y": 0},
                      "data": {"mapping": {"value": "value + 1"}}})
        edges.append({"id": f"e{index}", "source": previous, "target": node_id})
        previous = node_id
    nodes.append({"id": "end", "type": "end", "position": {"x": length + 1, "y": 0}, "data": {}})
    edges.append({"id": "e-end", "source": previous, "target": "end"})
    return {"nodes": nodes, "edges": edges}


def wide_graph(size: int) -> dict:
    """A 1,000-node graph: a chain of transforms with distinct expressions, every tenth a
    condition with both branches joining again, references to earlier nodes by id."""
    nodes = [{"id": "start", "type": "start", "data": {}}]
    edges = []
    previous = "start"
    index = 1
    while len(nodes) < size - 1:
        node_id = f"node-{index}"
        if index % 10 == 0 and len(nodes) < size - 4:
            yes, no = f"{node_id}-yes", f"{node_id}-no"
            nodes += [
                {"id": node_id, "type": "condition", "data": {"expression": f"value > {index}"}},
                {"id": yes, "type": "transform", "data": {"mapping": {"value": "value - 1"}}},
                {"id": no, "type": "transform", "data": {"mapping": {"value": "value + 1"}}},
            ]
            edges += [
                {"id": f"e{index}", "source": previous, "target": node_id},
                {"id": f"e{index}t", "source": node_id, "target": yes, "sourceHandle": "true"},
                {"id": f"e{index}f", "source": node_id, "target": no, "sourceHandle": "false"},
            ]
            join = f"{node_id}-join"
            nodes.append({"id": join, "type": "transform",
                          "data": {"mapping": {"value": f"value * 2 + {index}"}}})
            edges += [{"id": f"e{index}j1", "source": yes, "target": join},
                      {"id": f"e{index}j2", "source": no, "target": join}]
            previous = join
        else:
            earlier = f"node-{index - 1}" if index > 1 and (index - 1) % 10 else "start"
            expression = f"value + {index}" if earlier == "start" else \
                f"value + {{{earlier}.value}} * {index}"
            nodes.append({"id": node_id, "type": "transform",
                          "data": {"mapping": {"value": expression, "label": f"'n{index}'"}}})
            edges.append({"id": f"e{index}", "source": previous, "target": node_id})
            previous = node_id
        index += 1
    nodes.append({"id": "end", "type": "end", "data": {}})
    edges.append({"id": "e-end", "source": previous, "target": "end"})
    return {"nodes": nodes, "edges": edges}


def baseline_chain(length: int) -> dict:
    """The same work without the engine: one loop building a dict per step."""
    data = {"value": 0}
    for _ in range(length):
        data = {"value": data["value"] + 1}
    return data


def baseline_toposort(document: dict) -> list:
    """A bare Kahn topological sort over the graph's dicts."""
    indegree = {node["id"]: 0 for node in document["nodes"]}
    successors: dict[str, list[str]] = {node_id: [] for node_id in indegree}
    for edge in document["edges"]:
        successors[edge["source"]].append(edge["target"])
        indegree[edge["target"]] += 1
    ready = deque(node_id for node_id, degree in indegree.items() if degree == 0)
    order = []
    while ready:
        node_id = ready.popleft()
        order.append(node_id)
        for target in successors[node_id]:
            indegree[target] -= 1
            if not indegree[target]:
                ready.append(target)
    return order


def measure(fn, repeat: int, number: int) -> tuple[float, float]:
    """(median, min) seconds per call."""
    times = [t / number for t in timeit.repeat(fn, repeat=repeat, number=number)]
    return statistics.median(times), min(times)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    length = 100
    graph = Graph.from_dict(chain_graph(length))
    runner = Runner(graph)
    reported = Runner(graph, reporter=Reporter())
    result = runner.run({"value": 0})
    assert result.status == "completed" and result.output == {"value": length}, result
    assert baseline_chain(length) == {"value": length}
    nodes = length + 2

    engine_med, engine_min = measure(lambda: runner.run({"value": 0}), args.repeat, 50)
    report_med, report_min = measure(lambda: reported.run({"value": 0}), args.repeat, 50)
    base_med, base_min = measure(lambda: baseline_chain(length), args.repeat, 2000)

    document = wide_graph(1000)
    check = validate(document)
    assert check.valid, check.errors[:3]
    assert len(document["nodes"]) == 1000
    valid_med, valid_min = measure(lambda: validate(document), args.repeat, 3)
    topo_med, topo_min = measure(lambda: baseline_toposort(document), args.repeat, 50)
    graph_med, graph_min = measure(lambda: Graph.from_dict(document), args.repeat, 3)

    def us(seconds: float, per: int = 1) -> str:
        return f"{seconds / per * 1e6:9.2f}"

    def ms(seconds: float) -> str:
        return f"{seconds * 1e3:9.2f}"

    print(f"Machine: {machine()}")
    print()
    print(f"1. Run of a {length}-transform chain ({nodes} nodes with start and end)")
    print(f"   {'':42} {'median':>9} {'min':>9}")
    print(f"   {'engine, per run (ms)':42} {ms(engine_med)} {ms(engine_min)}")
    print(f"   {'engine, per node (us)':42} {us(engine_med, nodes)} {us(engine_min, nodes)}")
    print(f"   {'engine + no-op Reporter, per node (us)':42} {us(report_med, nodes)} "
          f"{us(report_min, nodes)}")
    print(f"   {'baseline loop, per step (us)':42} {us(base_med, length)} {us(base_min, length)}")
    overhead_med = engine_med / nodes - base_med / length
    overhead_min = engine_min / nodes - base_min / length
    print(f"   {'overhead = engine - baseline, per node (us)':42} "
          f"{us(overhead_med)} {us(overhead_min)}")
    print()
    print(f"2. Validation of a {len(document['nodes'])}-node graph "
          f"({len(document['edges'])} edges)")
    print(f"   {'':42} {'median':>9} {'min':>9}")
    print(f"   {'validate(document) (ms)':42} {ms(valid_med)} {ms(valid_min)}")
    print(f"   {'Graph.from_dict(document) (ms)':42} {ms(graph_med)} {ms(graph_min)}")
    print(f"   {'baseline topological sort (ms)':42} {ms(topo_med)} {ms(topo_min)}")
    print(f"   {'validate per node (us)':42} {us(valid_med, 1000)} {us(valid_min, 1000)}")


if __name__ == "__main__":
    main()
