"""Reads of the agents app: what a user may see, and a session's history as model messages."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Case, IntegerField, Q, QuerySet, Sum, Value, When

from platform_site.api.viewsets import visible_to

from .models import (
    Agent,
    ChatMessage,
    ChatSession,
    LLMCallLog,
    MessageRole,
    MessageStatus,
    ModelConfig,
)

# The newest messages sent back to the model as history; older ones are left out so that a long
# session cannot outgrow the context window (and the bill) without bound.
HISTORY_MESSAGES = 40


def _is_admin(user: Any) -> bool:
    return bool(getattr(user, "is_platform_admin", False))


def model_configs_visible_to(user: Any) -> QuerySet[ModelConfig]:
    """The user's own configs and the shared ones (admins: all)."""
    queryset = ModelConfig.objects.select_related("owner")
    if _is_admin(user):
        return queryset
    return queryset.filter(Q(owner=user) | Q(owner__isnull=True))


def user_by_id(user_id: Any) -> Any | None:
    """The user with this id, or None."""
    pk = _as_uuid(user_id)
    return get_user_model().objects.filter(pk=pk).first() if pk is not None else None


def _as_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def model_config_for(*, user: Any, config_id: Any) -> ModelConfig | None:
    """A config the user may use, by id; None when it is missing or not visible."""
    pk = _as_uuid(config_id)
    if pk is None:
        return None
    return model_configs_visible_to(user).filter(pk=pk).first()


def model_config_for_provider(
    *, user: Any, provider: str, model: str | None = None
) -> ModelConfig | None:
    """The config to use for a provider: defaults first, the user's own before shared ones."""
    queryset = model_configs_visible_to(user).filter(provider=provider)
    if model:
        exact = queryset.filter(model=model)
        if exact.exists():
            queryset = exact
    owned = Case(When(owner=user, then=Value(0)), default=Value(1), output_field=IntegerField())
    return queryset.annotate(_owned=owned).order_by("-is_default", "_owned", "created_at").first()


def agents_visible_to(user: Any) -> QuerySet[Agent]:
    """The user's agents (admins: all)."""
    return visible_to(Agent.objects.select_related("model_config", "model_config__owner"), user)


def agent_for(*, user: Any, agent_id: Any) -> Agent | None:
    """An agent the user may use, by id; None when it is missing or not visible."""
    pk = _as_uuid(agent_id)
    if pk is None:
        return None
    return agents_visible_to(user).filter(pk=pk).first()


def chat_sessions_visible_to(user: Any, *, agent_id: Any = None) -> QuerySet[ChatSession]:
    """The user's chat sessions (admins: all), optionally of one agent."""
    queryset = visible_to(ChatSession.objects.select_related("agent"), user)
    if agent_id is not None:
        queryset = queryset.filter(agent_id=agent_id)
    return queryset


def session_history(session: ChatSession, *, limit: int = HISTORY_MESSAGES) -> list[dict]:
    """The session so far as Chat Completions messages, tool exchanges included.

    Failed turns are left out: the model never said what their error says.
    """
    rows = list(
        ChatMessage.objects.filter(session=session)
        .exclude(status=MessageStatus.ERROR)
        .order_by("-created_at", "-id")[:limit]
    )
    rows.reverse()
    messages: list[dict] = []
    for row in rows:
        if row.role == MessageRole.USER:
            messages.append({"role": "user", "content": row.content})
        elif row.role == MessageRole.ASSISTANT:
            if not row.content and not row.steps:
                continue  # a turn cut short before the model said anything
            messages.extend(_tool_exchanges(row.steps or []))
            messages.append({"role": "assistant", "content": row.content})
    return messages


def _tool_exchanges(steps: list[dict]) -> list[dict]:
    """The assistant tool-call messages and tool results recorded in an answer's steps."""
    messages: list[dict] = []
    by_iteration: dict[Any, list[dict]] = {}
    for step in steps:
        if isinstance(step, dict) and step.get("type", "tool_call") == "tool_call":
            by_iteration.setdefault(step.get("iteration"), []).append(step)
    for group in by_iteration.values():
        calls = []
        results = []
        for step in group:
            arguments = step.get("arguments")
            raw = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
            calls.append({"id": step.get("id"), "type": "function",
                          "function": {"name": step.get("name"), "arguments": raw}})
            result = step.get("result")
            results.append({"role": "tool", "tool_call_id": step.get("id"),
                            "content": result if isinstance(result, str)
                            else json.dumps(result, default=str)})
        messages.append({"role": "assistant", "content": None, "tool_calls": calls})
        messages.extend(results)
    return messages


def llm_call_totals(queryset: QuerySet[LLMCallLog]) -> dict[str, int]:
    """Call count and token sums of a set of call logs."""
    totals = queryset.aggregate(
        prompt_tokens=Sum("prompt_tokens"),
        completion_tokens=Sum("completion_tokens"),
        total_tokens=Sum("total_tokens"),
    )
    return {"calls": queryset.count(), **{k: v or 0 for k, v in totals.items()}}
