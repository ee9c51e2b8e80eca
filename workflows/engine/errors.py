"""Errors the engine raises, the `Suspend` signal and the `Issue` record of validation."""

from dataclasses import dataclass
from typing import Any


class EngineError(Exception):
    """Base class of every error the graph engine raises on purpose."""


class GraphFormatError(EngineError):
    """The graph document is structurally malformed (not the React Flow shape)."""


class ExpressionError(EngineError):
    """An expression or template could not be compiled or evaluated."""


class MissingValueError(ExpressionError):
    """A path of an expression or template names nothing in scope (`default()` catches it)."""


class NodeError(EngineError):
    """A node failed with a message meant for the workflow's author (no traceback)."""


class Suspend(Exception):
    """Raised by a node (e.g. approval) to stop the run with status `waiting` at that node.

    The host resumes later by putting the node's output in the checkpoint; `data` (a dict) is
    recorded as the waiting node's output meanwhile, e.g. the question asked.
    """

    def __init__(self, message: str = "", data: dict[str, Any] | None = None) -> None:
        super().__init__(message or "The node waits for an answer.")
        self.message = message or "The node waits for an answer."
        self.data = data


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem (or warning) found in a graph; `code` is stable, `message` is for people."""

    node_id: str | None
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON shape `{node_id, code, message}`."""
        return {"node_id": self.node_id, "code": self.code, "message": self.message}
