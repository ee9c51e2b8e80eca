"""run_agent: the model calls tools until it answers; every failure ends in a clear event."""

import json

import pytest

from agents.llm import (
    AgentDoneEvent,
    ErrorEvent,
    LLMError,
    TokenEvent,
    Tool,
    ToolCallEvent,
    ToolContext,
    ToolError,
    ToolRegistry,
    ToolResultEvent,
    run_agent,
    run_agent_to_completion,
)
from agents.llm.tools import CalculatorTool, CurrentTimeTool
from tests.support.openai_server import error_reply, text_reply, tool_call_reply

HISTORY = [{"role": "user", "content": "What is 6*7, and what time is it in Tokyo?"}]


class ExplodingTool(Tool):
    name = "explode"
    description = "Always fails."

    def run(self, arguments, ctx):
        raise RuntimeError("disk on fire")


class PoliteFailureTool(Tool):
    name = "polite"
    description = "Fails the expected way."

    def run(self, arguments, ctx):
        raise ToolError("The record does not exist; try another id.")


class BigTool(Tool):
    name = "big"
    description = "Returns a lot."

    def run(self, arguments, ctx):
        return "x" * 5000


@pytest.fixture
def registry() -> ToolRegistry:
    return ToolRegistry([CalculatorTool(), CurrentTimeTool(), ExplodingTool(), PoliteFailureTool()])


@pytest.fixture
def ctx() -> ToolContext:
    return ToolContext(services={"evaluate_expression": lambda expression: 42})


def agent(client, registry, ctx, *, tools=("calculator", "current_time"), **options):
    """Run the agent with this module's defaults and collect its events."""
    options.setdefault("iteration_limit", 5)
    return list(
        run_agent(
            client,
            system_prompt="You are a helpful assistant.",
            messages=HISTORY,
            tools=list(tools),
            registry=registry,
            ctx=ctx,
            **options,
        )
    )


def event_kinds(events):
    return [event.type for event in events]


@pytest.mark.parametrize("stream", [False, True])
def test_the_agent_calls_two_tools_then_answers(client, openai_server, registry, ctx, stream):
    openai_server.push(
        tool_call_reply(
            ("calculator", {"expression": "6*7"}, "call_calc"),
            ("current_time", {"timezone": "Asia/Tokyo"}, "call_time"),
            prompt_tokens=30,
            completion_tokens=10,
        ),
        text_reply(
            "6*7 is 42.", chunks=["6*7 ", "is ", "42."], prompt_tokens=50, completion_tokens=6
        ),
    )

    events = agent(client, registry, ctx, stream=stream)

    assert event_kinds(events) == (
        ["tool_call", "tool_result", "tool_call", "tool_result"]
        + (["token"] * 3 if stream else ["token"])
        + ["done"]
    )
    assert events[0] == ToolCallEvent("call_calc", "calculator", {"expression": "6*7"})
    assert events[1].result == {"expression": "6*7", "result": 42}
    assert events[3].name == "current_time" and events[3].is_error is False
    assert "".join(e.text for e in events if isinstance(e, TokenEvent)) == "6*7 is 42."
    done = events[-1]
    assert isinstance(done, AgentDoneEvent)
    assert done.text == "6*7 is 42."
    assert done.stopped_reason == "answered"
    assert done.iterations == 2
    assert [(s["type"], s["name"], s["arguments"]) for s in done.steps] == [
        ("tool_call", "calculator", {"expression": "6*7"}),
        ("tool_call", "current_time", {"timezone": "Asia/Tokyo"}),
    ]
    assert done.steps[0]["result"] == {"expression": "6*7", "result": 42}


def test_usage_is_summed_over_every_model_call(client, openai_server, registry, ctx):
    openai_server.push(
        tool_call_reply(
            ("calculator", {"expression": "1+1"}), prompt_tokens=30, completion_tokens=10
        ),
        text_reply("2", prompt_tokens=50, completion_tokens=1),
    )

    done = agent(client, registry, ctx)[-1]

    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (80, 11)
    assert done.usage.total_tokens == 91


