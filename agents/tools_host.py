"""The host services agent tools call (`ToolContext.services`), backed by the platform.

Each service is a plain callable taking keyword arguments, as `agents.llm.tools` expects; a
service whose backing app is not installed yet raises ToolError, which the model sees as the
tool's result.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from agents.llm import ToolContext, ToolError, default_registry
from datasources.outbound import OutboundError
from platform_site.api.errors import APIError
from platform_site.outbound import outbound_client

logger = logging.getLogger(__name__)

HTTP_TOOL_TIMEOUT_S = 30.0


def tool_names() -> list[str]:
    """Names of the tools an agent may list."""
    return default_registry().names()


def tool_catalog() -> list[dict[str, Any]]:
    """Every tool with its description and JSON parameters, for clients building agents."""
    registry = default_registry()
    catalog = []
    for name in registry.names():
        tool = registry.get(name)
        assert tool is not None
        catalog.append(
            {"name": name, "description": tool.description, "parameters": tool.parameters}
        )
    return catalog


def tool_context(
    *,
    owner_id: str,
    agent_id: str | None = None,
    execution_id: str | None = None,
) -> ToolContext:
    """The ToolContext of one agent run on behalf of `owner_id`."""
    return ToolContext(
        services={
            "http_request": http_request,
            "evaluate_expression": evaluate_expression,
            "run_workflow": partial(run_workflow, owner_id=owner_id),
            "datasource_query": partial(datasource_query, owner_id=owner_id),
        },
        metadata={"user_id": owner_id, "agent_id": agent_id, "execution_id": execution_id},
    )


def http_request(
    *, method: str, url: str, headers: dict[str, Any] | None = None, body: Any = None
) -> dict[str, Any]:
    """An SSRF-guarded request under the settings' outbound policy."""
    kwargs: dict[str, Any] = {}
    if isinstance(body, str | bytes):
        kwargs["content"] = body
    elif body is not None:
        kwargs["json"] = body
    try:
        response = outbound_client().request(
            method,
            url,
            headers={str(k): str(v) for k, v in (headers or {}).items()},
            timeout=HTTP_TOOL_TIMEOUT_S,
            **kwargs,
        )
    except OutboundError as exc:
        raise ToolError(f"The request was not completed: {exc.message}") from None
    return {"status_code": response.status_code, "headers": response.headers,
            "body": response.body}


def evaluate_expression(expression: str) -> Any:
    """The value of an expression under the workflow engine's safe evaluator."""
    try:
        # Imported here: the engine is optional for everything else in this module.
        from workflows.engine import ExpressionError, compile_expression
    except ImportError:
        raise ToolError("The expression evaluator is not available on this platform.") from None
    try:
        return compile_expression(expression).evaluate({})
    except ExpressionError as exc:
        raise ToolError(f"Could not evaluate {expression!r}: {exc}") from None


def run_workflow(*, owner_id: str, workflow_id: str, input_data: dict[str, Any]) -> Any:
    """Run one of the owner's workflows and wait for its output."""
    from django.core.exceptions import ValidationError as DjangoValidationError
    from rest_framework.exceptions import ValidationError

    from executions.services import execution_run_sync
    from workflows.models import Workflow

    if not isinstance(input_data, dict):
        raise ToolError("`input_data` must be an object.")
    try:
        return execution_run_sync(owner_id=owner_id, workflow_id=workflow_id,
                                  input_data=input_data)
    except (Workflow.DoesNotExist, DjangoValidationError):
        raise ToolError(f"You have no workflow {workflow_id!r}.") from None
    except ValidationError as exc:
        raise ToolError(f"The workflow's input is not valid: {exc.detail}") from None
    except APIError as exc:
        raise ToolError(f"The workflow cannot run: {exc.detail}") from None


def datasource_query(
    *, owner_id: str, data_source_id: str, query: str, params: dict[str, Any]
) -> Any:
    """A read-only query on one of the owner's own data sources."""
    try:
        from datasources.models import DataSource
        from datasources.services import datasource_query_for_owner
    except ImportError:
        raise ToolError(
            "Querying data sources from an agent is not available on this platform yet."
        ) from None
    try:
        return datasource_query_for_owner(
            owner_id=owner_id, data_source_id=data_source_id, query=query, params=params
        )
    except DataSource.DoesNotExist:
        raise ToolError(f"You have no data source {data_source_id!r}.") from None
    except APIError as exc:
        raise ToolError(f"The query failed: {exc.detail}") from None
