"""`/api/v1/batch`: creating, checking, changing and exporting batches (no worker needed)."""

import csv
import io

import pytest

from executions.models import Batch, BatchItem
from tests.factories import BatchFactory, ComputeServerFactory, WorkflowFactory, chain_graph, node

pytestmark = pytest.mark.django_db

URL = "/api/v1/batch"


def test_a_batch_created_without_starting_waits_with_its_items(auth_client):
    workflow = WorkflowFactory(owner=auth_client.user)
    response = auth_client.post(URL, {"workflow_id": str(workflow.id), "name": "nightly",
                                      "inputs": [{"x": 1}, {"x": 2}], "parameters": {"k": 1},
                                      "start": False}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending" and body["total"] == 2 and body["progress"] == 0
    assert body["task_id"] == body["id"] and body["results"] is None
    items = auth_client.get(f"{URL}/{body['id']}/items").json()
    assert [i["input_data"] for i in items] == [{"x": 1}, {"x": 2}]
    assert [row["input"] for row in auth_client.get(f"{URL}/{body['id']}/export").json()] == [
        {"k": 1, "x": 1}, {"k": 1, "x": 2}]


@pytest.mark.parametrize(("payload", "field"), [
    ({}, "inputs"),
    ({"inputs": [1, 2]}, "inputs"),
    ({"inputs": [{"x": 1}], "concurrency": 0}, "concurrency"),
    ({"inputs": [{"x": 1}], "concurrency": 10_000}, "concurrency"),
    ({"inputs": [{"x": 1}], "upload_ids": ["00000000-0000-0000-0000-000000000001"]},
     "upload_ids"),
    ({"target_folders": ["nothing-here"]}, "target_folders"),
])
def test_bad_batches_are_400_naming_the_field(auth_client, payload, field):
    workflow = WorkflowFactory(owner=auth_client.user)
    response = auth_client.post(URL, {"workflow_id": str(workflow.id), **payload},
                                format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not Batch.objects.exists()


def test_items_the_workflow_refuses_are_reported_by_index(auth_client):
    workflow = WorkflowFactory(owner=auth_client.user, **chain_graph(
        node("in", "input", fields=[{"name": "email", "type": "string", "required": True}]),
        node("end", "end")))
    response = auth_client.post(URL, {"workflow_id": str(workflow.id),
                                      "inputs": [{"email": "a@b.c"}, {}, {"email": "x"}, {}]},
                                format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]["inputs"]) == {"1", "3"}


def test_another_users_workflow_or_server_is_404(auth_client, other_user):
    foreign = WorkflowFactory(owner=other_user)
    response = auth_client.post(URL, {"workflow_id": str(foreign.id), "inputs": [{}]},
                                format="json")
    assert response.status_code == 404
    mine = WorkflowFactory(owner=auth_client.user)
    server = ComputeServerFactory(owner=other_user)
    response = auth_client.post(URL, {"workflow_id": str(mine.id), "inputs": [{"x": 1}],
                                      "server_id": str(server.id)}, format="json")
    assert response.status_code == 404


def test_parameters_and_concurrency_change_only_before_the_start(auth_client):
    batch = BatchFactory(owner=auth_client.user)
    changed = auth_client.patch(f"{URL}/{batch.id}", {"concurrency": 3, "name": "n"},
                                format="json")
    assert changed.status_code == 200 and changed.json()["concurrency"] == 3
    Batch.objects.filter(pk=batch.pk).update(status="running")
    refused = auth_client.put(f"{URL}/{batch.id}", {"parameters": {"a": 1}}, format="json")
    assert refused.status_code == 409
    renamed = auth_client.put(f"{URL}/{batch.id}", {"name": "later"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "later"


def test_a_started_batch_cannot_be_started_again(auth_client):
    batch = BatchFactory(owner=auth_client.user)
    Batch.objects.filter(pk=batch.pk).update(status="completed")
    response = auth_client.post(f"{URL}/{batch.id}/execute", {}, format="json")
    assert response.status_code == 409
    assert response.json()["error_code"] == "BATCH_ALREADY_STARTED"


def test_the_seed_task_paths_show_the_same_batches(auth_client):
    batch = BatchFactory(owner=auth_client.user)
    listed = auth_client.get(f"{URL}/tasks").json()
    assert [task["task_id"] for task in listed] == [str(batch.id)]
    task = auth_client.get(f"{URL}/tasks/{batch.id}").json()
    assert task["status"] == "pending" and task["progress"] == 0


def test_deleting_a_batch_removes_it_and_its_items(auth_client):
    batch = BatchFactory(owner=auth_client.user)
    response = auth_client.delete(f"{URL}/{batch.id}")
    assert response.status_code == 200 and response.json()["message"]
    assert not Batch.objects.exists() and not BatchItem.objects.exists()


def _finished_batch(owner) -> Batch:
    batch = BatchFactory(owner=owner, inputs=[{"x": 1, "note": "=cmd|calc"}, {"x": 0}])
    first, second = BatchItem.objects.filter(batch=batch).order_by("index")
    BatchItem.objects.filter(pk=first.pk).update(status="completed", output_data={"y": 2})
    BatchItem.objects.filter(pk=second.pk).update(status="failed", error="Node 'double': no")
    Batch.objects.filter(pk=batch.pk).update(status="completed", completed_count=1,
                                             failed_count=1)
    return batch


def test_results_export_as_json_and_csv(auth_client):
    batch = _finished_batch(auth_client.user)
    rows = auth_client.get(f"{URL}/{batch.id}/export", {"format": "json"}).json()
    assert [(r["index"], r["status"], r["output"], r["error"]) for r in rows] == [
        (0, "completed", {"y": 2}, None), (1, "failed", None, "Node 'double': no")]
    response = auth_client.get(f"{URL}/{batch.id}/export", {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["status"] for row in table] == ["completed", "failed"]
    assert table[0]["output.y"] == "2" and table[1]["error"] == "Node 'double': no"
    assert table[0]["input.note"] == "'=cmd|calc"  # no formula for spreadsheets
    bad = auth_client.get(f"{URL}/{batch.id}/export", {"format": "xml"})
    assert bad.status_code == 400 and "format" in bad.json()["errors"]


def test_a_finished_batch_has_results_and_an_error_summary(auth_client):
    batch = _finished_batch(auth_client.user)
    body = auth_client.get(f"{URL}/{batch.id}").json()
    assert body["results"] == {"total": 2, "completed": 1, "failed": 1, "cancelled": 0}
    assert body["error"] == "1 of 2 items failed." and body["progress"] == 1.0
