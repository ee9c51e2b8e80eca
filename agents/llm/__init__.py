"""Plain-Python LLM access for Conflux: an OpenAI-compatible client and the agent tool loop.

No Django here: the `agents` app, the workflow engine's `llm`/`agent` nodes and the chat views
all build on this package and pass in what it needs (settings, host services, hooks).
"""

from agents.llm.agent_loop import (
    AgentEvent,
    AgentResult,
    ErrorEvent,
    ToolResultEvent,
    run_agent,
    run_agent_to_completion,
)
from agents.llm.agent_loop import DoneEvent as AgentDoneEvent
from agents.llm.client import LLMClient, test_connection
from agents.llm.errors import ErrorCode, LLMError
from agents.llm.settings import PROVIDERS, ModelSettings, ProviderSpec, register_provider
from agents.llm.tools import (
    BUILTIN_TOOLS,
    Tool,
    ToolContext,
    ToolError,
    ToolRegistry,
    default_registry,
)
from agents.llm.types import (
    Completion,
    DoneEvent,
    LLMCallRecord,
    StreamEvent,
    TokenEvent,
    ToolCall,
    ToolCallEvent,
    Usage,
)

__all__ = [
    "BUILTIN_TOOLS",
    "PROVIDERS",
    "AgentDoneEvent",
    "AgentEvent",
    "AgentResult",
    "Completion",
    "DoneEvent",
    "ErrorCode",
    "ErrorEvent",
    "LLMCallRecord",
    "LLMClient",
    "LLMError",
    "ModelSettings",
    "ProviderSpec",
    "StreamEvent",
    "TokenEvent",
    "Tool",
    "ToolCall",
    "ToolCallEvent",
    "ToolContext",
    "ToolError",
    "ToolRegistry",
    "ToolResultEvent",
    "Usage",
    "default_registry",
    "register_provider",
    "run_agent",
    "run_agent_to_completion",
    "test_connection",
]
