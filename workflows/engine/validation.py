"""Graph validation: every problem at once, with stable codes; never raises on bad input.

Error codes
-----------
| code | meaning |
| --- | --- |
| INVALID_GRAPH | the document is malformed (not an object, a node without an id...) |
| DUPLICATE_NODE_ID / DUPLICATE_EDGE_ID | two nodes / edges share an id |
| NO_START_NODE | no `start` (or `input`) node at the top level |
| MULTIPLE_START_NODES | more than one `start` node (or, without one, several `input` nodes) |
| UNKNOWN_NODE_TYPE | the node's type is not registered |
| EDGE_SOURCE_MISSING / EDGE_TARGET_MISSING | an edge names a node that does not exist |
| INVALID_EDGE | an edge crosses a loop body's boundary or enters a start/input node |
| CYCLE | nodes of one scope (top level or a loop body) form a cycle |
| UNREACHABLE_NODE | a top-level node cannot be reached from the start node |
| CONDITION_BRANCH_MISSING | a condition lacks a "true" or "false" outgoing edge |
| INVALID_HANDLE | an edge's sourceHandle is not one the source node has |
| MISSING_CONFIG / INVALID_CONFIG | a config key is missing / has a wrong value (per type schema) |
| EXPRESSION_SYNTAX / TEMPLATE_SYNTAX | an expression / template does not compile |
| UNKNOWN_REFERENCE | a `{node-id...}` reference names a node that cannot have run before this one |
| LOOP_PARENT_MISSING | a node's parentId names no node |
| INVALID_PARENT | a node's parentId is not a loop (or parents form a cycle, or a start is inside) |
| ERROR_BRANCH_MISSING | on_error is "branch" but the node has no "error" edge |
| INVALID_POLICY | retry / timeout_ms / on_error is malformed |

Warning codes
-------------
| code | meaning |
| --- | --- |
| DEAD_BRANCH | a condition's expression is constant, so one branch never runs |
| UNUSED_OUTPUT | a top-level node's output goes nowhere (no outgoing edge, not output/end) |
| NO_END_NODE | no top-level output or end node: the run's output is its last nodes' merge |
| EMPTY_LOOP | a loop has no body nodes: its items pass through unchanged |
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import ExpressionError, Issue
from .graph import ERROR_HANDLE, Graph, parse_graph
from .nodes.base import NodeRegistry, NodeType
from .nodes.base import default_registry as _default_registry


@dataclass(slots=True)
class ValidationResult:
    """Validation outcome: `valid` is True when there is no error (warnings allowed)."""

    valid: bool
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The contract's `{valid, errors, warnings}` JSON shape."""
        return {"valid": self.valid, "errors": [i.to_dict() for i in self.errors],
                "warnings": [i.to_dict() for i in self.warnings]}


def validate(graph_or_dict: Graph | Any, registry: NodeRegistry | None = None
             ) -> ValidationResult:
    """Every problem of a graph (or graph document) at once."""
    try:
        return _Validator(graph_or_dict, registry or _default_registry).run()
    except Exception as exc:  # a validator must answer, even about inputs nobody foresaw
        issue = Issue(None, "INVALID_GRAPH", f"The graph could not be validated: {exc}")
        return ValidationResult(False, [issue], [])


