"""The agent loop: let the model call tools until it answers, as a stream of events.

Events map one to one onto the chat stream's SSE events (`event.type` is the SSE name, and
`event.to_dict()` its data): `token`, `tool_call`, `tool_result`, then `done` or `error` last.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any, ClassVar

from agents.llm.client import LLMClient, Message, OnLLMCall
from agents.llm.errors import LLMError, scrub
from agents.llm.tools import (
    BUILTIN_TOOLS,
    CalculatorTool,
    CurrentTimeTool,
    DatasourceQueryTool,
    HttpRequestTool,
    RunWorkflowTool,
    Tool,
    ToolContext,
    ToolError,
    ToolRegistry,
    default_registry,
)
from agents.llm.types import Completion, TokenEvent, ToolCall, ToolCallEvent, Usage
from agents.llm.types import DoneEvent as StreamDoneEvent

__all__ = [
    "BUILTIN_TOOLS",
    "AgentEvent",
    "AgentResult",
    "CalculatorTool",
    "CurrentTimeTool",
    "DatasourceQueryTool",
    "DoneEvent",
    "ErrorEvent",
    "HttpRequestTool",
    "RunWorkflowTool",
    "TokenEvent",
    "Tool",
    "ToolCallEvent",
    "ToolContext",
    "ToolError",
    "ToolRegistry",
    "ToolResultEvent",
    "default_registry",
    "run_agent",
    "run_agent_to_completion",
]

logger = logging.getLogger(__name__)

DEFAULT_ITERATION_LIMIT = 10
# A tool result is sent back to the model as text; a huge one (a big HTTP body, many rows) would
# blow the context window and the bill, so it is cut here and the model is told so.
DEFAULT_MAX_RESULT_CHARS = 20_000

STOPPED_ANSWERED = "answered"
STOPPED_ITERATION_LIMIT = "iteration_limit"


@dataclass(frozen=True)
class ToolResultEvent:
    """A tool finished; `result` is what the model was given (an `{"error": ...}` on failure)."""

    type: ClassVar[str] = "tool_result"
    id: str
    name: str
    result: Any
    is_error: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for SSE `data`."""
        return {"id": self.id, "name": self.name, "result": self.result, "is_error": self.is_error}


