"""Writes of the agents app: model configs, agents and versions, chat turns, LLM call logs.

Model calls never run inside a database transaction: a turn records the user's message, calls
the model with no transaction open (SQLite would hold its write lock for the whole call), then
records the answer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import NotFound, ValidationError

from agents.llm import (
    AgentResult,
    LLMCallRecord,
    LLMError,
    Usage,
    default_registry,
    run_agent,
    run_agent_to_completion,
    test_connection,
)
from platform_site.api.errors import Conflict

from . import runtime, selectors
from .models import (
    Agent,
    AgentStatus,
    AgentVersion,
    ChatMessage,
    ChatSession,
    LLMCallLog,
    LLMCallStatus,
    MessageRole,
    MessageStatus,
    ModelConfig,
)
from .tools_host import tool_context

logger = logging.getLogger(__name__)

EXPORT_FORMAT_VERSION = 1
AGENT_VERSIONED_FIELDS = (
    "name",
    "description",
    "system_prompt",
    "model_config",
    "model_params",
    "tools",
    "iteration_limit",
    "workflow_config",
)
MODEL_CONFIG_FIELDS = ("name", "provider", "base_url", "model", "defaults", "timeout_s",
                       "is_default")
TITLE_LENGTH = 80


# -- LLM call log ----------------------------------------------------------------------------


def llm_call_log_record(
    *,
    record: LLMCallRecord,
    owner_id: Any,
    agent_id: Any = None,
    execution_id: Any = None,
    node_id: str = "",
) -> LLMCallLog:
    """Store one model call; every caller (chat, agent run, workflow node) logs through here."""
    status = record.status if record.status in LLMCallStatus.values else LLMCallStatus.ERROR
    return LLMCallLog.objects.create(
        owner_id=owner_id,
        agent_id=agent_id,
        execution_id=execution_id or None,
        node_id=node_id or "",
        provider=record.provider[:64],
        model=record.model[:200],
        prompt_tokens=max(0, record.prompt_tokens),
        completion_tokens=max(0, record.completion_tokens),
        total_tokens=max(0, record.total_tokens),
        latency_ms=max(0, record.latency_ms),
        attempts=max(1, record.attempts),
        streamed=record.streamed,
        status=status,
        error_code=(record.error_code or "")[:64],
        error_message=record.error_message or "",
    )


def llm_call_logger(
    *, owner_id: Any, agent_id: Any = None, execution_id: Any = None, node_id: str = ""
) -> Callable[[LLMCallRecord], None]:
    """An `on_llm_call` hook that logs each call with who and what it ran for."""

    def hook(record: LLMCallRecord) -> None:
        llm_call_log_record(record=record, owner_id=owner_id, agent_id=agent_id,
                            execution_id=execution_id, node_id=node_id)

    return hook


# -- model configs ---------------------------------------------------------------------------


def _field_of(message: str) -> str:
    """The config field an LLMError message names in backticks (`api_key`, `base_url`...)."""
    match = re.search(r"`(\w+)`", message)
    if match and match.group(1) in (*MODEL_CONFIG_FIELDS, "api_key"):
        return match.group(1)
    lowered = message.lower()
    if "api key" in lowered:
        return "api_key"
    if "provider" in lowered:
        return "provider"
    return "non_field_errors"


def _check_model_config(config: ModelConfig) -> None:
    """Refuse (400) a config that cannot work, or a user's config aimed at a private address."""
    try:
        runtime.model_settings(config).validate()
    except LLMError as error:
        raise ValidationError({_field_of(error.message): [error.message]}) from None
    if not runtime.is_trusted(config):
        refusal = runtime.endpoint_refusal(runtime.model_settings(config).resolved_base_url)
        if refusal:
            raise ValidationError({"base_url": [refusal]})


def _keep_one_default(config: ModelConfig) -> None:
    """At most one default config per owner (or among shared ones) and provider."""
    if config.is_default:
        ModelConfig.objects.filter(
            owner_id=config.owner_id, provider=config.provider, is_default=True
        ).exclude(pk=config.pk).update(is_default=False)


@transaction.atomic
def model_config_create(
    *,
    owner: Any,
    name: str,
    provider: str,
    model: str,
    base_url: str = "",
    api_key: str = "",
    defaults: dict[str, Any] | None = None,
    timeout_s: float = 60.0,
    is_default: bool = False,
) -> ModelConfig:
    """Create a config; `owner=None` makes a shared one (callers check that it is an admin)."""
    config = ModelConfig(
        owner=owner,
        name=name,
        provider=provider,
        model=model,
        base_url=base_url.strip(),
        defaults=defaults or {},
        timeout_s=timeout_s,
        is_default=is_default,
    )
    config.set_api_key(api_key)
    _check_model_config(config)
    config.save()
    _keep_one_default(config)
    return config


