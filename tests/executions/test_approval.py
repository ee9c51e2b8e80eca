"""The approval node: validation, waiting, approve and reject paths, who may answer, the API."""

import time

import pytest
from rest_framework.exceptions import PermissionDenied, ValidationError

from executions import services
from executions.models import Execution, ExecutionLog, NodeRun
from executions.nodes import ApprovalNode
from tests.factories import UserFactory, WorkflowFactory, edge, node
from tests.support.module_worker import module_worker_fixture
from tests.support.waiting import wait_for
from workflows.engine import Runner, Suspend
from workflows.engine.graph import Node
from workflows.graphs import node_registry, validate_graph

_module_worker = module_worker_fixture()


@pytest.fixture
def worker(transactional_db, _module_worker):
    return _module_worker


def approval_graph(*, rejected_edge: bool = True, **config) -> dict:
    """start -> approve -(approved)-> yes ; -(rejected)-> no."""
    config.setdefault("message", "Pay {input.amount}?")
    nodes = [node("start", "start"), node("approve", "approval", **config),
             node("yes", "output", mapping={"paid": "True", "by": "approve.by"})]
    edges = [edge("start", "approve"), edge("approve", "yes", "approved")]
    if rejected_edge:
        nodes.append(node("no", "output", mapping={"paid": "False",
                                                   "why": "approve.comment"}))
        edges.append(edge("approve", "no", "rejected"))
    return {"nodes": nodes, "edges": edges}


def issues(graph: dict) -> list[tuple[str, str]]:
    return [(i.node_id, i.code) for i in validate_graph(graph["nodes"], graph["edges"]).errors]


# -- the node type on its own ---------------------------------------------------------------

def test_an_approval_needs_a_message_and_an_approved_edge():
    assert issues(approval_graph()) == []
    assert issues(approval_graph(rejected_edge=False)) == []
    graph = approval_graph(message="")
    assert ("approve", "MISSING_CONFIG") in issues(graph)
    graph = approval_graph()
    graph["edges"] = [e for e in graph["edges"] if e.get("sourceHandle") != "approved"]
    assert ("approve", "CONDITION_BRANCH_MISSING") in issues(graph)
    graph = approval_graph()
    graph["edges"][1]["sourceHandle"] = "maybe"
    assert ("approve", "INVALID_HANDLE") in issues(graph)
    assert ("approve", "INVALID_CONFIG") in issues(approval_graph(approvers=["ok", 3]))
    assert ("approve", "INVALID_CONFIG") in issues(approval_graph(on_reject="shrug"))


def test_the_engine_suspends_at_the_approval_with_the_rendered_message():
    from workflows.engine import Graph

    graph = Graph.from_dict(approval_graph(approvers=["ada"]))
    result = Runner(graph, registry=node_registry()).run({"amount": 12})
    assert result.status == "waiting" and result.waiting_node == "approve"
    assert result.node_results["approve"].output == {
        "message": "Pay 12?", "approvers": ["ada"], "awaiting": "approval"}
    with pytest.raises(Suspend):
        ApprovalNode().run(type("Ctx", (), {"config": {"message": "x"}, "render": str})())


def test_resume_output_shapes_the_answer_and_checks_who_answers():
    approval = Node("approve", "approval", {"message": "?", "approvers": ["ada"]})
    ada, bob = UserFactory.build(username="ada"), UserFactory.build(username="bob")
    assert ApprovalNode.resume_output(approval, {"approved": True, "comment": "ok"}, ada) == (
        {"approved": True, "comment": "ok", "by": "ada"}, ["approved"])
    assert ApprovalNode.resume_output(approval, {"approved": False}, ada)[1] == ["rejected"]
    with pytest.raises(PermissionDenied):
        ApprovalNode.resume_output(approval, {"approved": True}, bob)
    admin = UserFactory.build(username="root", role="admin")
    assert ApprovalNode.resume_output(approval, {"approved": True}, admin)[0]["by"] == "root"
    for bad in ({"approved": "yes"}, "approve", {"approved": True, "comment": 5}):
        with pytest.raises(ValidationError):
            ApprovalNode.resume_output(approval, bad, ada)


# -- full runs with a worker ----------------------------------------------------------------



def start_waiting(graph: dict, owner=None, input_data=None) -> Execution:
    workflow = WorkflowFactory(**graph, **({"owner": owner} if owner else {}))
    execution = services.execution_create(owner=workflow.owner, workflow=workflow,
                                          input_data=input_data or {"amount": 5})
    waiting = wait_for(execution.id, statuses=("waiting", "failed", "completed"))
    assert waiting.status == "waiting", waiting.error
    return waiting


def answer(execution: Execution, by, approved: bool, comment: str = "") -> Execution:
    return services.execution_resume(execution=execution, by=by, node_id="approve",
                                     content={"approved": approved, "comment": comment})


def test_a_waiting_approval_is_a_row_and_approving_completes_the_run(worker):
    execution = start_waiting(approval_graph())
    run = NodeRun.objects.get(execution=execution, node_id="approve")
    assert (run.status, run.output["message"]) == ("waiting", "Pay 5?")
    assert execution.current_node == "approve"
    answer(execution, execution.owner, True, "fine")
    final = wait_for(execution.id)
    assert final.status == "completed", final.error
    assert final.output_data == {"paid": True, "by": execution.owner.username}
    run.refresh_from_db()
    assert run.status == "completed" and run.handles == ["approved"]
    assert run.output == {"approved": True, "comment": "fine", "by": execution.owner.username}
    assert NodeRun.objects.get(execution=execution, node_id="no").status == "skipped"