@dataclass(frozen=True)
class DoneEvent:
    """The agent finished: its answer (or an iteration-limit notice), steps and summed usage."""

    type: ClassVar[str] = "done"
    text: str
    usage: Usage
    steps: list[dict[str, Any]]
    iterations: int
    stopped_reason: str = STOPPED_ANSWERED  # or STOPPED_ITERATION_LIMIT
    model: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for SSE `data`."""
        return {
            "text": self.text,
            "usage": self.usage.to_dict(),
            "steps": self.steps,
            "iterations": self.iterations,
            "stopped_reason": self.stopped_reason,
            "model": self.model,
        }


@dataclass(frozen=True)
class ErrorEvent:
    """The model call failed (after the client's retries); always the last event."""

    type: ClassVar[str] = "error"
    message: str
    code: str
    status_code: int | None = None
    retryable: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for SSE `data`."""
        return {"message": self.message, "code": self.code}


AgentEvent = TokenEvent | ToolCallEvent | ToolResultEvent | DoneEvent | ErrorEvent


@dataclass
class AgentResult:
    """A finished agent run."""

    text: str
    steps: list[dict[str, Any]]
    usage: Usage
    messages: list[dict[str, Any]]  # the whole conversation sent, plus the answer
    new_messages: list[dict[str, Any]] = field(default_factory=list)  # added by this run
    iterations: int = 0
    stopped_reason: str = STOPPED_ANSWERED
    model: str = ""


def run_agent(
    client: LLMClient,
    *,
    system_prompt: str,
    messages: Iterable[Message],
    tools: Iterable[str],
    registry: ToolRegistry,
    ctx: ToolContext | None = None,
    iteration_limit: int = DEFAULT_ITERATION_LIMIT,
    stream: bool = False,
    on_llm_call: OnLLMCall | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    max_result_chars: int = DEFAULT_MAX_RESULT_CHARS,
) -> Iterator[AgentEvent]:
    """Run the agent; yields events, ending with exactly one DoneEvent or ErrorEvent.

    `messages` is the conversation so far (ending with the user's new message); `tools` names the
    registry tools this agent may use; one iteration is one model call plus the tools it asked for.
    With `stream=True` tokens are yielded as they arrive, including any text the model writes
    next to a tool call; `DoneEvent.text` is the final answer only.
    """
    run = _AgentRun(
        client=client,
        system_prompt=system_prompt,
        history=list(messages),
        tool_names=list(tools),
        registry=registry,
        ctx=ctx or ToolContext(),
        iteration_limit=iteration_limit,
        stream=stream,
        on_llm_call=on_llm_call,
        temperature=temperature,
        max_tokens=max_tokens,
        max_result_chars=max_result_chars,
    )
    return run.events()


def run_agent_to_completion(
    client: LLMClient,
    *,
    system_prompt: str,
    messages: Iterable[Message],
    tools: Iterable[str],
    registry: ToolRegistry,
    ctx: ToolContext | None = None,
    iteration_limit: int = DEFAULT_ITERATION_LIMIT,
    on_llm_call: OnLLMCall | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    max_result_chars: int = DEFAULT_MAX_RESULT_CHARS,
) -> AgentResult:
    """Run the agent without streaming; a failed model call raises LLMError."""
    run = _AgentRun(
        client=client,
        system_prompt=system_prompt,
        history=list(messages),
        tool_names=list(tools),
        registry=registry,
        ctx=ctx or ToolContext(),
        iteration_limit=iteration_limit,
        stream=False,
        on_llm_call=on_llm_call,
        temperature=temperature,
        max_tokens=max_tokens,
        max_result_chars=max_result_chars,
    )
    done: DoneEvent | None = None
    for event in run.events():
        if isinstance(event, ErrorEvent):
            raise LLMError(
                event.message, event.code, status_code=event.status_code, retryable=event.retryable
            )
        if isinstance(event, DoneEvent):
            done = event
    assert done is not None  # events() always ends with DoneEvent or ErrorEvent
    return AgentResult(
        text=done.text,
        steps=done.steps,
        usage=done.usage,
        messages=run.conversation,
        new_messages=run.conversation[run.prefix_length :],
        iterations=done.iterations,
        stopped_reason=done.stopped_reason,
        model=done.model,
    )


@dataclass
class _AgentRun:
    """The state of one run; `events()` drives it."""

    client: LLMClient
    system_prompt: str
    history: list[Message]
    tool_names: list[str]
    registry: ToolRegistry
    ctx: ToolContext
    iteration_limit: int
    stream: bool
    on_llm_call: OnLLMCall | None
    temperature: float | None
    max_tokens: int | None
    max_result_chars: int
    conversation: list[dict[str, Any]] = field(default_factory=list)
    prefix_length: int = 0
    steps: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    allowed: list[str] = field(init=False)
    tool_schemas: list[dict[str, Any]] | None = field(init=False)

    def __post_init__(self) -> None:
        if self.system_prompt:
            self.conversation.append({"role": "system", "content": self.system_prompt})
        self.conversation.extend(dict(message) for message in self.history)
        self.prefix_length = len(self.conversation)
        known = [name for name in dict.fromkeys(self.tool_names) if name in self.registry]
        for name in set(self.tool_names) - set(known):
            # A config may outlive a tool (removed, or a host that lacks it); run without it.
            logger.warning("Agent tool %r is not registered; it is left out", name)
        self.allowed = known
        self.tool_schemas = self.registry.schemas(known) if known else None

    def events(self) -> Iterator[AgentEvent]:
        model = ""
        limit = max(1, self.iteration_limit)
        for iteration in range(1, limit + 1):
            completion: Completion | None = None
            try:
                if self.stream:
                    # closing(): if our consumer stops reading, the HTTP stream is released now.
                    events = self.client.stream(self.conversation, **self._call_options())
                    with closing(events):
                        for event in events:
                            if isinstance(event, TokenEvent):
                                yield event
                            elif isinstance(event, StreamDoneEvent):
                                completion = event.completion
                else:
                    completion = self.client.complete(self.conversation, **self._call_options())
            except LLMError as error:
                yield ErrorEvent(error.message, error.code, error.status_code, error.retryable)
                return
            assert completion is not None  # a stream always ends with its DoneEvent
            self.usage = self.usage + completion.usage
            model = completion.model or model
            self.conversation.append(completion.assistant_message())
            if not completion.tool_calls:
                if not self.stream and completion.text:
                    yield TokenEvent(completion.text)
                yield DoneEvent(completion.text, self.usage, self.steps, iteration, model=model)
                return
            for call in completion.tool_calls:
                yield ToolCallEvent.of(call)
                result, is_error = self._run_tool(call)
                self.steps.append(
                    {
                        "type": "tool_call",
                        "id": call.id,
                        "name": call.name,
                        "arguments": call.arguments
                        if not call.arguments_error
                        else call.raw_arguments,
                        "result": result,
                        "is_error": is_error,
                        "iteration": iteration,
                    }
                )
                self.conversation.append(
                    {"role": "tool", "tool_call_id": call.id, "content": self._as_text(result)}
                )
                yield ToolResultEvent(call.id, call.name, result, is_error)
        notice = (
            f"Stopped: the agent reached its iteration limit ({limit} model calls) without giving "
            f"a final answer. Raise the agent's iteration_limit or simplify the request."
        )
        yield DoneEvent(notice, self.usage, self.steps, limit, STOPPED_ITERATION_LIMIT, model)

    def _call_options(self) -> dict[str, Any]:
        return {
            "tools": self.tool_schemas,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "on_llm_call": self.on_llm_call,
        }

    def _run_tool(self, call: ToolCall) -> tuple[Any, bool]:
        """The tool's result and whether it is an error; a failing tool never ends the run."""
        if call.name not in self.allowed:
            available = ", ".join(self.allowed) or "none"
            return {"error": f"Unknown tool {call.name!r}. Available tools: {available}."}, True
        if call.arguments_error:
            return {
                "error": f"Could not run {call.name}: {call.arguments_error}. Send the arguments "
                f"as one JSON object that matches the tool's parameters."
            }, True
        tool = self.registry.get(call.name)
        assert tool is not None  # allowed names are registered
        problem = tool.check_arguments(call.arguments)
        if problem:
            return {"error": f"Could not run {call.name}: {problem}."}, True
        try:
            result = tool.run(dict(call.arguments), self.ctx)
        except ToolError as exc:
            return {"error": str(exc)}, True
        except Exception as exc:
            logger.exception("Tool %s raised", call.name)
            # The model sees the failure so it can recover; secrets in the text are masked.
            return {"error": scrub(f"Tool {call.name} failed: {type(exc).__name__}: {exc}")}, True
        if not isinstance(result, (str, Mapping)):
            result = {"result": result}
        return result, False

    def _as_text(self, result: Any) -> str:
        text = result if isinstance(result, str) else json.dumps(result, default=str)
        if len(text) > self.max_result_chars:
            omitted = len(text) - self.max_result_chars
            text = f"{text[: self.max_result_chars]}\n[truncated: {omitted} more characters]"
        return text