@transaction.atomic
def model_config_update(
    *, config: ModelConfig, owner: Any = ..., api_key: str | None = None, **changes: Any
) -> ModelConfig:
    """Apply changes; `api_key=None` keeps the stored key, "" clears it; `owner` moves it."""
    locked = ModelConfig.objects.select_for_update().get(pk=config.pk)
    for name, value in changes.items():
        if name not in MODEL_CONFIG_FIELDS:
            raise ValueError(f"{name} is not a model config field")
        setattr(locked, name, value.strip() if name == "base_url" else value)
    if owner is not ...:
        locked.owner = owner
    if api_key is not None:
        locked.set_api_key(api_key)
    _check_model_config(locked)
    locked.save()
    _keep_one_default(locked)
    return locked


def model_config_delete(*, config: ModelConfig) -> None:
    """Delete a config; agents using it keep running into MODEL_NOT_CONFIGURED until re-set."""
    config.delete()


def model_config_test(*, config: ModelConfig) -> dict[str, Any]:
    """Try the config against its endpoint: `{status: success|failed, message, latency_ms}`."""
    settings = runtime.model_settings(config)
    try:
        settings.validate()
        runtime.check_endpoint(config, settings)
    except LLMError as error:
        return {"status": "failed", "message": error.message, "latency_ms": 0}
    http_client = None if runtime.is_trusted(config) else runtime.guarded_http_client()
    try:
        ok, message, latency_ms = test_connection(settings, http_client=http_client)
    finally:
        if http_client is not None:
            http_client.close()
    return {"status": "success" if ok else "failed", "message": message,
            "latency_ms": latency_ms}


# -- agents ----------------------------------------------------------------------------------


def _snapshot(agent: Agent, *, author: Any, comment: str) -> AgentVersion:
    return AgentVersion.objects.create(
        agent=agent,
        number=agent.version,
        name=agent.name,
        description=agent.description,
        system_prompt=agent.system_prompt,
        model_config_id=agent.model_config_id,
        model_params=agent.model_params,
        tools=agent.tools,
        iteration_limit=agent.iteration_limit,
        workflow_config=agent.workflow_config,
        comment=comment,
        author=author,
    )


@transaction.atomic
def agent_create(
    *,
    owner: Any,
    name: str,
    description: str = "",
    system_prompt: str = "",
    model_config: ModelConfig | None = None,
    model_params: dict[str, Any] | None = None,
    tools: list[str] | None = None,
    iteration_limit: int | None = None,
    workflow_config: dict[str, Any] | None = None,
    comment: str = "Created",
) -> Agent:
    """Create a draft agent and its version 1 (inputs already validated by the caller)."""
    agent = Agent(
        owner=owner,
        name=name,
        description=description,
        system_prompt=system_prompt,
        model_config=model_config,
        model_params=model_params or {},
        tools=list(tools or []),
        workflow_config=workflow_config or {},
    )
    if iteration_limit is not None:
        agent.iteration_limit = iteration_limit
    agent.save()
    _snapshot(agent, author=owner, comment=comment)
    return agent


@transaction.atomic
def agent_update(*, agent: Agent, author: Any, comment: str = "", **changes: Any) -> Agent:
    """Apply changes as a new version; the previous versions stay as they were."""
    locked = Agent.objects.select_for_update().get(pk=agent.pk)
    changed = []
    for name, value in changes.items():
        if name not in AGENT_VERSIONED_FIELDS:
            raise ValueError(f"{name} is not an agent field")
        if value != getattr(locked, name):
            changed.append(name)
        setattr(locked, name, value)
    locked.version += 1
    locked.save()
    _snapshot(locked, author=author,
              comment=comment or (f"Changed {', '.join(changed)}" if changed else "Saved"))
    return Agent.objects.select_related("model_config").get(pk=locked.pk)


def agent_model_config(agent: Agent) -> ModelConfig:
    """The config the agent runs on; LLMError(NOT_CONFIGURED) says how to set one."""
    config = agent.model_config
    if config is None:
        raise LLMError(
            f"Agent {agent.name!r} has no model configured. {runtime.HOW_TO_CONFIGURE}",
            "NOT_CONFIGURED",
        )
    owner = agent.owner
    if config.owner_id not in (None, agent.owner_id) and not owner.is_platform_admin:
        # The config was made private to someone else after the agent chose it.
        raise LLMError(
            f"The model config of agent {agent.name!r} is no longer available to its owner. "
            f"{runtime.HOW_TO_CONFIGURE}",
            "NOT_CONFIGURED",
        )
    return config


