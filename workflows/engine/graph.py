"""The workflow graph model: nodes, edges and per-node policies, built from React Flow JSON."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from .errors import GraphFormatError, Issue
from .expressions import Compiler

ON_ERROR_CHOICES = ("fail", "continue", "branch")
ERROR_HANDLE = "error"
MAX_ATTEMPTS = 10
MAX_BACKOFF_MS = 600_000
MAX_TIMEOUT_MS = 86_400_000
# Hosts record node ids in columns of this width.
MAX_NODE_ID_LENGTH = 200
POLICY_KEYS = ("retry", "timeout_ms", "on_error")


@dataclass(frozen=True, slots=True)
class Policy:
    """How the runner treats a node's failures: retries, time limit and what failing means.

    Retries wait `backoff_ms`, doubling after each failed attempt (capped at MAX_BACKOFF_MS).
    `timeout_ms` bounds each attempt of a blocking node.
    """

    max_attempts: int = 1
    backoff_ms: int = 0
    timeout_ms: int | None = None
    on_error: str = "fail"

    def backoff_s(self, failed_attempt: int) -> float:
        """Seconds to wait after the `failed_attempt`-th attempt failed (exponential)."""
        if not self.backoff_ms:
            return 0.0
        return min(self.backoff_ms * 2 ** (failed_attempt - 1), MAX_BACKOFF_MS) / 1000


DEFAULT_POLICY = Policy()


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_policy(node: dict[str, Any]) -> tuple[Policy, list[str]]:
    """The node's policy (keys in `data`, else at the node's top level) and its problems."""
    data = node.get("data") if isinstance(node.get("data"), dict) else {}
    values = {key: data[key] if key in data else node.get(key) for key in POLICY_KEYS}
    problems: list[str] = []
    retry = values["retry"]
    max_attempts, backoff_ms = 1, 0
    if retry is not None:
        if not isinstance(retry, dict):
            problems.append("retry must be an object {max_attempts, backoff_ms}.")
        else:
            unknown = set(retry) - {"max_attempts", "backoff_ms"}
            if unknown:
                problems.append(f"retry has unknown keys: {', '.join(sorted(map(str, unknown)))}.")
            attempts = retry.get("max_attempts", 1)
            if _whole(attempts) and 1 <= attempts <= MAX_ATTEMPTS:
                max_attempts = attempts
            else:
                problems.append(
                    f"retry.max_attempts must be a whole number from 1 to {MAX_ATTEMPTS}."
                )
            backoff = retry.get("backoff_ms", 0)
            if _whole(backoff) and 0 <= backoff <= MAX_BACKOFF_MS:
                backoff_ms = backoff
            else:
                problems.append(
                    f"retry.backoff_ms must be a whole number from 0 to {MAX_BACKOFF_MS}."
                )
    timeout = values["timeout_ms"]
    timeout_ms = None
    if timeout is not None:
        if _whole(timeout) and 1 <= timeout <= MAX_TIMEOUT_MS:
            timeout_ms = timeout
        else:
            problems.append(f"timeout_ms must be a whole number from 1 to {MAX_TIMEOUT_MS}.")
    on_error = values["on_error"]
    if on_error is None:
        on_error = "fail"
    elif on_error not in ON_ERROR_CHOICES:
        problems.append(f"on_error must be one of {', '.join(ON_ERROR_CHOICES)}.")
        on_error = "fail"
    policy = Policy(max_attempts, backoff_ms, timeout_ms, on_error)
    return (DEFAULT_POLICY if policy == DEFAULT_POLICY else policy), problems


@dataclass(eq=False, slots=True)
class Node:
    """One node: `data` is its config (`label` there is cosmetic)."""

    id: str
    type: str
    data: dict[str, Any]
    parent_id: str | None = None
    position: Any = None
    policy: Policy = DEFAULT_POLICY
    policy_problems: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The node's display label, or its id."""
        label = self.data.get("label")
        return label if isinstance(label, str) and label else self.id


@dataclass(eq=False, slots=True)
class Edge:
    """A directed edge; `source_handle` picks the branch (condition "true"/"false", "error")."""

    id: str | None
    source: str
    target: str
    source_handle: str | None = None


@dataclass(eq=False)
class Graph:
    """A workflow graph with its adjacency precomputed; treat it as immutable once built."""

    nodes: dict[str, Node]
    edges: list[Edge]
    raw: dict[str, Any] = field(repr=False, default_factory=dict)
    outgoing: dict[str, list[Edge]] = field(init=False, repr=False)
    incoming: dict[str, list[Edge]] = field(init=False, repr=False)
    children: dict[str | None, list[str]] = field(init=False, repr=False)
    _compiler: Compiler | None = field(init=False, repr=False, default=None)
    _runtime_cache: dict[Any, Any] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.outgoing = {node_id: [] for node_id in self.nodes}
        self.incoming = {node_id: [] for node_id in self.nodes}
        # Children of each scope: None is the top level, a loop's id its body.
        self.children = {None: []}
        for node in self.nodes.values():
            self.children.setdefault(node.parent_id, []).append(node.id)
        for edge in self.edges:
            # Dangling edges are reported by validation; the runner never follows them.
            if edge.source in self.nodes and edge.target in self.nodes:
                self.outgoing[edge.source].append(edge)
                self.incoming[edge.target].append(edge)

    @classmethod
    def from_dict(cls, document: Any) -> Graph:
        """Build a graph; raises GraphFormatError when the document is structurally malformed."""
        graph, problems = parse_graph(document, copy_input=True)
        if problems:
            listed = "; ".join(issue.message for issue in problems[:5])
            more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            raise GraphFormatError(f"The graph is malformed: {listed}{more}")
        return graph

    def to_dict(self) -> dict[str, Any]:
        """The graph document exactly as it was given to `from_dict`."""
        return copy.deepcopy(self.raw)

    @property
    def compiler(self) -> Compiler:
        """Expression and template compiler of this graph (cached, knows the node ids)."""
        if self._compiler is None:
            self._compiler = Compiler(self.nodes)
        return self._compiler

    def top_level(self) -> list[str]:
        """Ids of the nodes outside any loop body."""
        return self.children[None]


