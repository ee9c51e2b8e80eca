"""The platform services behind agent tools: expressions, guarded HTTP, data sources, workflows."""

import pytest

from agents.llm import ToolError, default_registry
from agents.tools_host import tool_context
from tests.agents.django_support import allow_loopback
from tests.factories import DataSourceFactory, WorkflowFactory


def run_tool(name, arguments, owner_id="00000000-0000-0000-0000-000000000001"):
    return default_registry().get(name).run(arguments, tool_context(owner_id=owner_id))


def test_the_calculator_uses_the_engines_safe_evaluator():
    assert run_tool("calculator", {"expression": "(3 + 4) * 2 ** 3"})["result"] == 56


@pytest.mark.parametrize("expression", ["__import__('os')", "1 +", "x.__class__"])
def test_the_calculator_refuses_what_the_evaluator_refuses(expression):
    with pytest.raises(ToolError, match="Could not evaluate"):
        run_tool("calculator", {"expression": expression})


def test_http_requests_to_private_addresses_are_refused(openai_server):
    with pytest.raises(ToolError, match="not allowed"):
        run_tool("http_request", {"url": f"{openai_server.base_url}/models"})
    assert openai_server.requests == []


def test_http_requests_reach_hosts_the_settings_allow(openai_server, settings):
    allow_loopback(settings)

    result = run_tool("http_request", {"url": f"{openai_server.base_url}/models"})

    assert result["status_code"] == 200
    assert result["body"]["data"][0]["id"] == "test-model"


@pytest.mark.django_db(transaction=True)
def test_running_a_workflow_returns_its_output_and_records_the_execution(user):
    from executions.models import Execution

    workflow = WorkflowFactory(owner=user)
    result = run_tool("run_workflow", {"workflow_id": str(workflow.id), "input_data": {"x": 4}},
                      owner_id=str(user.id))
    assert result["status"] == "completed"
    assert result["output"] == {"y": 8}
    assert Execution.objects.get(pk=result["execution_id"]).owner == user


@pytest.mark.django_db
def test_another_users_workflow_cannot_be_run(user, other_user):
    workflow = WorkflowFactory(owner=other_user)
    for workflow_id in (str(workflow.id), "not-a-uuid"):
        with pytest.raises(ToolError, match="no workflow"):
            run_tool("run_workflow", {"workflow_id": workflow_id, "input_data": {}},
                     owner_id=str(user.id))


@pytest.mark.django_db
def test_data_source_queries_run_on_the_owners_sources(user, other_user):
    source = DataSourceFactory(owner=user)

    result = run_tool("datasource_query", {"data_source_id": str(source.id), "query": ""},
                      owner_id=str(user.id))

    assert result["count"] == 3
    with pytest.raises(ToolError, match="no data source"):
        run_tool("datasource_query", {"data_source_id": str(source.id), "query": ""},
                 owner_id=str(other_user.id))