class _Validator:
    def __init__(self, graph_or_dict: Graph | Any, registry: NodeRegistry) -> None:
        if isinstance(graph_or_dict, Graph):
            self.graph, self.errors = graph_or_dict, []
        else:
            self.graph, self.errors = parse_graph(graph_or_dict)
        self.registry = registry
        self.warnings: list[Issue] = []
        self.types: dict[str, NodeType | None] = {}
        self.scope: dict[str, str | None] = {}

    def error(self, node_id: str | None, code: str, message: str) -> None:
        self.errors.append(Issue(node_id, code, message))

    def warn(self, node_id: str | None, code: str, message: str) -> None:
        self.warnings.append(Issue(node_id, code, message))

    def run(self) -> ValidationResult:
        graph = self.graph
        if graph.nodes or not self.errors:
            self.check_types()
            self.check_parents()
            edges = self.check_edges()
            self.check_entries()
            order = self.check_cycles(edges)
            self.check_reachable(edges)
            self.check_nodes(edges, order)
        return ValidationResult(not self.errors, self.errors, self.warnings)

    # -- nodes and scopes ------------------------------------------------------------------------
    def check_types(self) -> None:
        for node in self.graph.nodes.values():
            impl = self.registry.instance(node.type)
            self.types[node.id] = impl
            if impl is None:
                known = ", ".join(self.registry.names())
                self.error(node.id, "UNKNOWN_NODE_TYPE",
                           f"Node '{node.id}' has unknown type '{node.type}' (known: {known}).")

    def check_parents(self) -> None:
        nodes = self.graph.nodes
        for node in nodes.values():
            parent = node.parent_id
            self.scope[node.id] = None
            if parent is None:
                continue
            if parent not in nodes:
                self.error(node.id, "LOOP_PARENT_MISSING",
                           f"Node '{node.id}' has parentId '{parent}', which is not a node.")
                continue
            impl = self.types.get(parent)
            if impl is not None and not impl.composite:
                self.error(node.id, "INVALID_PARENT",
                           f"Node '{node.id}' has parentId '{parent}', a {nodes[parent].type} "
                           "node; only loop nodes have children.")
                continue
            impl_self = self.types.get(node.id)
            if impl_self is not None and impl_self.entry:
                self.error(node.id, "INVALID_PARENT",
                           f"A {node.type} node cannot be inside a loop.")
                continue
            seen = {node.id}
            ancestor: str | None = parent
            while ancestor is not None and ancestor in nodes:
                if ancestor in seen:
                    self.error(node.id, "INVALID_PARENT",
                               f"Node '{node.id}' is (indirectly) its own parent.")
                    break
                seen.add(ancestor)
                ancestor = nodes[ancestor].parent_id
            else:
                self.scope[node.id] = parent

    def check_edges(self) -> list[tuple[str, str, str | None]]:
        """Edge problems; returns the in-scope edges (source, target, handle) to follow."""
        nodes = self.graph.nodes
        followed: list[tuple[str, str, str | None]] = []
        outgoing_handles: dict[str, set[str | None]] = {node_id: set() for node_id in nodes}
        for edge in self.graph.edges:
            name = f"Edge '{edge.id}'" if edge.id else f"Edge {edge.source}->{edge.target}"
            bad = False
            if edge.source not in nodes:
                self.error(None, "EDGE_SOURCE_MISSING",
                           f"{name} starts at '{edge.source}', which is not a node.")
                bad = True
            if edge.target not in nodes:
                self.error(None, "EDGE_TARGET_MISSING",
                           f"{name} ends at '{edge.target}', which is not a node.")
                bad = True
            if bad:
                continue
            if edge.source == edge.target:
                self.error(edge.source, "CYCLE", f"{name} connects node '{edge.source}' to itself.")
                continue
            source_scope, target_scope = self.scope[edge.source], self.scope[edge.target]
            if target_scope == edge.source:
                continue  # a loop pointing into its own body: drawn for clarity, not followed
            if source_scope != target_scope:
                self.error(edge.target, "INVALID_EDGE",
                           f"{name} crosses a loop body's boundary ('{edge.source}' -> "
                           f"'{edge.target}'); connect nodes of the same body or level.")
                continue
            target_impl = self.types.get(edge.target)
            if target_impl is not None and target_impl.entry:
                self.error(edge.target, "INVALID_EDGE",
                           f"{name} enters '{edge.target}', a {nodes[edge.target].type} node, "
                           "which cannot have incoming edges.")
                continue
            self.check_handle(name, edge.source, edge.source_handle)
            outgoing_handles[edge.source].add(edge.source_handle)
            followed.append((edge.source, edge.target, edge.source_handle))
        for node_id, handles in outgoing_handles.items():
            node = nodes[node_id]
            impl = self.types.get(node_id)
            for handle in impl.required_handles if impl else ():
                if handle not in handles:
                    self.error(node_id, "CONDITION_BRANCH_MISSING",
                               f"Node '{node_id}' has no outgoing edge for its '{handle}' "
                               f"branch (sourceHandle \"{handle}\").")
            if node.policy.on_error == "branch" and ERROR_HANDLE not in handles:
                self.error(node_id, "ERROR_BRANCH_MISSING",
                           f"Node '{node_id}' has on_error \"branch\" but no outgoing edge with "
                           "sourceHandle \"error\".")
        return followed

    def check_handle(self, name: str, source: str, handle: str | None) -> None:
        node = self.graph.nodes[source]
        impl = self.types.get(source)
        if handle == ERROR_HANDLE:
            if node.policy.on_error != "branch":
                self.error(source, "INVALID_HANDLE",
                           f"{name} leaves '{source}' by its \"error\" handle, which needs "
                           "on_error \"branch\" on that node.")
            return
        if impl is not None and impl.output_handles and handle not in impl.output_handles:
            allowed = " or ".join(f'"{h}"' for h in impl.output_handles)
            shown = "no sourceHandle" if handle is None else f'sourceHandle "{handle}"'
            self.error(source, "INVALID_HANDLE",
                       f"{name} leaves {node.type} node '{source}' with {shown}; use {allowed}.")

    def check_entries(self) -> None:
        top = [n for n in self.graph.top_level() if self.scope.get(n) is None]
        starts = [n for n in top if self.graph.nodes[n].type == "start"]
        entries = [n for n in top if (impl := self.types.get(n)) is not None and impl.entry]
        if not entries:
            self.error(None, "NO_START_NODE", "The graph has no start node.")
        elif len(starts) > 1:
            for node_id in starts[1:]:
                self.error(node_id, "MULTIPLE_START_NODES",
                           f"The graph has {len(starts)} start nodes; keep one.")
        elif not starts and len(entries) > 1:
            for node_id in entries[1:]:
                self.error(node_id, "MULTIPLE_START_NODES",
                           f"The graph has {len(entries)} input nodes and no start node; "
                           "keep one entry point.")
        self.entries = entries

    # -- order, cycles, reachability -----------------------------------------------------------
    def check_cycles(self, edges: list[tuple[str, str, str | None]]) -> list[str]:
        """A topological order of every acyclic node; one CYCLE error per cyclic scope."""
        indegree = dict.fromkeys(self.graph.nodes, 0)
        successors: dict[str, list[str]] = {node_id: [] for node_id in self.graph.nodes}
        for source, target, _ in edges:
            successors[source].append(target)
            indegree[target] += 1
        ready = deque(n for n, d in indegree.items() if d == 0)
        order: list[str] = []
        while ready:
            node_id = ready.popleft()
            order.append(node_id)
            for target in successors[node_id]:
                indegree[target] -= 1
                if indegree[target] == 0:
                    ready.append(target)
        if len(order) < len(indegree):
            done = set(order)
            by_scope: dict[str | None, list[str]] = {}
            for node_id in self.graph.nodes:
                if node_id not in done:
                    by_scope.setdefault(self.scope[node_id], []).append(node_id)
            for scope, members in by_scope.items():
                where = "the top level" if scope is None else f"the body of loop '{scope}'"
                listed = ", ".join(members[:10]) + (" ..." if len(members) > 10 else "")
                self.error(members[0], "CYCLE",
                           f"Nodes in {where} form a cycle (or depend on one): {listed}. "
                           "Use a loop node to repeat work.")
        self.successors = successors
        return order

    def check_reachable(self, edges: list[tuple[str, str, str | None]]) -> None:
        if not self.entries:
            return
        seen = set(self.entries)
        todo = list(self.entries)
        while todo:
            for target in self.successors[todo.pop()]:
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        for node_id in self.graph.top_level():
            if node_id not in seen and self.scope.get(node_id) is None:
                self.error(node_id, "UNREACHABLE_NODE",
                           f"Node '{node_id}' cannot be reached from the start node.")

    # -- per node: config, policy, references, warnings ------------------------------------------
    def check_nodes(self, edges: list[tuple[str, str, str | None]], order: list[str]) -> None:
        graph = self.graph
        compiler = graph.compiler
        bit = {node_id: 1 << index for index, node_id in enumerate(graph.nodes)}
        predecessors: dict[str, list[str]] = {node_id: [] for node_id in graph.nodes}
        for source, target, _ in edges:
            predecessors[target].append(source)
        # Ancestors within a node's own scope, as bitsets over node indexes (linear-ish).
        ancestors: dict[str, int] = {}
        for node_id in order:
            mask = 0
            for source in predecessors[node_id]:
                mask |= ancestors.get(source, 0) | bit[source]
            ancestors[node_id] = mask
        visible: dict[str, int] = {}

        def visible_mask(node_id: str) -> int:
            """Nodes whose outputs exist when `node_id` runs: its ancestors and its loops'."""
            found = visible.get(node_id)
            if found is None:
                found = ancestors.get(node_id, 0)
                parent = self.scope.get(node_id)
                if parent is not None:
                    found |= visible_mask(parent)
                visible[node_id] = found
            return found

        has_terminal = False
        for node in graph.nodes.values():
            impl = self.types.get(node.id)
            for problem in node.policy_problems:
                self.error(node.id, "INVALID_POLICY", f"Node '{node.id}': {problem}")
            if impl is None:
                continue
            try:
                issues = impl.validate_config(node.data, compiler)
            except Exception as exc:
                issues = [Issue(None, "INVALID_CONFIG", f"The config could not be checked: {exc}")]
            for issue in issues:
                self.errors.append(replace(issue, node_id=node.id,
                                           message=f"Node '{node.id}': {issue.message}"))
            if node.id in ancestors:  # nodes in cycles have no meaningful ancestors
                self.check_references(node.id, impl, visible_mask(node.id), bit)
            top_level = self.scope.get(node.id) is None
            if impl.terminal and top_level:
                has_terminal = True
            self.check_warnings(node.id, impl, top_level, compiler)
        if graph.nodes and not has_terminal:
            self.warn(None, "NO_END_NODE",
                      "The graph has no output or end node; the run's output will be the "
                      "merged output of its last nodes.")

    def check_references(self, node_id: str, impl: NodeType, visible: int,
                         bit: dict[str, int]) -> None:
        nodes = self.graph.nodes
        try:
            names = impl.references(nodes[node_id].data, self.graph.compiler)
        except Exception:  # references are a best effort; the config check reports the rest
            return
        variables: set[str] = set()
        parent = self.scope.get(node_id)
        if parent is not None:
            variables.add("index")
        while parent is not None:
            variable = nodes[parent].data.get("item_variable") or "item"
            variables.add(variable if isinstance(variable, str) else "item")
            parent = self.scope.get(parent)
        for name in sorted(names):
            if name not in nodes or name in variables or name == "input":
                continue
            if name == node_id:
                self.error(node_id, "UNKNOWN_REFERENCE",
                           f"Node '{node_id}' refers to its own output '{{{name}}}'.")
            elif not visible & bit[name]:
                self.error(node_id, "UNKNOWN_REFERENCE",
                           f"Node '{node_id}' refers to '{{{name}...}}', but node '{name}' does "
                           "not run before it (it is not upstream of this node).")

    def check_warnings(self, node_id: str, impl: NodeType, top_level: bool, compiler: Any
                       ) -> None:
        node = self.graph.nodes[node_id]
        if node.type == "condition" and isinstance(node.data.get("expression"), str):
            try:
                expression = compiler.expression(node.data["expression"])
                if expression.is_constant:
                    value = bool(expression.evaluate({}))
                    never = "false" if value else "true"
                    self.warn(node_id, "DEAD_BRANCH",
                              f"Condition '{node_id}' is always {str(value).lower()}: its "
                              f"'{never}' branch never runs.")
            except ExpressionError:
                pass
        if top_level and not impl.terminal and not self.successors.get(node_id) \
                and node.policy.on_error != "branch":
            self.warn(node_id, "UNUSED_OUTPUT",
                      f"Node '{node_id}' has no outgoing edge and is not an output or end node; "
                      "its output is not used.")
        if impl.composite and not self.graph.children.get(node_id):
            self.warn(node_id, "EMPTY_LOOP",
                      f"Loop '{node_id}' has no body nodes (set their parentId to "
                      f"'{node_id}').")