def test_rejecting_follows_the_rejected_edge(worker):
    execution = start_waiting(approval_graph())
    answer(execution, execution.owner, False, "too much")
    final = wait_for(execution.id)
    assert final.status == "completed", final.error
    assert final.output_data == {"paid": False, "why": "too much"}


def test_rejecting_without_a_rejected_edge_fails_the_run(worker):
    execution = start_waiting(approval_graph(rejected_edge=False))
    answered = answer(execution, execution.owner, False, "not today")
    assert answered.status == "failed"
    final = Execution.objects.get(pk=execution.id)
    who = execution.owner.username
    assert final.error == f"Node 'approve': Rejected by {who}: not today"
    assert final.finished_at is not None
    run = NodeRun.objects.get(execution=execution, node_id="approve")
    assert (run.status, run.error) == ("failed", f"Rejected by {who}: not today")
    assert ExecutionLog.objects.filter(execution=execution, level="error",
                                       node_id="approve").exists()
    time.sleep(0.3)  # nothing was enqueued: it stays failed
    assert Execution.objects.get(pk=execution.id).status == "failed"


def test_on_reject_fail_fails_even_with_a_rejected_edge(worker):
    execution = start_waiting(approval_graph(on_reject="fail"))
    answer(execution, execution.owner, False)
    final = Execution.objects.get(pk=execution.id)
    assert final.status == "failed"
    assert final.error == f"Node 'approve': Rejected by {execution.owner.username}."


def test_a_rejection_with_on_error_continue_goes_on(worker):
    graph = approval_graph(rejected_edge=False, on_reject="fail", on_error="continue")
    graph["nodes"][2]["data"]["mapping"] = {"error": "approve.error"}
    execution = start_waiting(graph)
    answer(execution, execution.owner, False, "no")
    final = wait_for(execution.id)
    # The failed approval behaves as a failed "continue" node: the run goes on.
    assert final.status == "completed", final.error
    assert final.output_data == {"error": f"Rejected by {execution.owner.username}: no"}
    assert NodeRun.objects.get(execution=execution, node_id="approve").status == "failed"


def test_only_named_approvers_or_admins_may_answer(worker):
    ada = UserFactory(username="ada-approver")
    execution = start_waiting(approval_graph(approvers=["ada-approver"]))
    with pytest.raises(PermissionDenied):
        answer(execution, execution.owner, True)
    assert Execution.objects.get(pk=execution.id).status == "waiting"
    answer(Execution.objects.get(pk=execution.id), ada, True)
    assert wait_for(execution.id).output_data["by"] == "ada-approver"


# -- the API --------------------------------------------------------------------------------

def resume_url(execution) -> str:
    return f"/api/v1/executions/{execution.id}/resume"


def test_the_api_lets_the_owner_or_an_admin_answer_but_not_others(
        worker, client_for, admin_user):
    owner, stranger = UserFactory(), UserFactory()
    first = start_waiting(approval_graph(), owner=owner)
    body = {"node_id": "approve", "content": {"approved": True, "comment": "ok"}}
    assert client_for(stranger).post(resume_url(first), body, format="json").status_code == 404
    response = client_for(owner).post(resume_url(first), {"node_id": "approve",
                                                          "content": {"approved": "y"}},
                                      format="json")
    assert response.status_code == 400
    assert response.json()["error_code"] == "VALIDATION_ERROR"
    assert client_for(owner).post(resume_url(first), body, format="json").status_code == 200
    assert wait_for(first.id).status == "completed"

    second = start_waiting(approval_graph(), owner=owner)
    response = client_for(admin_user).post(resume_url(second), body, format="json")
    assert response.status_code == 200
    assert wait_for(second.id).output_data["by"] == admin_user.username


def test_a_named_approver_list_refuses_the_owner_with_403(worker, client_for):
    execution = start_waiting(approval_graph(approvers=["someone-else"]))
    response = client_for(execution.owner).post(
        resume_url(execution), {"node_id": "approve", "content": {"approved": True}},
        format="json")
    assert response.status_code == 403
    assert response.json()["error_code"] == "PERMISSION_DENIED"


def test_pending_approvals_lists_your_own_and_all_for_admins(worker, client_for, admin_user):
    mine, theirs = UserFactory(), UserFactory()
    waiting = start_waiting(approval_graph(approvers=["x"]), owner=mine)
    start_waiting(approval_graph(), owner=theirs)
    listed = client_for(mine).get("/api/v1/approvals")
    assert listed.status_code == 200 and listed["X-Total-Count"] == "1"
    item = listed.json()[0]
    assert item["execution_id"] == str(waiting.id)
    assert (item["node_id"], item["message"], item["approvers"]) == ("approve", "Pay 5?", ["x"])
    assert client_for(admin_user).get("/api/v1/approvals")["X-Total-Count"] == "2"
    assert client_for(UserFactory()).get("/api/v1/approvals/").json() == []
