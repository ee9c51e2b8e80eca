"""Graph builders, test-only node types, reporters and controls for the engine tests."""

import itertools
import threading
import time
from typing import Any

from workflows.engine import (
    Field,
    Graph,
    NodeContext,
    NodeError,
    NodeRegistry,
    NodeType,
    Reporter,
    Suspend,
    default_registry,
)


def node(node_id: str, node_type: str, parent: str | None = None, **data: Any) -> dict:
    """A node document; policy keys go in `data` like the front end puts them."""
    return {"id": node_id, "type": node_type, "position": {"x": 0, "y": 0}, "parentId": parent,
            "data": data}


def edge(source: str, target: str, handle: str | None = None, edge_id: str | None = None
         ) -> dict:
    """An edge document."""
    return {"id": edge_id or f"{source}->{target}:{handle}", "source": source,
            "target": target, "sourceHandle": handle}


def document(nodes: list[dict], edges: list[dict]) -> dict:
    """A graph document."""
    return {"nodes": nodes, "edges": edges}


def chain(*nodes: dict) -> dict:
    """A graph whose nodes are connected one after the other."""
    edges = [edge(a["id"], b["id"]) for a, b in itertools.pairwise(nodes)]
    return document(list(nodes), edges)


def graph(nodes: list[dict], edges: list[dict]) -> Graph:
    """A Graph from node and edge documents."""
    return Graph.from_dict(document(nodes, edges))


class Calls:
    """Counts calls per node id, thread-safely."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()

    def hit(self, node_id: str) -> int:
        with self.lock:
            self.counts[node_id] = self.counts.get(node_id, 0) + 1
            return self.counts[node_id]


class SleepNode(NodeType):
    """Test-only blocking node: sleeps `ms`, then outputs `{node_id: "done"}`."""

    type_name = "sleep"
    blocking = True
    config_fields = (Field("ms", "int", default=0),)

    def run(self, ctx: NodeContext) -> dict:
        deadline = time.monotonic() + ctx.config.get("ms", 0) / 1000
        while time.monotonic() < deadline:
            if ctx.cancel_requested():
                return {"cancelled": True}
            time.sleep(0.005)
        calls = ctx.services.get("calls")
        if calls is not None:
            calls.hit(ctx.node_id)
        ctx.log("info", "slept", ms=ctx.config.get("ms", 0))
        return {ctx.node_id: "done"}


class CountNode(NodeType):
    """Test-only pure node: counts its runs in services["calls"], outputs `{node_id: n}`."""

    type_name = "count"

    def run(self, ctx: NodeContext) -> dict:
        return {ctx.node_id: ctx.services["calls"].hit(ctx.node_id)}


class FlakyNode(NodeType):
    """Test-only node failing its first `failures` attempts (blocking when configured)."""

    type_name = "flaky"
    config_fields = (Field("failures", "int", default=1),)

    def run(self, ctx: NodeContext) -> dict:
        attempts = ctx.services["calls"].hit(ctx.node_id)
        ctx.services.setdefault("times", []).append(time.monotonic())
        if attempts <= ctx.config.get("failures", 1):
            raise NodeError(f"flaky failure {attempts}")
        return {"attempts": attempts}


class BlockingFlakyNode(FlakyNode):
    """FlakyNode on a worker thread."""

    type_name = "blocking_flaky"
    blocking = True


class BoomNode(NodeType):
    """Test-only node raising a plain Python exception."""

    type_name = "boom"

    def run(self, ctx: NodeContext) -> dict:
        raise ValueError("kaboom")


class AskNode(NodeType):
    """Test-only approval-like node: suspends the run."""

    type_name = "ask"

    def run(self, ctx: NodeContext) -> dict:
        raise Suspend("Approve?", {"question": "Approve?"})


class BadOutputNode(NodeType):
    """Test-only node returning a non-object."""

    type_name = "bad_output"

    def run(self, ctx: NodeContext) -> Any:
        return [1, 2]


class SetOutputNode(NodeType):
    """Test-only node returning an object that holds a set, which JSON cannot hold."""

    type_name = "set_output"

    def run(self, ctx: NodeContext) -> Any:
        return {"tags": {"a", "b"}}


class SelfOutputNode(NodeType):
    """Test-only node returning an object that holds itself."""

    type_name = "self_output"

    def run(self, ctx: NodeContext) -> Any:
        output: dict = {"n": float("nan")}
        output["self"] = output
        return output


def make_registry() -> NodeRegistry:
    """The default registry plus the test-only node types."""
    registry = default_registry.copy()
    for node_class in (SleepNode, CountNode, FlakyNode, BlockingFlakyNode, BoomNode, AskNode,
                       BadOutputNode, SetOutputNode, SelfOutputNode):
        registry.register(node_class)
    return registry


REGISTRY = make_registry()


class RecordingReporter(Reporter):
    """Records every event with the thread it came from."""

    def __init__(self) -> None:
        self.events: list[tuple] = []
        self.threads: set[int] = set()

    def _add(self, *event: Any) -> None:
        self.threads.add(threading.get_ident())
        self.events.append(event)

    def node_started(self, node_id: str, node_type: str, input: Any, attempt: int) -> None:
        self._add("started", node_id, attempt)

    def node_finished(self, node_id: str, node_type: str, result: Any) -> None:
        self._add("finished", node_id, result.status)

    def node_failed(self, node_id: str, node_type: str, result: Any) -> None:
        self._add("failed", node_id, result.error)

    def node_skipped(self, node_id: str, node_type: str, result: Any) -> None:
        self._add("skipped", node_id)

    def log(self, node_id: Any, node_type: Any, level: str, message: str, data: Any) -> None:
        self._add("log", node_id, level, message)

    def progress(self, percent: int, current_node: Any) -> None:
        self._add("progress", percent)

    def of(self, kind: str) -> list[tuple]:
        return [event for event in self.events if event[0] == kind]


class StopAfter:
    """A control answering `decision` once `count` nodes were asked about."""

    def __init__(self, count: int, decision: str) -> None:
        self.count = count
        self.decision = decision
        self.asked = 0

    def should_stop(self) -> str | None:
        self.asked += 1
        return self.decision if self.asked > self.count else None
