"""Tools an agent's model may call: the base class, the registry and the built-in tools.

Tools that need the platform (HTTP with SSRF checks, data sources, workflows, the safe expression
evaluator) don't import it: they call host-provided callables from `ToolContext.services`, so this
package stays free of Django and each host decides what a tool may reach.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# OpenAI's rule for function names; other servers accept the same set.
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


class ToolError(Exception):
    """A tool could not do what was asked; the message goes back to the model as the result."""


@dataclass
class ToolContext:
    """What a tool run may use: host services by name, plus who and what it runs for."""

    services: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)  # user_id, agent_id, execution_id...

    def service(self, name: str) -> Callable[..., Any]:
        """The host callable `name`, or a ToolError saying the host did not provide it."""
        service = self.services.get(name)
        if service is None:
            raise ToolError(
                f"The {name!r} service is not available in this context, so this tool cannot run "
                f"here (the host must provide services[{name!r}])."
            )
        return service


class Tool:
    """A function the model can call; subclasses set the class attributes and implement `run`."""

    name: ClassVar[str]
    description: ClassVar[str]
    parameters: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}}

    def run(self, arguments: dict[str, Any], ctx: ToolContext) -> dict[str, Any] | str:
        """Do the work; raise ToolError with a message the model can act on."""
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        """This tool in the OpenAI `tools` format."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    def check_arguments(self, arguments: dict[str, Any]) -> str | None:
        """A message if required or top-level typed arguments are wrong, else None.

        Deliberately shallow: it catches the usual model slips (a missing field, a number sent as
        text) so the model gets a precise message; tools check deeper values themselves.
        """
        properties = self.parameters.get("properties", {})
        missing = [name for name in self.parameters.get("required", []) if name not in arguments]
        if missing:
            return f"missing required argument(s): {', '.join(missing)}"
        for name, value in arguments.items():
            expected = properties.get(name, {}).get("type")
            if not isinstance(expected, str) or expected not in _JSON_TYPES or value is None:
                continue
            is_bool = isinstance(value, bool)
            if not isinstance(value, _JSON_TYPES[expected]) or (is_bool and expected != "boolean"):
                return f"argument {name!r} must be of type {expected}"
        return None