def test_the_model_gets_the_tools_then_the_tool_results_in_the_conversation(
    client, openai_server, registry, ctx
):
    openai_server.push(
        tool_call_reply(("calculator", {"expression": "6*7"}, "call_calc")), text_reply("42")
    )

    agent(client, registry, ctx)

    first, second = (request.json for request in openai_server.chat_requests)
    assert [t["function"]["name"] for t in first["tools"]] == ["calculator", "current_time"]
    assert first["messages"] == [
        {"role": "system", "content": "You are a helpful assistant."},
        *HISTORY,
    ]
    assert second["messages"][2] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_calc",
                "type": "function",
                "function": {"name": "calculator", "arguments": '{"expression": "6*7"}'},
            }
        ],
    }
    assert second["messages"][3]["role"] == "tool"
    assert second["messages"][3]["tool_call_id"] == "call_calc"
    assert json.loads(second["messages"][3]["content"]) == {"expression": "6*7", "result": 42}


def test_reaching_the_iteration_limit_ends_with_a_done_event_that_says_so(
    client, openai_server, registry, ctx
):
    openai_server.push(*[tool_call_reply(("calculator", {"expression": "1"}))] * 3)

    events = agent(client, registry, ctx, iteration_limit=3)

    done = events[-1]
    assert isinstance(done, AgentDoneEvent)
    assert done.stopped_reason == "iteration_limit"
    assert "iteration limit" in done.text
    assert done.iterations == 3
    assert len(done.steps) == 3
    assert len(openai_server.chat_requests) == 3
    assert not any(isinstance(e, ErrorEvent) for e in events)


def test_a_raising_tool_becomes_an_error_result_and_the_loop_goes_on(
    client, openai_server, registry, ctx
):
    openai_server.push(
        tool_call_reply(("explode", {}, "c1"), ("polite", {}, "c2")),
        text_reply("Sorry, both tools failed."),
    )

    events = agent(client, registry, ctx, tools=["explode", "polite"])

    results = [e for e in events if isinstance(e, ToolResultEvent)]
    assert results[0].is_error and "RuntimeError: disk on fire" in results[0].result["error"]
    assert results[1].result == {"error": "The record does not exist; try another id."}
    assert events[-1].text == "Sorry, both tools failed."
    tool_messages = [m for m in openai_server.last_request.json["messages"] if m["role"] == "tool"]
    assert [json.loads(m["content"])["error"] for m in tool_messages][1].startswith("The record")


def test_an_unknown_tool_name_is_answered_with_an_error_listing_the_available_tools(
    client, openai_server, registry, ctx
):
    openai_server.push(tool_call_reply(("launch_rockets", {})), text_reply("I can't."))

    events = agent(client, registry, ctx)

    (result,) = [e for e in events if isinstance(e, ToolResultEvent)]
    assert result.is_error
    assert "Unknown tool 'launch_rockets'" in result.result["error"]
    assert "calculator, current_time" in result.result["error"]
    assert events[-1].text == "I can't."


def test_a_registered_tool_the_agent_was_not_given_is_not_run(client, openai_server, registry, ctx):
    openai_server.push(tool_call_reply(("explode", {})), text_reply("ok"))

    events = agent(client, registry, ctx, tools=["calculator"])

    (result,) = [e for e in events if isinstance(e, ToolResultEvent)]
    assert result.is_error and "Unknown tool 'explode'" in result.result["error"]


@pytest.mark.parametrize("stream", [False, True])
def test_malformed_arguments_are_answered_with_an_error_and_the_loop_goes_on(
    client, openai_server, registry, ctx, stream
):
    openai_server.push(
        tool_call_reply(("calculator", '{"expression": "6*7"')),
        tool_call_reply(("calculator", {"expr": "6*7"})),
        text_reply("done"),
    )

    events = agent(client, registry, ctx, stream=stream)

    results = [e for e in events if isinstance(e, ToolResultEvent)]
    assert [r.is_error for r in results] == [True, True]
    assert "not valid JSON" in results[0].result["error"]
    assert "missing required argument(s): expression" in results[1].result["error"]
    assert events[-1].text == "done"
    # The model's malformed arguments are echoed back verbatim so the conversation stays valid.
    second = openai_server.chat_requests[1].json["messages"]
    assert second[2]["tool_calls"][0]["function"]["arguments"] == '{"expression": "6*7"'


