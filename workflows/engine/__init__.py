"""Conflux's graph engine: plain Python (no Django), used by the workers and the API.

    graph = Graph.from_dict({"nodes": [...], "edges": [...]})
    result = validate(graph)                      # ValidationResult(valid, errors, warnings)
    data, errors = check_input(graph, input_data)  # before enqueueing: 400 on errors
    run = Runner(graph, reporter=..., services=...).run(input_data, checkpoint=..., control=...)

Node types live in a registry (`default_registry` holds the core ones); other apps register
theirs with `@default_registry.register`.
"""

from .errors import (
    EngineError,
    ExpressionError,
    GraphFormatError,
    Issue,
    MissingValueError,
    NodeError,
    Suspend,
)
from .expressions import (
    FUNCTIONS,
    Compiler,
    Expression,
    Scope,
    Template,
    compile_expression,
    compile_template,
)
from .graph import Edge, Graph, Node, Policy, parse_graph
from .nodes import (
    BodySpec,
    NodeContext,
    NodeOutcome,
    NodeRegistry,
    NodeType,
    check_input,
    default_registry,
)
from .runner import (
    Control,
    NodeResult,
    Reporter,
    Runner,
    RunResult,
    checkpoint_from_results,
)
from .schema import Field
from .validation import ValidationResult, validate

__all__ = [
    "FUNCTIONS",
    "BodySpec",
    "Compiler",
    "Control",
    "Edge",
    "EngineError",
    "Expression",
    "ExpressionError",
    "Field",
    "Graph",
    "GraphFormatError",
    "Issue",
    "MissingValueError",
    "Node",
    "NodeContext",
    "NodeError",
    "NodeOutcome",
    "NodeRegistry",
    "NodeResult",
    "NodeType",
    "Policy",
    "Reporter",
    "RunResult",
    "Runner",
    "Scope",
    "Suspend",
    "Template",
    "ValidationResult",
    "check_input",
    "checkpoint_from_results",
    "compile_expression",
    "compile_template",
    "default_registry",
    "parse_graph",
    "validate",
]
