"""What changed between two versions of a workflow: nodes, edges, name and description."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class NodeChange:
    """One node present in both versions whose type, parent or config changed."""

    node_id: str
    changes: dict[str, tuple[Any, Any]]  # key -> (old, new); config keys as "data.<key>"


@dataclass
class VersionDiff:
    """The differences from an old graph to a new one."""

    name: tuple[str, str] | None = None
    description: tuple[str, str] | None = None
    nodes_added: list[dict] = field(default_factory=list)
    nodes_removed: list[dict] = field(default_factory=list)
    nodes_changed: list[NodeChange] = field(default_factory=list)
    edges_added: list[dict] = field(default_factory=list)
    edges_removed: list[dict] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.name or self.description or self.nodes_added or self.nodes_removed
                    or self.nodes_changed or self.edges_added or self.edges_removed)


def _nodes_by_id(nodes: Any) -> dict[str, dict]:
    return {n["id"]: n for n in nodes or [] if isinstance(n, dict) and isinstance(n.get("id"), str)}


def _edge_key(edge: dict) -> tuple:
    # Edges are compared by what they connect, not by id: editors regenerate ids freely.
    return (edge.get("source"), edge.get("target"), edge.get("sourceHandle"))


def _node_changes(old: dict, new: dict) -> dict[str, tuple[Any, Any]]:
    changes: dict[str, tuple[Any, Any]] = {}
    for key in ("type", "parentId"):
        if old.get(key) != new.get(key):
            changes[key] = (old.get(key), new.get(key))
    old_data = old.get("data") if isinstance(old.get("data"), dict) else {}
    new_data = new.get("data") if isinstance(new.get("data"), dict) else {}
    for key in sorted(set(old_data) | set(new_data)):
        if old_data.get(key) != new_data.get(key):
            changes[f"data.{key}"] = (old_data.get(key), new_data.get(key))
    # Positions are where a node was dragged to, not a change of behaviour: left out.
    return changes


def diff_graphs(old: dict, new: dict) -> VersionDiff:
    """Differences between two `{name, description, nodes, edges}` documents."""
    result = VersionDiff()
    if old.get("name") != new.get("name"):
        result.name = (old.get("name", ""), new.get("name", ""))
    if (old.get("description") or "") != (new.get("description") or ""):
        result.description = (old.get("description", ""), new.get("description", ""))
    old_nodes, new_nodes = _nodes_by_id(old.get("nodes")), _nodes_by_id(new.get("nodes"))
    result.nodes_added = [new_nodes[k] for k in new_nodes if k not in old_nodes]
    result.nodes_removed = [old_nodes[k] for k in old_nodes if k not in new_nodes]
    for node_id in old_nodes.keys() & new_nodes.keys():
        changes = _node_changes(old_nodes[node_id], new_nodes[node_id])
        if changes:
            result.nodes_changed.append(NodeChange(node_id, changes))
    result.nodes_changed.sort(key=lambda change: change.node_id)
    old_edges = {_edge_key(e): e for e in old.get("edges") or [] if isinstance(e, dict)}
    new_edges = {_edge_key(e): e for e in new.get("edges") or [] if isinstance(e, dict)}
    result.edges_added = [new_edges[k] for k in new_edges if k not in old_edges]
    result.edges_removed = [old_edges[k] for k in old_edges if k not in new_edges]
    return result


def diff_versions(old, new) -> VersionDiff:
    """Differences between two WorkflowVersion rows (old first)."""
    return diff_graphs(
        {"name": old.name, "description": old.description, "nodes": old.nodes,
         "edges": old.edges},
        {"name": new.name, "description": new.description, "nodes": new.nodes,
         "edges": new.edges},
    )
