"""Fields that store what PostgreSQL cannot: NUL characters, and NaN or ±Infinity in JSON.

Each test writes through the ORM to the configured database (SQLite or PostgreSQL) and reads
the row back.
"""

import json

import pytest

from agents.models import ChatMessage, ChatSession
from executions.models import Execution, ExecutionLog, NodeRun
from platform_site.fields import StorableJSONEncoder
from tests.factories import AgentFactory, ExecutionFactory

pytestmark = pytest.mark.django_db

REPLACED = "\N{REPLACEMENT CHARACTER}"


def test_the_encoder_writes_nul_as_the_replacement_character_in_keys_and_values():
    assert json.loads(json.dumps({"k\x00": ["\x00\x00", "a\x00"]}, cls=StorableJSONEncoder)) \
        == {f"k{REPLACED}": [REPLACED * 2, f"a{REPLACED}"]}


def test_the_encoder_keeps_text_that_only_spells_an_escaped_nul():
    for text in ("\\u0000", "\\\\u0000", "a\\u0000b"):
        assert json.loads(json.dumps(text, cls=StorableJSONEncoder)) == text
    assert json.loads(json.dumps("\\\x00", cls=StorableJSONEncoder)) == f"\\{REPLACED}"


def test_the_encoder_writes_nan_and_infinity_as_null():
    value = {"a": float("nan"), "b": [float("inf"), -float("inf"), 1.5]}
    assert json.loads(json.dumps(value, cls=StorableJSONEncoder)) == {"a": None,
                                                                       "b": [None, None, 1.5]}


def test_an_execution_stores_output_and_error_holding_nul_and_nan():
    execution = ExecutionFactory()
    Execution.objects.filter(pk=execution.pk).update(
        output_data={"text": "a\x00b", "n": float("nan")}, error="remote said \x00")
    execution.refresh_from_db()
    assert execution.output_data == {"text": f"a{REPLACED}b", "n": None}
    assert execution.error == f"remote said {REPLACED}"


def test_an_execution_started_with_input_a_model_chose_stores_it():
    # An agent's run_workflow tool passes on arguments the model wrote.
    execution = ExecutionFactory(input_data={"query": "find \x00 this"})
    execution.refresh_from_db()
    assert execution.input_data == {"query": f"find {REPLACED} this"}


def test_node_runs_and_log_lines_are_written_in_bulk_holding_nul():
    execution = ExecutionFactory()
    NodeRun.objects.bulk_create([NodeRun(
        execution=execution, node_id="n", node_type="http", status="completed",
        input={"q": "\x00"}, output={"body": "x\x00y"}, error="e\x00")])
    ExecutionLog.objects.bulk_create([ExecutionLog(
        execution=execution, message="line \x00", data={"raw": float("inf")},
        timestamp=execution.created_at)])
    run = NodeRun.objects.get(execution=execution)
    assert (run.input, run.output, run.error) == ({"q": REPLACED}, {"body": f"x{REPLACED}y"},
                                                  f"e{REPLACED}")
    line = ExecutionLog.objects.get(execution=execution)
    assert (line.message, line.data) == (f"line {REPLACED}", {"raw": None})


def test_a_chat_answer_holding_nul_is_stored():
    agent = AgentFactory()
    session = ChatSession.objects.create(agent=agent, owner=agent.owner)
    message = ChatMessage.objects.create(
        session=session, role="assistant", content="hi\x00",
        steps=[{"tool": "http", "result": {"body": "\x00", "score": float("nan")}}])
    message.refresh_from_db()
    assert message.content == f"hi{REPLACED}"
    assert message.steps == [{"tool": "http", "result": {"body": REPLACED, "score": None}}]
