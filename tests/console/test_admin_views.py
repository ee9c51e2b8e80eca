"""The operators' console in the admin, through Django's test client (the browser tests in
test_browser.py watch the same pages live)."""


import pytest
from django.test import Client

from executions import services
from executions.models import Execution
from templates.models import WorkflowTemplate
from templates.services import builtin_templates_import
from tests.factories import ExecutionFactory, UserFactory, WorkflowFactory, edge, node
from tests.support.module_worker import module_worker_fixture
from tests.support.waiting import wait_for
from workflows.services import workflow_update

_module_worker = module_worker_fixture()


@pytest.fixture
def operator(db):
    return UserFactory(username="operator", role="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def console(operator) -> Client:
    client = Client()
    client.force_login(operator)
    return client


def approval_workflow(**kwargs):
    return WorkflowFactory(
        nodes=[node("start", "start"), node("gate", "approval", label="Gate <ok?>",
                                            message="Go {input.x}?"),
               node("done", "output", mapping={"x": "input.x"})],
        edges=[edge("start", "gate"), edge("gate", "done", "approved")], **kwargs)




@pytest.mark.django_db
def test_a_workflow_page_shows_its_graph_and_links_version_diffs(console):
    workflow = WorkflowFactory(name="Pictured")
    workflow_update(workflow=workflow, author=workflow.owner, name="Pictured again",
                    nodes=[*workflow.nodes, node("extra", "transform", mapping={"z": "1"})])
    page = console.get(f"/admin/workflows/workflow/{workflow.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in html and 'data-node-id="double"' in html
    assert f"/admin/workflows/workflow/{workflow.pk}/diff/?from=1&amp;to=2" in html
    diff = console.get(f"/admin/workflows/workflow/{workflow.pk}/diff/?from=1&to=2")
    text = diff.content.decode()
    assert diff.status_code == 200
    assert "node added" in text and "extra" in text and "Pictured again" in text
    assert text.count('<svg xmlns="http://www.w3.org/2000/svg" class="cx-graph"') == 2
    assert console.get(f"/admin/workflows/workflow/{workflow.pk}/diff/?from=1&to=9"
                       ).status_code == 404
    version = workflow.versions.get(number=2)
    assert "<svg" in console.get(
        f"/admin/workflows/workflowversion/{version.pk}/change/").content.decode()


@pytest.mark.django_db
def test_template_curation_actions(console, user):
    builtin_templates_import()
    draft = WorkflowTemplate.objects.create(name="Submitted", author=user, nodes=[], edges=[])
    url = "/admin/workflow_templates/workflowtemplate/"
    page = console.get(f"{url}{draft.pk}/change/")
    assert page.status_code == 200 and "<svg" in page.content.decode()
    for action, check in (("publish", lambda t: t.status == "published"),
                          ("feature", lambda t: t.featured),
                          ("unfeature", lambda t: not t.featured),
                          ("reject", lambda t: t.status == "rejected")):
        response = console.post(url, {"action": action, "_selected_action": [str(draft.pk)]})
        assert response.status_code == 302
        draft.refresh_from_db()
        assert check(draft), action
    assert "built-in" in console.get(url).content.decode()


@pytest.mark.django_db
def test_people_without_staff_access_are_sent_to_the_login(user):
    client = Client()
    client.force_login(user)
    for url in ("/admin/executions/execution/approvals/", "/admin/workflows/workflow/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_an_execution_page_has_the_live_graph_and_its_state(console):
    execution = ExecutionFactory(status="running", current_node="double")
    page = console.get(f"/admin/executions/execution/{execution.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="execution-graph"' in html and "live-execution-config" in html
    assert "executions/live_execution.js" in html
    assert 'id="cancel-execution"' in html and 'id="retry-execution"' in html
    state = console.get(f"/admin/executions/execution/{execution.pk}/state/").json()
    assert state["status"] == "running"
    assert state["nodes"] == {"start": "pending", "double": "running", "end": "pending"}
    assert state["token"].count(".") == 2  # a JWT for the page's WebSocket


@pytest.mark.django_db
def test_cancel_from_the_execution_page(console):
    execution = ExecutionFactory(status="waiting")
    response = console.post(f"/admin/executions/execution/{execution.pk}/cancel/")
    assert response.status_code == 302
    assert Execution.objects.get(pk=execution.pk).status == "cancelled"
    assert console.get(f"/admin/executions/execution/{execution.pk}/cancel/").status_code == 405


def test_retry_starts_a_new_run_with_the_same_input(transactional_db, _module_worker, console):
    first = services.execution_create(owner=(wf := WorkflowFactory()).owner, workflow=wf,
                                      input_data={"x": 4})
    wait_for(first.id, ("completed",))
    response = console.post(f"/admin/executions/execution/{first.pk}/retry/")
    assert response.status_code == 302
    again = Execution.objects.exclude(pk=first.pk).get()
    assert response["Location"].endswith(f"/admin/executions/execution/{again.pk}/change/")
    assert again.input_data == {"x": 4} and again.owner == first.owner
    assert wait_for(again.id, ("completed",)).output_data == {"y": 8}


def test_the_approval_queue_approves_and_the_run_completes(
        transactional_db, _module_worker, console):
    workflow = approval_workflow()
    execution = services.execution_create(owner=workflow.owner, workflow=workflow,
                                          input_data={"x": 3})
    wait_for(execution.id, ("waiting",))
    queue = console.get("/admin/executions/execution/approvals/")
    html = queue.content.decode()
    assert queue.status_code == 200 and "Go 3?" in html and workflow.name in html
    run = execution.node_runs.get(node_id="gate")
    response = console.post("/admin/executions/execution/approvals/",
                            {"node_run": str(run.pk), "decision": "approve", "comment": "ok",
                             "next": "https://evil.example/"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/executions/execution/approvals/"
    final = wait_for(execution.id, ("completed", "failed"))
    assert final.status == "completed" and final.output_data == {"x": 3}
    run.refresh_from_db()
    assert run.output == {"approved": True, "comment": "ok", "by": "operator"}
    assert "No execution is waiting" in console.get(
        "/admin/executions/execution/approvals/").content.decode()


def test_rejecting_from_the_queue_fails_a_run_without_a_rejected_edge(
        transactional_db, _module_worker, console):
    workflow = approval_workflow()
    execution = services.execution_create(owner=workflow.owner, workflow=workflow,
                                          input_data={"x": 1})
    wait_for(execution.id, ("waiting",))
    run = execution.node_runs.get(node_id="gate")
    console.post("/admin/executions/execution/approvals/",
                 {"node_run": str(run.pk), "decision": "reject", "comment": "no way"})
    final = Execution.objects.get(pk=execution.pk)
    assert (final.status, final.error) == ("failed", "Node 'gate': Rejected by operator: no way")
    assert console.post("/admin/executions/execution/approvals/",
                        {"node_run": str(run.pk), "decision": "approve"}).status_code == 404