def test_nan_in_arguments_is_answered_as_not_json(client, openai_server, registry, ctx):
    # Python's json reads NaN, but JSON has no such number (nor can the database store one).
    openai_server.push(tool_call_reply(("calculator", '{"expression": NaN}')), text_reply("ok"))

    events = agent(client, registry, ctx)

    (result,) = [e for e in events if isinstance(e, ToolResultEvent)]
    assert result.is_error
    assert "not valid JSON (NaN is not a JSON number)" in result.result["error"]


def test_a_model_failure_ends_the_run_with_an_error_event(client, openai_server, registry, ctx):
    openai_server.push(
        tool_call_reply(("calculator", {"expression": "1"})), error_reply(400, "context too long")
    )

    events = agent(client, registry, ctx)

    assert event_kinds(events) == ["tool_call", "tool_result", "error"]
    assert events[-1].code == "BAD_REQUEST"
    assert "context too long" in events[-1].message


def test_on_llm_call_is_called_once_per_model_call(client, openai_server, registry, ctx):
    records = []
    openai_server.push(
        tool_call_reply(("calculator", {"expression": "1"})),
        tool_call_reply(("current_time", {})),
        text_reply("fine"),
    )

    agent(client, registry, ctx, on_llm_call=records.append)

    assert [r.status for r in records] == ["ok", "ok", "ok"]


def test_an_agent_without_tools_sends_no_tools_and_just_answers(client, openai_server, registry):
    events = agent(client, registry, ToolContext(), tools=[])

    assert event_kinds(events) == ["token", "done"]
    assert "tools" not in openai_server.last_request.json
    assert events[-1].text == HISTORY[0]["content"]  # the scripted server echoes


def test_a_configured_tool_that_is_not_registered_is_left_out(client, openai_server, registry):
    agent(client, registry, ToolContext(), tools=["calculator", "retired_tool"])

    names = [t["function"]["name"] for t in openai_server.last_request.json["tools"]]
    assert names == ["calculator"]


def test_huge_tool_results_are_cut_before_they_reach_the_model(client, openai_server, ctx):
    openai_server.push(tool_call_reply(("big", {})), text_reply("ok"))

    agent(client, ToolRegistry([BigTool()]), ctx, tools=["big"], max_result_chars=100)

    tool_message = openai_server.last_request.json["messages"][-1]
    assert tool_message["content"].startswith("x" * 100)
    assert "[truncated: 4900 more characters]" in tool_message["content"]


def test_run_agent_to_completion_returns_the_answer_steps_usage_and_messages(
    client, openai_server, registry, ctx
):
    openai_server.push(
        tool_call_reply(("calculator", {"expression": "6*7"}, "call_calc")),
        text_reply("It is 42."),
    )

    result = run_agent_to_completion(
        client,
        system_prompt="Be exact.",
        messages=HISTORY,
        tools=["calculator"],
        registry=registry,
        ctx=ctx,
    )

    assert result.text == "It is 42."
    assert [s["name"] for s in result.steps] == ["calculator"]
    assert result.usage.total_tokens == 30
    assert [m["role"] for m in result.messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
    assert [m["role"] for m in result.new_messages] == ["assistant", "tool", "assistant"]
    assert result.messages[-1] == {"role": "assistant", "content": "It is 42."}


def test_run_agent_to_completion_raises_the_model_failure(client, openai_server, registry, ctx):
    openai_server.expect_api_key("sk-other")

    with pytest.raises(LLMError) as caught:
        run_agent_to_completion(
            client, system_prompt="", messages=HISTORY, tools=[], registry=registry, ctx=ctx
        )

    assert caught.value.code == "AUTH_FAILED"


def test_events_serialise_for_server_sent_events(client, openai_server, registry, ctx):
    openai_server.push(tool_call_reply(("calculator", {"expression": "2"}, "c")), text_reply("2"))

    events = agent(client, registry, ctx, stream=True)

    payloads = [(e.type, e.to_dict()) for e in events]
    json.dumps(payloads)  # all JSON-ready
    assert payloads[0] == (
        "tool_call",
        {"id": "c", "name": "calculator", "arguments": {"expression": "2"}},
    )
    assert payloads[-1][0] == "done"
    assert payloads[-1][1]["usage"] == {
        "prompt_tokens": 20,
        "completion_tokens": 10,
        "total_tokens": 30,
    }
