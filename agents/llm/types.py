"""Plain data passed out of the LLM client: completions, tool calls, usage, stream events."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Usage:
    """Token counts of one call, or of several added together."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.total_tokens + other.total_tokens,
        )

    def to_dict(self) -> dict[str, int]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class ToolCall:
    """A tool the model asked to run.

    `arguments_error` is set (and `arguments` empty) when the model sent arguments that are not a
    JSON object; the agent loop turns that into an error result for the model instead of failing.
    """

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    raw_arguments: str = ""  # as the model sent them; echoed back in the assistant message
    arguments_error: str | None = None

    def to_message(self) -> dict[str, Any]:
        """This call in the `tool_calls` list of an assistant message."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.raw_arguments or "{}"},
        }


@dataclass(frozen=True)
class Completion:
    """The result of one chat completion call."""

    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    latency_ms: int = 0
    finish_reason: str | None = None

    def assistant_message(self) -> dict[str, Any]:
        """This answer as the assistant message to append to the conversation."""
        message: dict[str, Any] = {"role": "assistant", "content": self.text or None}
        if self.tool_calls:
            message["tool_calls"] = [call.to_message() for call in self.tool_calls]
        elif message["content"] is None:
            message["content"] = ""
        return message


@dataclass(frozen=True)
class TokenEvent:
    """A piece of the answer's text."""

    type: ClassVar[str] = "token"
    text: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for SSE `data`."""
        return {"text": self.text}


@dataclass(frozen=True)
class ToolCallEvent:
    """The model asked for a tool (emitted once the call is fully assembled)."""

    type: ClassVar[str] = "tool_call"
    id: str
    name: str
    arguments: dict[str, Any]

    @classmethod
    def of(cls, call: ToolCall) -> ToolCallEvent:
        """The event for a tool call."""
        return cls(id=call.id, name=call.name, arguments=call.arguments)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for SSE `data`."""
        return {"id": self.id, "name": self.name, "arguments": self.arguments}


@dataclass(frozen=True)
class DoneEvent:
    """A streamed completion finished; carries the whole completion with its usage."""

    type: ClassVar[str] = "done"
    completion: Completion

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for SSE `data`."""
        return {
            "text": self.completion.text,
            "usage": self.completion.usage.to_dict(),
            "model": self.completion.model,
            "finish_reason": self.completion.finish_reason,
            "latency_ms": self.completion.latency_ms,
        }


StreamEvent = TokenEvent | ToolCallEvent | DoneEvent


@dataclass(frozen=True)
class LLMCallRecord:
    """One model call as reported to `on_llm_call` hooks, for monitoring and cost logs."""

    provider: str
    model: str
    base_url: str
    status: str  # "ok", "error", or "cancelled" (a stream its consumer stopped reading)
    latency_ms: int
    attempts: int
    streamed: bool
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    finish_reason: str | None = None
    error_code: str | None = None
    error_message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)
