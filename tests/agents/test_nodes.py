"""The `llm` and `agent` workflow node types: config checks, model resolution, output, logs."""

import uuid

import pytest

from agents.models import LLMCallLog
from agents.nodes import AgentNode, LLMNode
from tests.agents.django_support import (
    allow_loopback,
    chat_messages,
    fast_retries,
    scripted_agent,
    scripted_config,
)
from tests.factories import ModelConfigFactory, chain_graph, node
from tests.support.openai_server import server_error, text_reply, tool_call_reply
from workflows.engine import NodeContext, NodeError, Runner
from workflows.engine.graph import Node
from workflows.graphs import node_registry, validate_graph


@pytest.fixture(autouse=True)
def _loopback_allowed_and_quick_retries(settings, monkeypatch):
    allow_loopback(settings)
    fast_retries(monkeypatch)


def context(node_type, config, *, owner=None, data=None, execution_id=None, **services):
    services = {"owner_id": str(owner.id) if owner else None,
                "execution_id": execution_id or str(uuid.uuid4()), **services}
    return NodeContext(Node(id=f"{node_type}-1", type=node_type, data=config), data or {},
                       services=services, input_data=data or {})


def graph_issues(*nodes):
    result = validate_graph(**chain_graph(node("start", "start"), *nodes, node("end", "end")))
    return [(issue.node_id, issue.code) for issue in result.errors]


def test_both_node_types_are_registered():
    registry = node_registry()
    assert registry.get("llm") is LLMNode
    assert registry.get("agent") is AgentNode
    assert LLMNode.blocking and AgentNode.blocking


@pytest.mark.parametrize(
    ("config", "issue"),
    [
        ({}, "MISSING_CONFIG"),
        ({"prompt": "{unclosed"}, "TEMPLATE_SYNTAX"),
        ({"prompt": "hi", "provider": "nope"}, "INVALID_CONFIG"),
        ({"prompt": "hi", "model_config_id": "not-an-id"}, "INVALID_CONFIG"),
        ({"prompt": "hi", "temperature": 3}, "INVALID_CONFIG"),
        ({"prompt": "hi", "max_tokens": 0}, "INVALID_CONFIG"),
    ],
)
def test_invalid_llm_configs_are_graph_errors(config, issue):
    assert ("llm-1", issue) in graph_issues(node("llm-1", "llm", **config))


def test_a_valid_llm_config_passes_validation():
    assert graph_issues(node("llm-1", "llm", prompt="Say {input.text}", provider="openai",
                             model="gpt-4o-mini", temperature=0.1, max_tokens=50)) == []


@pytest.mark.parametrize(("config", "issue"), [({}, "MISSING_CONFIG"),
                                                ({"agent_id": "x", "message": "hi"},
                                                 "INVALID_CONFIG")])
def test_invalid_agent_configs_are_graph_errors(config, issue):
    assert ("agent-1", issue) in graph_issues(node("agent-1", "agent", **config))


