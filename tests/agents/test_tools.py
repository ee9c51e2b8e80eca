"""The tool registry and the built-in tools, which reach the platform only through ctx.services."""

from datetime import datetime
from decimal import Decimal

import pytest

from agents.llm import Tool, ToolContext, ToolError, ToolRegistry, default_registry
from agents.llm.tools import CalculatorTool, CurrentTimeTool


class EchoTool(Tool):
    name = "echo"
    description = "Echo the text."
    parameters = {
        "type": "object",
        "properties": {"text": {"type": "string"}, "times": {"type": "integer"}},
        "required": ["text"],
    }

    def run(self, arguments, ctx):
        return {"echo": arguments["text"] * arguments.get("times", 1)}


def test_the_registry_gives_tools_by_name_and_schemas_in_openai_format():
    registry = ToolRegistry([EchoTool()])

    assert registry.get("echo").name == "echo"
    assert registry.get("nope") is None
    assert "echo" in registry
    assert registry.schemas(["echo"]) == [
        {
            "type": "function",
            "function": {
                "name": "echo",
                "description": "Echo the text.",
                "parameters": EchoTool.parameters,
            },
        }
    ]


def test_a_tool_class_can_be_registered_and_names_are_unique():
    registry = ToolRegistry()
    registry.register(EchoTool)

    with pytest.raises(ValueError, match="already registered"):
        registry.register(EchoTool())


def test_a_tool_name_the_model_apis_would_reject_is_refused():
    class Spaced(EchoTool):
        name = "echo it"

    with pytest.raises(ValueError, match="must match"):
        ToolRegistry().register(Spaced())


def test_asking_for_the_schema_of_an_unknown_tool_names_the_known_ones():
    with pytest.raises(KeyError, match="echo"):
        ToolRegistry([EchoTool()]).schemas(["echo", "ghost"])


def test_the_default_registry_holds_the_built_in_tools():
    assert default_registry().names() == [
        "calculator",
        "current_time",
        "datasource_query",
        "http_request",
        "run_workflow",
    ]
    for schema in default_registry().schemas():
        assert schema["function"]["parameters"]["type"] == "object"


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({}, "missing required argument(s): text"),
        ({"text": 5}, "argument 'text' must be of type string"),
        ({"text": "a", "times": "3"}, "argument 'times' must be of type integer"),
        ({"text": "a", "times": True}, "argument 'times' must be of type integer"),
        ({"text": "a", "times": 3}, None),
    ],
)
def test_argument_checks_catch_missing_and_mistyped_arguments(arguments, problem):
    assert EchoTool().check_arguments(arguments) == problem


def test_calculator_uses_the_hosts_safe_evaluator():
    seen = []

    def evaluate(expression):
        seen.append(expression)
        return Decimal("14")

    ctx = ToolContext(services={"evaluate_expression": evaluate})
    result = CalculatorTool().run({"expression": " (3 + 4) * 2 "}, ctx)

    assert seen == ["(3 + 4) * 2"]
    assert result == {"expression": "(3 + 4) * 2", "result": 14}


def test_calculator_fails_clearly_without_an_evaluator():
    with pytest.raises(ToolError, match="evaluate_expression"):
        CalculatorTool().run({"expression": "1 + 1"}, ToolContext())


def test_current_time_is_iso_8601_in_the_requested_time_zone():
    result = CurrentTimeTool().run({"timezone": "Asia/Tokyo"}, ToolContext())

    moment = datetime.fromisoformat(result["datetime"])
    assert moment.utcoffset().total_seconds() == 9 * 3600
    assert result["timezone"] == "Asia/Tokyo"


def test_current_time_defaults_to_utc_and_can_use_a_host_clock():
    fixed = datetime.fromisoformat("2025-03-01T12:00:00+00:00")
    result = CurrentTimeTool().run({}, ToolContext(services={"now": lambda: fixed}))

    assert result["datetime"] == "2025-03-01T12:00:00+00:00"
    assert result["weekday"] == "Saturday"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd"])
def test_current_time_rejects_unknown_time_zones_with_a_hint(zone):
    with pytest.raises(ToolError, match="IANA"):
        CurrentTimeTool().run({"timezone": zone}, ToolContext())


@pytest.mark.parametrize(
    ("tool_name", "arguments", "service", "expected_call"),
    [
        (
            "http_request",
            {"url": "https://example.org/x", "method": "post", "body": {"a": 1}},
            "http_request",
            {"method": "POST", "url": "https://example.org/x", "headers": {}, "body": {"a": 1}},
        ),
        (
            "datasource_query",
            {"data_source_id": "ds-1", "query": "SELECT 1"},
            "datasource_query",
            {"data_source_id": "ds-1", "query": "SELECT 1", "params": {}},
        ),
        (
            "run_workflow",
            {"workflow_id": "wf-1", "input_data": {"q": "hi"}},
            "run_workflow",
            {"workflow_id": "wf-1", "input_data": {"q": "hi"}},
        ),
    ],
)
def test_host_backed_tools_call_their_service_with_keyword_arguments(
    tool_name, arguments, service, expected_call
):
    calls = []

    def fake_service(**kwargs):
        calls.append(kwargs)
        return {"ok": True, "when": datetime(2025, 1, 1)}

    tool = default_registry().get(tool_name)
    result = tool.run(arguments, ToolContext(services={service: fake_service}))

    assert calls == [expected_call]
    assert result == {"ok": True, "when": "2025-01-01T00:00:00"}


@pytest.mark.parametrize(
    ("tool_name", "arguments"),
    [
        ("http_request", {"url": "https://example.org"}),
        ("datasource_query", {"data_source_id": "ds-1", "query": "SELECT 1"}),
        ("run_workflow", {"workflow_id": "wf-1"}),
    ],
)
def test_host_backed_tools_fail_clearly_when_the_host_gives_no_service(tool_name, arguments):
    tool = default_registry().get(tool_name)

    with pytest.raises(ToolError, match=f"'{tool_name}' service is not available"):
        tool.run(arguments, ToolContext())


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://x", "example.org"])
def test_http_request_refuses_urls_that_are_not_absolute_http(url):
    ctx = ToolContext(services={"http_request": lambda **kwargs: pytest.fail("called")})

    with pytest.raises(ToolError, match="http"):
        default_registry().get("http_request").run({"url": url}, ctx)