def _issue(code: str, message: str, node_id: str | None = None) -> Issue:
    return Issue(node_id, code, message)


def parse_graph(document: Any, *, copy_input: bool = False) -> tuple[Graph, list[Issue]]:
    """Parse leniently: the graph of every well-formed part, and an issue per malformed part.

    Codes: INVALID_GRAPH (shape), DUPLICATE_NODE_ID, DUPLICATE_EDGE_ID.
    """
    problems: list[Issue] = []
    if not isinstance(document, dict):
        kind = type(document).__name__
        problems.append(_issue("INVALID_GRAPH", f"The graph must be an object, not {kind}."))
        return Graph({}, [], {}), problems
    if copy_input:
        document = copy.deepcopy(document)
    raw_nodes = document.get("nodes", [])
    raw_edges = document.get("edges", [])
    if not isinstance(raw_nodes, list):
        problems.append(_issue("INVALID_GRAPH", "'nodes' must be a list."))
        raw_nodes = []
    if raw_edges is None:
        raw_edges = []
    if not isinstance(raw_edges, list):
        problems.append(_issue("INVALID_GRAPH", "'edges' must be a list."))
        raw_edges = []
    nodes: dict[str, Node] = {}
    for index, raw in enumerate(raw_nodes):
        node = _parse_node(raw, index, problems)
        if node is None:
            continue
        if node.id in nodes:
            problems.append(_issue("DUPLICATE_NODE_ID",
                                   f"Two nodes have the id '{node.id}'.", node.id))
            continue
        nodes[node.id] = node
    edges: list[Edge] = []
    seen_edges: set[str] = set()
    for index, raw in enumerate(raw_edges):
        edge = _parse_edge(raw, index, problems)
        if edge is None:
            continue
        if edge.id is not None:
            if edge.id in seen_edges:
                problems.append(_issue("DUPLICATE_EDGE_ID", f"Two edges have the id '{edge.id}'."))
                continue
            seen_edges.add(edge.id)
        edges.append(edge)
    return Graph(nodes, edges, document), problems


def _parse_node(raw: Any, index: int, problems: list[Issue]) -> Node | None:
    if not isinstance(raw, dict):
        problems.append(_issue("INVALID_GRAPH", f"Node #{index + 1} must be an object."))
        return None
    node_id = raw.get("id")
    if not isinstance(node_id, str) or not node_id:
        problems.append(_issue("INVALID_GRAPH", f"Node #{index + 1} needs a string 'id'."))
        return None
    if len(node_id) > MAX_NODE_ID_LENGTH:
        problems.append(_issue("INVALID_GRAPH", f"Node #{index + 1}: the id is longer than "
                                                f"{MAX_NODE_ID_LENGTH} characters."))
        return None
    node_type = raw.get("type")
    if not isinstance(node_type, str) or not node_type:
        problems.append(_issue("INVALID_GRAPH", f"Node '{node_id}' needs a string 'type'.",
                               node_id))
        return None
    data = raw.get("data")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(_issue("INVALID_GRAPH", f"Node '{node_id}': 'data' must be an object.",
                               node_id))
        return None
    parent = raw.get("parentId", raw.get("parentNode"))
    if parent is not None and (not isinstance(parent, str) or not parent):
        problems.append(_issue("INVALID_GRAPH",
                               f"Node '{node_id}': 'parentId' must be a node id or null.",
                               node_id))
        return None
    policy, policy_problems = parse_policy(raw)
    return Node(node_id, node_type, data, parent, raw.get("position"), policy,
                tuple(policy_problems))


def _parse_edge(raw: Any, index: int, problems: list[Issue]) -> Edge | None:
    if not isinstance(raw, dict):
        problems.append(_issue("INVALID_GRAPH", f"Edge #{index + 1} must be an object."))
        return None
    edge_id = raw.get("id")
    if edge_id is not None and not isinstance(edge_id, str):
        problems.append(_issue("INVALID_GRAPH", f"Edge #{index + 1}: 'id' must be a string."))
        return None
    name = f"Edge '{edge_id}'" if edge_id else f"Edge #{index + 1}"
    source, target = raw.get("source"), raw.get("target")
    if not isinstance(source, str) or not isinstance(target, str) or not source or not target:
        problems.append(_issue("INVALID_GRAPH", f"{name} needs string 'source' and 'target'."))
        return None
    handle = raw.get("sourceHandle")
    if handle is not None and not isinstance(handle, str):
        problems.append(_issue("INVALID_GRAPH", f"{name}: 'sourceHandle' must be a string."))
        return None
    return Edge(edge_id, source, target, handle or None)
