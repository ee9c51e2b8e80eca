"""The `llm` and `agent` node types, registered on the engine's registry on import.

Both call a model, so they are blocking (the runner runs them on its worker threads). The host
(the executions app) passes `services["owner_id"]` and `services["execution_id"]`, and may pass
`services["emit_token"]` (a callable of node id and text) to receive the answer as it streams.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from agents.llm import PROVIDERS, Completion, DoneEvent, LLMError, TokenEvent
from workflows.engine import (
    Compiler,
    Field,
    Issue,
    NodeContext,
    NodeError,
    NodeType,
    default_registry,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

HOW_TO_CONFIGURE_NODE = (
    "Set `model_config_id` to one of the configs listed by GET /api/v1/model-configs (create "
    "one with POST /api/v1/model-configs), or set `provider` and `model` to use your (or the "
    "shared) default config of that provider."
)


def _using_db(work: Callable[[], T]) -> T:
    """Run `work` and close this thread's database connections unless a transaction is open.

    The runner's pool threads are short-lived: a connection opened there would otherwise stay
    open until the thread is garbage collected.
    """
    from django.db import connections

    try:
        return work()
    finally:
        for connection in connections.all(initialized_only=True):
            if not connection.in_atomic_block:
                connection.close()


def _owner(ctx: NodeContext, node_type: str) -> Any:
    from agents import selectors

    owner_id = ctx.services.get("owner_id")
    if not owner_id:
        raise NodeError(f"An {node_type} node runs only inside an execution (no owner given).")
    user = selectors.user_by_id(owner_id)
    if user is None:
        raise NodeError(f"The workflow's owner {owner_id} no longer exists.")
    return user


def _check_uuid(config: Mapping[str, Any], name: str) -> list[Issue]:
    value = config.get(name)
    if value in (None, "") or (isinstance(value, str) and "{" in value):
        return []
    try:
        uuid.UUID(str(value))
    except ValueError:
        return [Issue(None, "INVALID_CONFIG", f"'{name}' must be an id (a UUID).")]
    return []


def _llm_failure(error: LLMError) -> NodeError:
    return NodeError(f"The model call failed ({error.code}): {error.message}")


@default_registry.register
class LLMNode(NodeType):
    """Sends a rendered prompt to a configured model; outputs {text, usage, model}."""

    type_name = "llm"
    description = (
        "Asks a model: `prompt` and `system_prompt` are templates; the model is "
        "`model_config_id`, or `provider` (+ `model`) for the default config of that provider. "
        "Outputs {text, usage, model}."
    )
    blocking = True
    config_fields = (
        Field("model_config_id", "string", description="A model config's id"),
        Field("provider", "string",
              description="With no model_config_id: use the default config of this provider"),
        Field("model", "string", description="Model name (overrides the config's)"),
        Field("prompt", "template", required=True, description="The user message"),
        Field("system_prompt", "template", description="The system message"),
        Field("temperature", "float", min_value=0, max_value=2),
        Field("max_tokens", "int", min_value=1),
    )

    def validate_config(self, config: Mapping[str, Any], compiler: Compiler | None = None
                        ) -> list[Issue]:
        """Schema checks plus a well-formed config id and a known provider."""
        issues = super().validate_config(config, compiler)
        issues += _check_uuid(config, "model_config_id")
        provider = config.get("provider")
        if isinstance(provider, str) and provider and provider not in PROVIDERS:
            issues.append(Issue(None, "INVALID_CONFIG",
                                f"'provider' must be one of {', '.join(sorted(PROVIDERS))}."))
        return issues

    def run(self, ctx: NodeContext) -> dict[str, Any]:
        """Resolve the model among the owner's configs, render the prompts, call the model."""
        messages: list[dict[str, Any]] = []
        system_prompt = ctx.config.get("system_prompt")
        if system_prompt:
            messages.append({"role": "system", "content": ctx.render(system_prompt)})
        messages.append({"role": "user", "content": ctx.render(ctx.config["prompt"])})
        completion = _using_db(lambda: self._call(ctx, messages))
        usage = completion.usage.to_dict()
        ctx.log("info", f"{completion.model} answered in {completion.latency_ms} ms using "
                        f"{usage['total_tokens']} tokens.",
                usage=usage, latency_ms=completion.latency_ms, model=completion.model)
        return {"text": completion.text, "usage": usage, "model": completion.model}

    def _call(self, ctx: NodeContext, messages: list[dict[str, Any]]) -> Completion:
        from agents import runtime, services

        config = self._model_config(ctx)
        hook = services.llm_call_logger(
            owner_id=ctx.services.get("owner_id"), execution_id=ctx.services.get("execution_id"),
            node_id=ctx.node_id,
        )
        defaults = {key: ctx.config.get(key) for key in ("temperature", "max_tokens")}
        emit = ctx.services.get("emit_token")
        try:
            with runtime.llm_client(config, model=ctx.config.get("model") or None,
                                    defaults=defaults, on_llm_call=hook) as client:
                if not callable(emit):
                    return client.complete(messages)
                return self._stream(ctx, client, messages, emit)
        except LLMError as error:
            raise _llm_failure(error) from None

    def _stream(self, ctx: NodeContext, client: Any, messages: list[dict[str, Any]],
                emit: Callable[[str, str], Any]) -> Completion:
        events = client.stream(messages)
        try:
            for event in events:
                if ctx.cancel_requested():
                    raise NodeError("Cancelled while the model was answering.")
                if isinstance(event, TokenEvent):
                    try:
                        emit(ctx.node_id, event.text)
                    except Exception:
                        # Live tokens are a nicety; the node's output still carries the text.
                        logger.exception("emit_token failed for node %s", ctx.node_id)
                elif isinstance(event, DoneEvent):
                    return event.completion
        finally:
            events.close()
        raise NodeError("The model's stream ended without an answer.")

    def _model_config(self, ctx: NodeContext) -> Any:
        from agents import selectors

        user = _owner(ctx, "llm")
        config_id = ctx.config.get("model_config_id")
        provider = ctx.config.get("provider")
        if config_id:
            config = selectors.model_config_for(user=user, config_id=config_id)
            if config is None:
                raise NodeError(
                    f"Model config {config_id!r} was not found among the configs the workflow's "
                    f"owner may use. {HOW_TO_CONFIGURE_NODE}"
                )
            return config
        if provider:
            config = selectors.model_config_for_provider(
                user=user, provider=provider, model=ctx.config.get("model") or None
            )
            if config is None:
                raise NodeError(
                    f"There is no model config for provider {provider!r} that the workflow's "
                    f"owner may use. {HOW_TO_CONFIGURE_NODE}"
                )
            return config
        raise NodeError(f"No model is configured for this llm node. {HOW_TO_CONFIGURE_NODE}")