def agent_set_status(*, agent: Agent, status: str) -> Agent:
    """Deploy (needs a working model config) or stop an agent."""
    if status == AgentStatus.DEPLOYED:
        try:
            config = agent_model_config(agent)
            runtime.model_settings(config, **runtime.agent_call_options(agent)).validate()
        except LLMError as error:
            raise runtime.api_error(error) from None
    elif status == AgentStatus.STOPPED and agent.status == AgentStatus.DRAFT:
        raise Conflict("Only a deployed agent can be stopped.", error_code="AGENT_NOT_DEPLOYED")
    agent.status = status
    agent.save(update_fields=["status", "updated_at"])
    return agent


@transaction.atomic
def agent_duplicate(*, agent: Agent, owner: Any) -> Agent:
    """A new draft agent of `owner` with the same configuration."""
    config = agent.model_config
    if config is not None and selectors.model_config_for(user=owner, config_id=config.pk) is None:
        config = None  # the copy's owner may not use the original's private config
    return agent_create(
        owner=owner,
        name=f"{agent.name} (copy)"[:200],
        description=agent.description,
        system_prompt=agent.system_prompt,
        model_config=config,
        model_params=dict(agent.model_params or {}),
        tools=list(agent.tools or []),
        iteration_limit=agent.iteration_limit,
        workflow_config=agent.workflow_config,
        comment=f"Duplicated from {agent.pk} v{agent.version}",
    )


def agent_export(*, agent: Agent) -> dict[str, Any]:
    """A portable document of the agent (its model config by reference, never its key)."""
    config = agent.model_config
    return {
        "agent": {
            "name": agent.name,
            "description": agent.description,
            "system_prompt": agent.system_prompt,
            "model_config": None if config is None else {
                "id": str(config.pk), "name": config.name,
                "provider": config.provider, "model": config.model,
            },
            "model_params": agent.model_params,
            "tools": agent.tools,
            "iteration_limit": agent.iteration_limit,
            "workflow_config": agent.workflow_config,
        },
        "exported_at": timezone.now().isoformat(),
        "format_version": EXPORT_FORMAT_VERSION,
    }


def agent_import(*, owner: Any, data: dict[str, Any]) -> Agent:
    """Create a draft agent from an exported document's (validated) `agent` part."""
    return agent_create(owner=owner, comment="Imported", **data)


def agent_delete(*, agent: Agent) -> None:
    """Delete an agent with its versions and chat sessions; call logs stay, unlinked."""
    agent.delete()


# -- running agents --------------------------------------------------------------------------


def agent_run(
    *,
    agent: Agent,
    owner_id: Any,
    messages: list[dict[str, Any]],
    execution_id: Any = None,
    node_id: str = "",
) -> AgentResult:
    """Run an agent to completion on a conversation; raises LLMError on failure."""
    config = agent_model_config(agent)
    hook = llm_call_logger(owner_id=owner_id, agent_id=agent.pk, execution_id=execution_id,
                           node_id=node_id)
    with runtime.llm_client(config, on_llm_call=hook, **runtime.agent_call_options(agent)) as c:
        return run_agent_to_completion(
            c,
            system_prompt=agent.system_prompt,
            messages=messages,
            tools=agent.tools or [],
            registry=default_registry(),
            ctx=tool_context(owner_id=str(owner_id), agent_id=str(agent.pk),
                             execution_id=str(execution_id) if execution_id else None),
            iteration_limit=agent.iteration_limit,
        )


@dataclass
class ChatTurn:
    """One user message to an agent, recorded, with the conversation to send."""

    agent: Agent
    config: ModelConfig
    session: ChatSession
    user_message: ChatMessage
    answer: ChatMessage
    messages: list[dict[str, Any]]
    owner_id: Any
    created_session: bool = False


@dataclass
class ChatReply:
    """The agent's answer to a turn."""

    session_id: str
    message_id: str
    text: str
    steps: list[dict[str, Any]]
    usage: dict[str, int]
    model: str = ""
    stopped_reason: str = "answered"

    def to_dict(self) -> dict[str, Any]:
        """The API's answer."""
        return {
            "session_id": self.session_id,
            "message_id": self.message_id,
            "text": self.text,
            "steps": self.steps,
            "usage": self.usage,
            "model": self.model,
            "stopped_reason": self.stopped_reason,
        }


