"""Models of the agents app: model configs, agents and their versions, chat, and LLM call logs."""

from .agents import Agent, AgentStatus, AgentVersion
from .calls import LLMCallLog, LLMCallStatus
from .chat import ChatMessage, ChatSession, MessageRole, MessageStatus
from .model_configs import ModelConfig

__all__ = [
    "Agent",
    "AgentStatus",
    "AgentVersion",
    "ChatMessage",
    "ChatSession",
    "LLMCallLog",
    "LLMCallStatus",
    "MessageRole",
    "MessageStatus",
    "ModelConfig",
]
