"""Compiled graphs of workflow versions, cached: versions never change once written."""

import threading
from collections import OrderedDict

from workflows.engine import Graph, check_input
from workflows.graphs import node_registry
from workflows.services import require_valid

_CACHE_SIZE = 512
_cache: OrderedDict = OrderedDict()
_lock = threading.Lock()


def compiled_graph(version) -> Graph:
    """The engine's graph of a version; raises Unprocessable (422) when it is invalid."""
    with _lock:
        graph = _cache.get(version.pk)
        if graph is not None:
            _cache.move_to_end(version.pk)
            return graph
    require_valid(version.nodes, version.edges)
    graph = Graph.from_dict({"nodes": version.nodes, "edges": version.edges})
    with _lock:
        _cache[version.pk] = graph
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return graph


def input_errors(graph: Graph, input_data: dict) -> dict:
    """Problems of `input_data` against the graph's input node, by field."""
    _, errors = check_input(graph, input_data)
    return errors


def resume_output(graph: Graph, node_id: str, content, by) -> tuple[dict, list | None]:
    """The output (and active handles) of a waiting node answered with `content`."""
    node = graph.nodes[node_id]
    node_type = node_registry().get(node.type)
    if hasattr(node_type, "resume_output"):
        return node_type.resume_output(node, content, by)
    output = content if isinstance(content, dict) else {"value": content}
    return output, None