def _title(message: str) -> str:
    line = " ".join(message.split())
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1] + "…"


@transaction.atomic
def _record_user_message(
    *, agent: Agent, user: Any, session: ChatSession | None, message: str
) -> tuple[ChatSession, ChatMessage, ChatMessage, bool]:
    """The user's message, and the assistant's placeholder that the turn fills in.

    The placeholder is written now so that a turn cut short anywhere (a disconnect before the
    first byte, a crash) still leaves the session ending with an assistant turn.
    """
    created = session is None
    if session is None:
        session = ChatSession.objects.create(agent=agent, owner=user, title=_title(message))
    else:
        ChatSession.objects.filter(pk=session.pk).update(updated_at=timezone.now())
    user_message = ChatMessage.objects.create(
        session=session, role=MessageRole.USER, content=message
    )
    answer = ChatMessage.objects.create(
        session=session, role=MessageRole.ASSISTANT, status=MessageStatus.INTERRUPTED
    )
    if answer.created_at <= user_message.created_at:
        # Messages are ordered by time; two writes within one clock tick must not swap.
        answer.created_at = user_message.created_at + timedelta(microseconds=1)
        ChatMessage.objects.filter(pk=answer.pk).update(created_at=answer.created_at)
    return session, user_message, answer, created


def chat_turn_begin(
    *, agent: Agent, user: Any, message: str, session_id: Any = None
) -> ChatTurn:
    """Check the agent can answer, then record the user's message (new session or `session_id`).

    Raises 404 for a session that is not the user's or not this agent's, 409 for a stopped
    agent and 422 MODEL_NOT_CONFIGURED (with how to fix it) for an agent without a usable model.
    """
    if agent.status == AgentStatus.STOPPED:
        raise Conflict(
            f"Agent {agent.name!r} is stopped; deploy it again (POST /api/v1/agents/{agent.pk}/"
            "deploy) to talk to it.",
            error_code="AGENT_STOPPED",
        )
    session = None
    if session_id is not None:
        session = selectors.chat_sessions_visible_to(user, agent_id=agent.pk).filter(
            pk=session_id
        ).first()
        if session is None:
            raise NotFound(f"No chat session {session_id} with this agent.")
    try:
        config = agent_model_config(agent)
        options = runtime.agent_call_options(agent)
        settings = runtime.model_settings(config, **options)
        settings.validate()
        runtime.check_endpoint(config, settings)
    except LLMError as error:
        raise runtime.api_error(error) from None
    history = selectors.session_history(session) if session is not None else []
    session, user_message, answer, created = _record_user_message(
        agent=agent, user=user, session=session, message=message
    )
    return ChatTurn(
        agent=agent,
        config=config,
        session=session,
        user_message=user_message,
        answer=answer,
        messages=[*history, {"role": "user", "content": message}],
        owner_id=user.pk,
        created_session=created,
    )


@transaction.atomic
def _record_answer(
    turn: ChatTurn,
    *,
    text: str,
    steps: list[dict[str, Any]],
    usage: dict[str, int],
    model: str = "",
    status: str = MessageStatus.COMPLETE,
    error: dict[str, Any] | None = None,
) -> ChatMessage:
    answer = turn.answer
    answer.content = text
    answer.steps = steps
    answer.usage = usage
    answer.model = model[:200]
    answer.status = status
    answer.error = error
    answer.save(update_fields=["content", "steps", "usage", "model", "status", "error"])
    ChatSession.objects.filter(pk=turn.session.pk).update(updated_at=timezone.now())
    return answer


def _error_document(error: LLMError) -> dict[str, Any]:
    code, http_status = runtime.api_error_code(error)
    return {"message": error.message, "code": code, "status_code": http_status}


def chat_turn_complete(*, turn: ChatTurn) -> ChatReply:
    """Run the turn to the end and record the answer; an LLM failure is recorded and raised."""
    try:
        result = agent_run(agent=turn.agent, owner_id=turn.owner_id, messages=turn.messages)
    except LLMError as error:
        _record_answer(turn, text="", steps=[], usage={}, status=MessageStatus.ERROR,
                       error=_error_document(error))
        raise runtime.api_error(error) from None
    answer = _record_answer(turn, text=result.text, steps=result.steps,
                            usage=result.usage.to_dict(), model=result.model)
    return ChatReply(
        session_id=str(turn.session.pk),
        message_id=str(answer.pk),
        text=result.text,
        steps=result.steps,
        usage=result.usage.to_dict(),
        model=result.model,
        stopped_reason=result.stopped_reason,
    )


