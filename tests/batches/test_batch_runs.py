"""Batch runs by a real worker: the concurrency limit, per-item results and errors, cancel."""

import time

import pytest

from executions.models import Batch, BatchItem, Execution
from tests.factories import WorkflowFactory, chain_graph, node

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/batch"


def ratio_workflow(owner):
    """Answers `{"y": 100 / x}`: an item with x = 0 fails."""
    return WorkflowFactory(owner=owner, **chain_graph(
        node("start", "start"), node("divide", "transform", mapping={"y": "100 / input.x"}),
        node("end", "end")))


def wait_for_batch(batch_id, statuses=("completed", "cancelled"), timeout=120.0) -> Batch:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = Batch.objects.get(pk=batch_id)
        if batch.status in statuses:
            return batch
        time.sleep(0.1)
    raise AssertionError(f"batch stayed {batch.status}: {batch.progress}")


def max_overlap(items) -> int:
    """The most items whose executions were active at one moment."""
    moments = []
    for item in items:
        moments += [(item.started_at, 1), (item.execution.finished_at, -1)]
    active = most = 0
    for _, step in sorted(moments, key=lambda m: (m[0], m[1])):
        active += step
        most = max(most, active)
    return most


def test_a_batch_of_200_items_with_10_failures_reports_exactly_those(running_worker,
                                                                     auth_client):
    workflow = ratio_workflow(auth_client.user)
    failing = set(range(7, 200, 20))  # ten indexes
    inputs = [{"x": 0 if i in failing else i + 1} for i in range(200)]
    response = auth_client.post(URL, {"workflow_id": str(workflow.id), "inputs": inputs,
                                      "concurrency": 10}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "running"
    batch = wait_for_batch(response.json()["id"])
    assert (batch.status, batch.total, batch.completed_count, batch.failed_count) == (
        "completed", 200, 190, 10)
    body = auth_client.get(f"{URL}/{batch.id}").json()
    assert body["progress"] == 1.0 and body["error"] == "10 of 200 items failed."
    failed = auth_client.get(f"{URL}/{batch.id}/items", {"status": "failed"}).json()
    assert {item["index"] for item in failed} == failing
    assert all("divide" in item["error"] for item in failed)
    items = list(BatchItem.objects.filter(batch=batch).select_related("execution"))
    assert all(i.output_data == {"y": 100 / (i.index + 1)} for i in items
               if i.index not in failing)
    assert Execution.objects.filter(trigger="batch", trigger_ref=batch.id).count() == 200
    assert max_overlap(items) <= 10


def test_cancelling_a_batch_stops_its_runs_and_never_starts_the_rest(running_worker,
                                                                     auth_client):
    workflow = WorkflowFactory(owner=auth_client.user, **chain_graph(
        node("start", "start"), node("slow", "test_sleep", ms=3000), node("end", "end")))
    response = auth_client.post(URL, {"workflow_id": str(workflow.id), "concurrency": 2,
                                      "inputs": [{}] * 6}, format="json")
    batch_id = response.json()["id"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not Execution.objects.filter(
            trigger_ref=batch_id, status="running").exists():
        time.sleep(0.05)
    cancelled = auth_client.post(f"{URL}/{batch_id}/cancel")
    assert cancelled.status_code == 200
    body = cancelled.json()
    assert body["status"] == "cancelled" and body["cancelled"] == 6 and body["progress"] == 1.0
    time.sleep(0.5)
    assert Execution.objects.filter(trigger_ref=batch_id).count() == 2
    assert set(Execution.objects.filter(trigger_ref=batch_id)
               .values_list("status", flat=True)) == {"cancelled"}
    assert auth_client.post(f"{URL}/{batch_id}/cancel").status_code == 409


def test_a_batch_over_an_uploaded_folder_runs_one_item_per_matching_file(running_worker,
                                                                          auth_client,
                                                                          settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    for name, content in [("invoice-1.txt", b"one"), ("invoice-2.txt", b"two"),
                          ("notes.txt", b"skip")]:
        upload = auth_client.post("/api/v1/uploads", {"file": SimpleUploadedFile(name, content),
                                                      "folder": "march"}, format="multipart")
        assert upload.status_code == 201, upload.content
    workflow = WorkflowFactory(owner=auth_client.user, **chain_graph(
        node("start", "start"),
        node("read", "transform", mapping={"name": "input.file.name",
                                           "text": "input.file.text"}),
        node("end", "end")))
    response = auth_client.post(URL, {"workflow_id": str(workflow.id),
                                      "target_folders": ["march"],
                                      "folder_keywords": ["invoice"]}, format="json")
    assert response.status_code == 201, response.content
    batch = wait_for_batch(response.json()["id"])
    rows = auth_client.get(f"{URL}/{batch.id}/export").json()
    assert [row["output"] for row in rows] == [{"name": "invoice-1.txt", "text": "one"},
                                               {"name": "invoice-2.txt", "text": "two"}]


def test_items_wait_rather_than_fail_while_the_owner_has_too_many_active_runs(
        running_worker, auth_client, settings):
    settings.MAX_ACTIVE_EXECUTIONS_PER_USER = 3
    workflow = ratio_workflow(auth_client.user)
    response = auth_client.post(URL, {"workflow_id": str(workflow.id), "concurrency": 5,
                                      "inputs": [{"x": i + 1} for i in range(8)]},
                                format="json")
    assert response.status_code == 201, response.content
    assert response.json()["running"] <= 3
    batch = wait_for_batch(response.json()["id"])
    assert (batch.completed_count, batch.failed_count) == (8, 0)
