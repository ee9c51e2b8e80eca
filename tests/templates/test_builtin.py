"""The built-in templates: each one validates, imports idempotently, and runs end to end.

Runs use a real worker of the configured deployment. Models are the scripted OpenAI-compatible
server (a shared model config), HTTP calls go to a local server on 127.0.0.2 that the settings
allow, the SQL report reads a SQLite file: nothing leaves the machine.
"""

import json
import shutil
import sqlite3
import tempfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from executions import services as execution_services
from executions.models import Execution
from templates.models import WorkflowTemplate
from templates.services import BUILTIN_DIR, builtin_templates_import, template_create_workflow
from tests.datasources.conftest import _start as start_local_server
from tests.factories import AgentFactory, DataSourceFactory, ModelConfigFactory
from tests.support.module_worker import module_worker_fixture
from tests.support.openai_server import text_reply
from tests.support.waiting import wait_for
from workflows.graphs import validate_graph

BUILTINS = sorted(BUILTIN_DIR.glob("*.json"))


def test_there_are_at_least_eight_builtins():
    assert len(BUILTINS) >= 8


@pytest.mark.parametrize("path", BUILTINS, ids=lambda p: p.stem)
def test_every_builtin_is_a_valid_graph_with_a_description(path):
    document = json.loads(path.read_text())
    result = validate_graph(document["nodes"], document["edges"])
    assert result.valid, [issue.message for issue in result.errors]
    assert document["source_key"] == path.stem
    assert document["name"] and len(document["description"]) > 30
    assert document["category"] and document["tags"]
    assert all(node.get("data", {}).get("label") for node in document["nodes"])


@pytest.mark.django_db
def test_import_templates_is_idempotent_and_updates_changed_files(tmp_path):
    out = StringIO()
    call_command("import_templates", stdout=out)
    assert f"{len(BUILTINS)} created, 0 updated, 0 unchanged, 0 invalid" in out.getvalue()
    assert WorkflowTemplate.objects.filter(status="published", author=None).count() == len(
        BUILTINS)
    out = StringIO()
    call_command("import_templates", stdout=out)
    assert f"0 created, 0 updated, {len(BUILTINS)} unchanged" in out.getvalue()

    folder = tmp_path / "builtin"
    folder.mkdir()
    for path in BUILTINS:
        (folder / path.name).write_text(path.read_text())
    changed = json.loads((folder / "summarise-text.json").read_text())
    changed["description"] = "A better description of what this template does for you."
    (folder / "summarise-text.json").write_text(json.dumps(changed))
    (folder / "broken.json").write_text("{not json")
    out, err = StringIO(), StringIO()
    call_command("import_templates", "--dir", str(folder), stdout=out, stderr=err)
    assert "0 created, 1 updated" in out.getvalue() and "1 invalid" in out.getvalue()
    assert "broken.json" in err.getvalue()
    assert WorkflowTemplate.objects.get(source_key="summarise-text").description.startswith(
        "A better")


@pytest.mark.django_db
def test_curation_survives_a_reimport():
    builtin_templates_import()
    template = WorkflowTemplate.objects.get(source_key="sql-report")
    template.featured, template.status = True, "rejected"
    template.save()
    builtin_templates_import()
    template.refresh_from_db()
    assert (template.featured, template.status) == (True, "rejected")


# -- runs --------------------------------------------------------------------------------------



@pytest.fixture
def local_http():
    state, server = start_local_server("127.0.0.2")
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def sqlite_dir() -> Path:
    """shop.db with an orders table, in the folder the worker reads SQLite files from."""
    path = SQLITE_DIR / "shop.db"
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, total REAL)")
    conn.executemany("INSERT INTO orders (customer, total) VALUES (?, ?)",
                     [("ada", 10.5), ("bob", 99.0), ("ada", 20.0), ("cy", 5.0)])
    conn.commit()
    conn.close()
    yield SQLITE_DIR
    shutil.rmtree(SQLITE_DIR, ignore_errors=True)


SQLITE_DIR = Path(tempfile.mkdtemp(prefix="conflux-template-sqlite-"))
_module_worker = module_worker_fixture(OUTBOUND_ALLOW_NETWORKS=["127.0.0.2/32"],
                                       SQLITE_DATASOURCE_DIR=SQLITE_DIR)


@pytest.fixture
def template_worker(transactional_db, sqlite_dir, _module_worker):
    """The module's worker, for a test whose rows it must see (committed: transactional)."""
    return _module_worker


@pytest.fixture
def model(openai_server):
    """A shared default `openai` config on the scripted server (what provider+model finds)."""
    return ModelConfigFactory(owner=None, provider="openai", base_url=openai_server.base_url,
                              is_default=True)