@dataclass
class _StreamState:
    """What a streamed turn has produced so far, to record however the stream ends."""

    text: list[str] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    pending_calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    recorded: bool = False


def chat_turn_stream(*, turn: ChatTurn) -> Iterator[tuple[str, dict[str, Any]]]:
    """Run the turn streaming: yields (event, data) for token, tool_call, tool_result, done, error.

    The answer is recorded before `done` is yielded; if the reader goes away first (the client
    disconnected, so this generator is closed), what was said so far is recorded as an
    interrupted answer, so the session always ends with the assistant's turn.
    """
    state = _StreamState()
    agent = turn.agent
    session_id = str(turn.session.pk)
    log_call = llm_call_logger(owner_id=turn.owner_id, agent_id=agent.pk)

    def on_llm_call(record: LLMCallRecord) -> None:
        state.usage = state.usage + Usage(record.prompt_tokens, record.completion_tokens,
                                          record.total_tokens)
        state.model = record.model or state.model
        log_call(record)

    events = None
    resources: list[Any] = []
    try:
        try:
            client, resources = runtime.open_llm_client(
                turn.config, on_llm_call=on_llm_call, **runtime.agent_call_options(agent)
            )
        except LLMError as error:
            state.recorded = True
            _record_answer(turn, text="", steps=[], usage={}, status=MessageStatus.ERROR,
                           error=_error_document(error))
            yield "error", {**_error_document(error), "session_id": session_id}
            return
        events = run_agent(
            client,
            system_prompt=agent.system_prompt,
            messages=turn.messages,
            tools=agent.tools or [],
            registry=default_registry(),
            ctx=tool_context(owner_id=str(turn.owner_id), agent_id=str(agent.pk)),
            iteration_limit=agent.iteration_limit,
            stream=True,
        )
        for event in events:
            if event.type == "token":
                state.text.append(event.text)
                yield "token", event.to_dict()
            elif event.type == "tool_call":
                state.text.clear()  # words said next to a tool call are not the answer
                state.pending_calls[event.id] = event.to_dict()
                yield "tool_call", event.to_dict()
            elif event.type == "tool_result":
                call = state.pending_calls.pop(event.id, {})
                # The loop's own steps (with iterations) arrive with `done`; these stand in for
                # them only if the stream is cut short.
                state.steps.append({
                    "type": "tool_call", "id": event.id, "name": event.name,
                    "arguments": call.get("arguments", {}), "result": event.result,
                    "is_error": event.is_error, "iteration": None,
                })
                yield "tool_result", event.to_dict()
            elif event.type == "done":
                state.recorded = True
                answer = _record_answer(turn, text=event.text, steps=event.steps,
                                        usage=event.usage.to_dict(), model=event.model)
                yield "done", {**event.to_dict(), "session_id": session_id,
                               "message_id": str(answer.pk)}
            elif event.type == "error":
                error = LLMError(event.message, event.code, event.status_code, event.retryable)
                state.recorded = True
                _record_answer(turn, text="".join(state.text), steps=state.steps,
                               usage=state.usage.to_dict(), model=state.model,
                               status=MessageStatus.ERROR, error=_error_document(error))
                yield "error", {**_error_document(error), "session_id": session_id}
    except Exception:
        # A bug or a database failure mid-stream: the client gets an error event, not a cut.
        logger.exception("Streaming a chat turn of agent %s failed", agent.pk)
        internal = {"message": "An internal error occurred.", "code": "INTERNAL_ERROR",
                    "status_code": 500}
        if not state.recorded:
            state.recorded = True
            try:
                _record_answer(turn, text="".join(state.text), steps=state.steps,
                               usage=state.usage.to_dict(), model=state.model,
                               status=MessageStatus.ERROR, error=internal)
            except Exception:
                logger.exception("Could not record the failed answer of %s", session_id)
        yield "error", {"message": "An internal error occurred.", "code": "INTERNAL_ERROR",
                        "status_code": 500, "session_id": session_id}
    finally:
        if events is not None:
            events.close()  # stops the model's stream now; its call is logged as cancelled
        runtime.close_all(resources)
        if not state.recorded:
            try:
                _record_answer(turn, text="".join(state.text), steps=state.steps,
                               usage=state.usage.to_dict(), model=state.model,
                               status=MessageStatus.INTERRUPTED)
            except Exception:
                # Raising here would replace the GeneratorExit of a disconnect.
                logger.exception("Could not record the interrupted answer of %s", session_id)