class ToolRegistry:
    """Tools by name; an agent's config names which of them its model may use."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: Tool | type[Tool]) -> Tool:
        """Add a tool (an instance, or a class to instantiate); a name can only be used once."""
        instance = tool() if isinstance(tool, type) else tool
        if not _TOOL_NAME.match(instance.name):
            raise ValueError(f"Tool name {instance.name!r} must match {_TOOL_NAME.pattern}")
        if instance.name in self._tools:
            raise ValueError(f"A tool named {instance.name!r} is already registered")
        self._tools[instance.name] = instance
        return instance

    def get(self, name: str) -> Tool | None:
        """The tool called `name`, or None."""
        return self._tools.get(name)

    def names(self) -> list[str]:
        """All registered tool names, sorted."""
        return sorted(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def schemas(self, names: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """The named tools (default: all) in OpenAI `tools` format; unknown names raise KeyError."""
        chosen = self.names() if names is None else list(names)
        unknown = [name for name in chosen if name not in self._tools]
        if unknown:
            raise KeyError(
                f"Unknown tool(s): {', '.join(unknown)}; known: {', '.join(self.names())}"
            )
        return [self._tools[name].schema() for name in chosen]


# -- built-in tools ------------------------------------------------------------------------------


class CalculatorTool(Tool):
    """Arithmetic through the platform's safe expression evaluator (never eval)."""

    name = "calculator"
    description = (
        "Evaluate an arithmetic or comparison expression, e.g. '(3 + 4) * 2' or '17 % 5'. "
        "Returns the exact result; use it instead of doing arithmetic yourself."
    )
    parameters = {
        "type": "object",
        "properties": {"expression": {"type": "string", "description": "The expression."}},
        "required": ["expression"],
    }

    def run(self, arguments: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        """Evaluate `expression` with services['evaluate_expression']."""
        expression = str(arguments["expression"]).strip()
        if not expression:
            raise ToolError("The expression is empty.")
        evaluate = ctx.service("evaluate_expression")
        return {"expression": expression, "result": _jsonable(evaluate(expression))}


class CurrentTimeTool(Tool):
    """The current date and time."""

    name = "current_time"
    description = (
        "Get the current date and time in ISO 8601, in UTC or in a given IANA time zone "
        "such as 'Europe/Paris' or 'America/New_York'."
    )
    parameters = {
        "type": "object",
        "properties": {
            "timezone": {"type": "string", "description": "IANA time zone name; default UTC."}
        },
    }

    def run(self, arguments: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        """Now, in the requested zone; `services['now']` may supply the clock (tests, replays)."""
        name = str(arguments.get("timezone") or "UTC").strip()
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ToolError(
                f"Unknown time zone {name!r}; use an IANA name such as 'UTC' or 'Europe/Paris'."
            ) from None
        clock = ctx.services.get("now")
        now = clock() if clock is not None else datetime.now(UTC)
        local = now.astimezone(zone)
        return {
            "datetime": local.isoformat(),
            "timezone": name,
            "weekday": local.strftime("%A"),
            "unix": int(now.timestamp()),
        }


class HttpRequestTool(Tool):
    """An HTTP request through the host's guarded client (services['http_request'])."""

    name = "http_request"
    description = "Make an HTTP request to a URL and get the status code, headers and body."
    parameters = {
        "type": "object",
        "properties": {
            "method": {
                "type": "string",
                "enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"],
                "description": "HTTP method; default GET.",
            },
            "url": {"type": "string", "description": "Absolute http(s) URL."},
            "headers": {"type": "object", "description": "Request headers."},
            "body": {"description": "JSON body or text, for POST/PUT/PATCH."},
        },
        "required": ["url"],
    }
    _METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"})

    def run(self, arguments: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        """Call services['http_request'](method=, url=, headers=, body=), which does SSRF checks."""
        method = str(arguments.get("method") or "GET").upper()
        if method not in self._METHODS:
            raise ToolError(
                f"Method {method!r} is not allowed; use one of {sorted(self._METHODS)}."
            )
        url = str(arguments["url"]).strip()
        if not url.lower().startswith(("http://", "https://")):
            raise ToolError("The url must be an absolute http:// or https:// URL.")
        request = ctx.service("http_request")
        return _jsonable(
            request(
                method=method,
                url=url,
                headers=arguments.get("headers") or {},
                body=arguments.get("body"),
            )
        )


class DatasourceQueryTool(Tool):
    """A read-only query on one of the user's data sources (services['datasource_query'])."""

    name = "datasource_query"
    description = (
        "Run a read-only query on a configured data source and get {data, count, columns}. "
        "SQL sources accept SELECT statements only."
    )
    parameters = {
        "type": "object",
        "properties": {
            "data_source_id": {"type": "string", "description": "The data source's id."},
            "query": {"type": "string", "description": "SQL SELECT, or the source's query syntax."},
            "params": {"type": "object", "description": "Named query parameters."},
        },
        "required": ["data_source_id", "query"],
    }

    def run(self, arguments: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        """Call services['datasource_query'](data_source_id=, query=, params=)."""
        query = ctx.service("datasource_query")
        return _jsonable(
            query(
                data_source_id=str(arguments["data_source_id"]),
                query=str(arguments["query"]),
                params=arguments.get("params") or {},
            )
        )


class RunWorkflowTool(Tool):
    """Run one of the user's workflows and return its output (services['run_workflow'])."""

    name = "run_workflow"
    description = "Run a workflow by id with the given input data and return its output data."
    parameters = {
        "type": "object",
        "properties": {
            "workflow_id": {"type": "string", "description": "The workflow's id."},
            "input_data": {"type": "object", "description": "The workflow's input."},
        },
        "required": ["workflow_id"],
    }

    def run(self, arguments: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        """Call services['run_workflow'](workflow_id=, input_data=)."""
        run_workflow = ctx.service("run_workflow")
        return _jsonable(
            run_workflow(
                workflow_id=str(arguments["workflow_id"]),
                input_data=arguments.get("input_data") or {},
            )
        )


BUILTIN_TOOLS: tuple[type[Tool], ...] = (
    CalculatorTool,
    CurrentTimeTool,
    HttpRequestTool,
    DatasourceQueryTool,
    RunWorkflowTool,
)


def default_registry() -> ToolRegistry:
    """A new registry holding the built-in tools (hosts may register more on it)."""
    return ToolRegistry(tool() for tool in BUILTIN_TOOLS)


def _jsonable(value: Any) -> Any:
    """Values as JSON can hold them: Decimal, datetime and other scalars become str or float."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    try:
        as_float = float(value)  # Decimal, Fraction, numpy scalars
    except (TypeError, ValueError):
        return str(value)
    return int(as_float) if as_float.is_integer() and "." not in str(value) else as_float