@default_registry.register
class AgentNode(NodeType):
    """Runs one of the owner's agents on a rendered message; outputs {text, steps, usage}."""

    type_name = "agent"
    description = (
        "Runs an agent (with its tools) on `message`, a template. Outputs {text, steps, usage}."
    )
    blocking = True
    config_fields = (
        Field("agent_id", "template", required=True,
              description="The agent's id (a template, e.g. {input.agent_id})"),
        Field("message", "template", required=True, description="The message to the agent"),
    )

    def validate_config(self, config: Mapping[str, Any], compiler: Compiler | None = None
                        ) -> list[Issue]:
        """Schema checks plus a well-formed agent id (when it is not a template)."""
        return super().validate_config(config, compiler) + _check_uuid(config, "agent_id")

    def run(self, ctx: NodeContext) -> dict[str, Any]:
        """Look the agent up among the owner's and run it to its answer."""
        agent_id = str(ctx.render_value(ctx.config["agent_id"])).strip()
        message = ctx.render(ctx.config["message"])
        result = _using_db(lambda: self._run_agent(ctx, agent_id, message))
        ctx.log("info", f"Agent answered after {result.iterations} model call(s) and "
                        f"{len(result.steps)} tool call(s).",
                usage=result.usage.to_dict(), stopped_reason=result.stopped_reason)
        return {"text": result.text, "steps": result.steps, "usage": result.usage.to_dict()}

    def _run_agent(self, ctx: NodeContext, agent_id: str, message: str) -> Any:
        from agents import selectors, services
        from agents.models import AgentStatus

        user = _owner(ctx, "agent")
        agent = selectors.agent_for(user=user, agent_id=agent_id)
        if agent is None:
            raise NodeError(f"Agent {agent_id!r} was not found among the workflow owner's agents.")
        if agent.status == AgentStatus.STOPPED:
            raise NodeError(f"Agent {agent.name!r} is stopped; deploy it to use it here.")
        try:
            return services.agent_run(
                agent=agent, owner_id=user.pk, messages=[{"role": "user", "content": message}],
                execution_id=ctx.services.get("execution_id"), node_id=ctx.node_id,
            )
        except LLMError as error:
            raise _llm_failure(error) from None