@pytest.mark.django_db
def test_llm_renders_its_prompts_and_outputs_text_usage_model(user, openai_server):
    config = scripted_config(openai_server, owner=user)
    openai_server.push(text_reply("Purr.", prompt_tokens=9, completion_tokens=2))
    execution_id = str(uuid.uuid4())
    ctx = context("llm", {"model_config_id": str(config.id), "prompt": "A word about {topic}",
                          "system_prompt": "Answer for {input.who}", "temperature": 0.3,
                          "max_tokens": 20},
                  owner=user, data={"topic": "cats", "who": "kids"}, execution_id=execution_id)

    output = LLMNode().run(ctx)

    assert output == {"text": "Purr.", "model": "test-model",
                      "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}}
    request = openai_server.chat_requests[0].json
    assert request["messages"] == [{"role": "system", "content": "Answer for kids"},
                                   {"role": "user", "content": "A word about cats"}]
    assert request["temperature"] == 0.3
    assert request["max_tokens"] == 20
    log = LLMCallLog.objects.get()
    assert (str(log.execution_id), log.node_id, log.owner_id, log.total_tokens, log.status) == (
        execution_id, "llm-1", user.id, 11, "ok")


@pytest.mark.django_db
def test_llm_with_a_provider_uses_the_default_config_of_that_provider(user, openai_server):
    ModelConfigFactory(owner=None, provider="vllm", base_url="http://127.0.0.1:9/v1")
    shared_default = scripted_config(openai_server, owner=None, provider="vllm",
                                     is_default=True)
    ctx = context("llm", {"provider": "vllm", "model": "other-model", "prompt": "hi"},
                  owner=user)

    output = LLMNode().run(ctx)

    assert output["text"] == "hi"
    assert openai_server.chat_requests[0].json["model"] == "other-model"
    assert LLMCallLog.objects.get().provider == shared_default.provider


@pytest.mark.django_db
@pytest.mark.parametrize(
    "config",
    [{"prompt": "hi"}, {"prompt": "hi", "provider": "groq"},
     {"prompt": "hi", "model_config_id": str(uuid.uuid4())}],
)
def test_llm_without_a_usable_model_fails_saying_how_to_configure_one(user, config,
                                                                     openai_server):
    with pytest.raises(NodeError) as failure:
        LLMNode().run(context("llm", config, owner=user))

    assert "/api/v1/model-configs" in str(failure.value)
    assert openai_server.requests == []


@pytest.mark.django_db
def test_llm_cannot_use_another_users_config(user, other_user, openai_server):
    foreign = scripted_config(openai_server, owner=other_user)
    with pytest.raises(NodeError, match="not found"):
        LLMNode().run(context("llm", {"model_config_id": str(foreign.id), "prompt": "hi"},
                              owner=user))


@pytest.mark.django_db
def test_llm_needs_an_owner():
    with pytest.raises(NodeError, match="inside an execution"):
        LLMNode().run(context("llm", {"prompt": "hi", "provider": "openai"}))


@pytest.mark.django_db
def test_llm_streams_tokens_to_the_host_when_it_offers_emit_token(user, openai_server):
    config = scripted_config(openai_server, owner=user)
    openai_server.push(text_reply("one two three", chunks=["one", " two", " three"]))
    tokens = []

    output = LLMNode().run(context("llm", {"model_config_id": str(config.id), "prompt": "go"},
                                   owner=user,
                                   emit_token=lambda node_id, text: tokens.append((node_id, text))))

    assert tokens == [("llm-1", "one"), ("llm-1", " two"), ("llm-1", " three")]
    assert output["text"] == "one two three"
    assert openai_server.chat_requests[0].streamed
    assert LLMCallLog.objects.get().streamed is True


@pytest.mark.django_db
def test_llm_failures_fail_the_node_and_are_logged(user, openai_server):
    config = scripted_config(openai_server, owner=user)
    openai_server.push(server_error(), server_error(), server_error())

    with pytest.raises(NodeError, match="UPSTREAM_ERROR"):
        LLMNode().run(context("llm", {"model_config_id": str(config.id), "prompt": "go"},
                              owner=user))

    assert LLMCallLog.objects.get().status == "error"


@pytest.mark.django_db
def test_agent_node_runs_the_agent_with_its_tools(user, openai_server):
    agent = scripted_agent(openai_server, user, tools=["calculator"])
    openai_server.push(tool_call_reply(("calculator", {"expression": "40 + 2"})),
                       text_reply("It is 42."))
    execution_id = str(uuid.uuid4())

    output = AgentNode().run(context("agent", {"agent_id": "{input.agent}",
                                               "message": "What is {input.q}?"},
                                     owner=user, data={"agent": str(agent.id), "q": "40+2"},
                                     execution_id=execution_id))

    assert output["text"] == "It is 42."
    assert output["steps"][0]["result"]["result"] == 42
    assert chat_messages(openai_server.chat_requests[0])[-1] == {"role": "user",
                                                                 "content": "What is 40+2?"}
    logs = LLMCallLog.objects.all()
    assert len(logs) == 2
    assert {(log.agent_id, str(log.execution_id), log.node_id) for log in logs} == {
        (agent.id, execution_id, "agent-1")}


@pytest.mark.django_db
def test_agent_node_refuses_other_users_and_unconfigured_agents(user, other_user,
                                                                openai_server):
    foreign = scripted_agent(openai_server, other_user)
    unconfigured = scripted_agent(openai_server, user)
    unconfigured.model_config = None
    unconfigured.save()

    with pytest.raises(NodeError, match="not found"):
        AgentNode().run(context("agent", {"agent_id": str(foreign.id), "message": "hi"},
                                owner=user))
    with pytest.raises(NodeError, match="model-configs"):
        AgentNode().run(context("agent", {"agent_id": str(unconfigured.id), "message": "hi"},
                                owner=user))
    assert openai_server.requests == []


@pytest.mark.django_db(transaction=True)
def test_a_workflow_runs_llm_then_agent_on_the_engine(user, openai_server):
    config = scripted_config(openai_server, owner=user)
    agent = scripted_agent(openai_server, user, model_config=config)
    openai_server.push(text_reply("a haiku"), text_reply("reviewed"))
    graph = chain_graph(
        node("start", "start"),
        node("llm-1", "llm", model_config_id=str(config.id), prompt="Write about {input.topic}"),
        node("agent-1", "agent", agent_id=str(agent.id), message="Review: {llm-1.text}"),
        node("end", "end"),
    )

    result = Runner(graph, registry=node_registry(),
                    services={"owner_id": str(user.id), "execution_id": str(uuid.uuid4())}
                    ).run({"topic": "rain"})

    assert result.status == "completed", result.error
    assert result.output["text"] == "reviewed"
    assert chat_messages(openai_server.chat_requests[1])[-1]["content"] == "Review: a haiku"
    assert LLMCallLog.objects.count() == 2
