"""Compiled graphs of workflow versions, cached: versions never change once written.

The cache is keyed by version id and by (workflow id, version number), so starting an execution
of a workflow's current version needs no query for the version once it has been seen.
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass

from workflows.engine import Graph, NodeError, check_input
from workflows.graphs import node_registry
from workflows.models import WorkflowVersion
from workflows.services import require_valid

_CACHE_SIZE = 512
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class PinnedGraph:
    """A validated, compiled version of a workflow."""

    version_id: object
    workflow_id: object
    number: int
    graph: Graph


_by_version: OrderedDict = OrderedDict()
_by_number: dict = {}


def _remember(pinned: PinnedGraph) -> PinnedGraph:
    with _lock:
        _by_version[pinned.version_id] = pinned
        _by_number[(pinned.workflow_id, pinned.number)] = pinned
        while len(_by_version) > _CACHE_SIZE:
            _, old = _by_version.popitem(last=False)
            _by_number.pop((old.workflow_id, old.number), None)
    return pinned


def _compile(version: WorkflowVersion) -> PinnedGraph:
    require_valid(version.nodes, version.edges)  # 422 with the validation errors when invalid
    graph = Graph.from_dict({"nodes": version.nodes, "edges": version.edges})
    return _remember(PinnedGraph(version.pk, version.workflow_id, version.number, graph))


def compiled_graph(version: WorkflowVersion) -> Graph:
    """The engine's graph of a version; raises Unprocessable (422) when it is invalid."""
    pinned = _by_version.get(version.pk)
    return (pinned or _compile(version)).graph


def current_graph(workflow) -> PinnedGraph:
    """The compiled current version of a workflow (a query only the first time)."""
    pinned = _by_number.get((workflow.pk, workflow.version))
    if pinned is None:
        pinned = _compile(WorkflowVersion.objects.get(workflow=workflow, number=workflow.version))
    return pinned


def graph_of_version_id(version_id) -> Graph:
    """The compiled graph of a version by id (a query only the first time)."""
    pinned = _by_version.get(version_id)
    if pinned is None:
        pinned = _compile(WorkflowVersion.objects.get(pk=version_id))
    return pinned.graph


def input_errors(graph: Graph, input_data: dict) -> dict:
    """Problems of `input_data` against the graph's input node, by field."""
    _, errors = check_input(graph, input_data)
    return errors


def resume_output(graph: Graph, node_id: str, content, by) -> tuple[dict, list | None]:
    """The output (and active handles) of a waiting node answered with `content`.

    Raises NodeError when the answer fails the node (see `execution_resume`).
    """
    node = graph.nodes[node_id]
    node_type = node_registry().get(node.type)
    if hasattr(node_type, "resume_output"):
        output, handles = node_type.resume_output(node, content, by)
        routed = {edge.source_handle for edge in graph.outgoing.get(node_id, ())}
        if handles and hasattr(node_type, "unrouted_error") and not routed & set(handles):
            # The answer chose a branch this graph does not draw (a rejection with no
            # "rejected" edge): the node fails rather than the run quietly ending without it.
            raise NodeError(node_type.unrouted_error(output))
        return output, handles
    output = content if isinstance(content, dict) else {"value": content}
    return output, None