def run(key: str, owner, input_data: dict, answer: dict | None = None) -> Execution:
    builtin_templates_import()
    template = WorkflowTemplate.objects.get(source_key=key)
    workflow = template_create_workflow(template=template, owner=owner)
    execution = execution_services.execution_create(owner=owner, workflow=workflow,
                                                    input_data=input_data)
    if answer is None:
        return wait_for(execution.id)
    waiting = wait_for(execution.id, statuses=("waiting", "failed", "completed"))
    assert waiting.status == "waiting", waiting.error
    node_id = waiting.node_runs.get(status="waiting").node_id
    execution_services.execution_resume(execution=waiting, by=owner, node_id=node_id,
                                        content=answer)
    return wait_for(execution.id)


def completed(execution: Execution) -> dict:
    assert execution.status == "completed", execution.error
    return execution.output_data


def test_summarise_text(template_worker, user, model, openai_server):
    openai_server.push(text_reply("Short."))
    output = completed(run("summarise-text", user, {"text": "A long story.", "max_words": 5}))
    assert output["summary"] == "Short."
    prompt = openai_server.chat_requests[0].json["messages"][-1]["content"]
    assert "at most 5 words" in prompt and "A long story." in prompt


@pytest.mark.parametrize(("answer", "queue"), [("URGENT", "on-call"), ("normal", "support")])
def test_support_ticket_triage(template_worker, user, model, openai_server, answer, queue):
    openai_server.push(text_reply(answer))
    output = completed(run("support-ticket-triage", user,
                           {"subject": "Site down", "body": "Nothing loads."}))
    assert output["queue"] == queue and output["subject"] == "Site down"


def test_sql_report(template_worker, user):
    source = DataSourceFactory(owner=user, type="sqlite", config={"path": "shop.db"})
    output = completed(run("sql-report", user, {"data_source_id": str(source.id)}))
    assert output["headline"]["top_customer"] == "bob"
    assert output["headline"]["customers"] == 3
    assert {row["customer"]: row["orders"] for row in output["by_customer"]} == {
        "bob": 1, "ada": 2, "cy": 1}


def test_enrich_records_api(template_worker, user, local_http):
    output = completed(run("enrich-records-api", user, {
        "records": [{"id": 1}, {"id": 2}], "api_url": local_http.url("/json"),
        "api_token": "t0k"}))
    assert output["count"] == 2
    assert [item["status"] for item in output["records"]] == [200, 200]
    assert {json.loads(r["body"])["record"]["id"] for r in local_http.requests} == {1, 2}
    assert local_http.requests[0]["headers"]["authorization"] == "Bearer t0k"


@pytest.mark.parametrize("approved", [True, False])
def test_approval_before_http(template_worker, user, local_http, approved):
    execution = run("approval-before-http", user,
                    {"url": local_http.url("/json"), "payload": {"amount": 5}},
                    answer={"approved": approved, "comment": "checked"})
    output = completed(execution)
    if approved:
        assert output == {"sent": True, "status_code": 200, "approved_by": user.username}
        assert json.loads(local_http.requests[0]["body"]) == {"amount": 5}
    else:
        assert output == {"sent": False, "rejected_by": user.username, "reason": "checked"}
        assert local_http.requests == []


def test_agent_with_tools(template_worker, user, model, openai_server):
    agent = AgentFactory(owner=user, model_config=model)
    openai_server.push(text_reply("42, says the agent."))
    output = completed(run("agent-with-tools", user,
                           {"agent_id": str(agent.id), "question": "The answer?"}))
    assert output == {"answer": "42, says the agent.", "tool_calls": 0}


def test_batch_normalise_contacts(template_worker, user):
    output = completed(run("batch-normalise-contacts", user, {"contacts": [
        {"name": " Ada ", "email": "ADA@Example.com "}, {"name": "Bob", "email": "nope"}]}))
    assert output["total"] == 2
    assert output["contacts"][0] == {"name": "Ada", "email": "ada@example.com", "valid": True,
                                     "position": 0}
    assert output["contacts"][1]["valid"] is False


@pytest.mark.parametrize(("payload", "stored"), [
    ({"email": "  Ada@Example.COM ", "name": " Ada ", "event": "signup"}, True),
    ({"name": "No mail"}, False)])
def test_webhook_clean_store(template_worker, user, payload, stored):
    output = completed(run("webhook-clean-store", user, payload))
    assert output["stored"] is stored
    if stored:
        assert output["record"]["email"] == "ada@example.com"
        assert output["record"]["name"] == "Ada" and output["record"]["received_at"]
    else:
        assert output["reason"] == "missing or invalid e-mail"


def test_draft_reply_with_review(template_worker, user, model, openai_server):
    openai_server.push(text_reply("Dear customer, sorry!"))
    output = completed(run("draft-reply-with-review", user, {"message": "It broke."},
                           answer={"approved": True, "comment": ""}))
    assert output == {"reply": "Dear customer, sorry!", "approved_by": user.username}
