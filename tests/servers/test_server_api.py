"""`/api/v1/servers`: registering named worker pools, and refusing them when they cannot work."""

import pytest
from django.utils import timezone

from executions.models import Batch, ComputeServer, Execution, WorkerHeartbeat
from tests.factories import BatchFactory, ComputeServerFactory, WorkflowFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/servers"


def beat(queues=(), embedded=False) -> WorkerHeartbeat:
    """A live worker heartbeat consuming `queues`."""
    now = timezone.now()
    return WorkerHeartbeat.objects.create(worker_id=f"w-{now.timestamp()}", hostname="h",
                                          pid=1, embedded=embedded, started_at=now,
                                          last_seen=now, queues=list(queues))


def serving(settings, server) -> None:
    """Make a live worker serve `server` in either deployment."""
    beat([server.queue_name], embedded=settings.EMBEDDED_WORKER)


def test_registering_answers_the_seed_shape(auth_client):
    response = auth_client.post(f"{URL}/register", {"name": "gpu-1", "url": "http://gpu:8001",
                                                    "batch_size": 3}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in ("name", "url", "type", "enabled", "batch_size", "status",
                                 "current_task_id", "queue")} == {
        "name": "gpu-1", "url": "http://gpu:8001", "type": "local", "enabled": True,
        "batch_size": 3, "status": "offline", "current_task_id": None,
        "queue": "executions.gpu-1"}


def test_a_server_with_a_live_worker_registers_online(auth_client, settings):
    beat(["executions.ready"], embedded=settings.EMBEDDED_WORKER)
    response = auth_client.post(URL, {"name": "ready"}, format="json")
    assert response.json()["status"] == "online"


@pytest.mark.parametrize(("payload", "field"), [
    ({"name": "Has Spaces"}, "name"),
    ({"name": "dots.not.allowed"}, "name"),
    ({"name": "ok", "url": "ftp://x"}, "url"),
    ({"name": "ok", "url": "javascript:alert(1)"}, "url"),
    ({"name": "ok", "batch_size": 0}, "batch_size"),
    ({"name": "ok", "type": "cloud"}, "type"),
])
def test_bad_registrations_are_400(auth_client, payload, field):
    response = auth_client.post(URL, payload, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]


def test_a_taken_name_is_409(auth_client, other_user):
    ComputeServerFactory(owner=other_user, name="shared")
    response = auth_client.post(URL, {"name": "shared"}, format="json")
    assert response.status_code == 409
    assert response.json()["error_code"] == "SERVER_NAME_TAKEN"


def test_updating_changes_settings_but_never_the_name(auth_client):
    server = ComputeServerFactory(owner=auth_client.user)
    response = auth_client.put(f"{URL}/{server.id}", {"enabled": False, "batch_size": 10},
                               format="json")
    assert response.status_code == 200
    assert (response.json()["enabled"], response.json()["batch_size"]) == (False, 10)
    renamed = auth_client.patch(f"{URL}/{server.id}", {"name": "other"}, format="json")
    assert renamed.status_code == 400


@pytest.mark.parametrize("body", ['"maintenance"', '{"status": "maintenance"}'])
def test_the_status_is_set_with_a_bare_string_or_an_object(auth_client, body):
    server = ComputeServerFactory(owner=auth_client.user)
    response = auth_client.generic("PUT", f"{URL}/{server.id}/status", body,
                                   content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "maintenance"
    bad = auth_client.generic("PUT", f"{URL}/{server.id}/status", '"asleep"',
                              content_type="application/json")
    assert bad.status_code == 400


def test_health_comes_from_the_workers_consuming_its_queue(auth_client, settings):
    server = ComputeServerFactory(owner=auth_client.user, status="offline")
    sick = auth_client.get(f"{URL}/{server.id}/health").json()
    assert sick["status"] == "unhealthy" and sick["workers"] == 0
    assert "rundramatiq --queues executions." in sick["detail"]
    serving(settings, server)
    well = auth_client.get(f"{URL}/{server.id}/health").json()
    assert well["status"] == "healthy" and well["workers"] == 1
    assert ComputeServer.objects.get(pk=server.pk).status == "online"


def test_a_remote_server_without_workers_is_checked_at_its_url(auth_client, monkeypatch):
    from executions import servers

    monkeypatch.setattr(servers, "_probe", lambda url: (True, f"{url}/health answered 200."))
    server = ComputeServerFactory(owner=auth_client.user, type="remote",
                                  url="http://remote.example")
    body = auth_client.get(f"{URL}/{server.id}/health").json()
    assert body["status"] == "healthy" and "remote.example" in body["detail"]


def test_available_lists_the_servers_that_would_take_work(auth_client, settings):
    ready = ComputeServerFactory(owner=auth_client.user)
    serving(settings, ready)
    ComputeServerFactory(owner=auth_client.user, enabled=False)
    ComputeServerFactory(owner=auth_client.user, status="maintenance")
    response = auth_client.get(f"{URL}/available")
    assert response.status_code == 200
    assert [s["name"] for s in response.json()] == [ready.name]


def test_deleting_a_server_with_work_in_progress_is_409(auth_client):
    server = ComputeServerFactory(owner=auth_client.user)
    batch = BatchFactory(owner=auth_client.user)
    ComputeServer.objects.filter(pk=server.pk).update(current_batch=batch)
    assert auth_client.delete(f"{URL}/{server.id}").status_code == 409
    ComputeServer.objects.filter(pk=server.pk).update(current_batch=None)
    assert auth_client.delete(f"{URL}/{server.id}").status_code == 200


# -- refusals with the seed's status codes ---------------------------------------------------


def _start_batch(client, server):
    workflow = WorkflowFactory(owner=client.user)
    return client.post("/api/v1/batch", {"workflow_id": str(workflow.id), "inputs": [{"x": 1}],
                                         "server_id": str(server.id)}, format="json")


def _execute(client, server):
    workflow = WorkflowFactory(owner=client.user)
    return client.post(f"/api/v1/workflows/{workflow.id}/execute",
                       {"input_data": {"x": 1}, "server_id": str(server.id)}, format="json")


@pytest.mark.parametrize("start", [_start_batch, _execute])
def test_a_disabled_server_is_400(auth_client, settings, start):
    server = ComputeServerFactory(owner=auth_client.user, enabled=False)
    serving(settings, server)
    response = start(auth_client, server)
    assert response.status_code == 400 and response.json()["error_code"] == "SERVER_DISABLED"
    assert not Execution.objects.exists() and not Batch.objects.exists()


@pytest.mark.parametrize("start", [_start_batch, _execute])
@pytest.mark.parametrize(("status", "code"), [("offline", "SERVER_OFFLINE"),
                                              ("maintenance", "SERVER_MAINTENANCE"),
                                              ("busy", "SERVER_BUSY")])
def test_an_offline_maintained_or_busy_server_is_503(auth_client, settings, start, status,
                                                     code):
    server = ComputeServerFactory(owner=auth_client.user, status=status)
    serving(settings, server)
    response = start(auth_client, server)
    assert response.status_code == 503 and response.json()["error_code"] == code
    assert not Execution.objects.exists()


@pytest.mark.parametrize("start", [_start_batch, _execute])
def test_an_online_server_without_a_live_worker_is_503(auth_client, start):
    server = ComputeServerFactory(owner=auth_client.user)
    response = start(auth_client, server)
    assert response.status_code == 503 and response.json()["error_code"] == "SERVER_OFFLINE"


def test_a_server_running_its_batch_size_refuses_more_runs(auth_client, settings):
    server = ComputeServerFactory(owner=auth_client.user, batch_size=1)
    serving(settings, server)
    assert _execute(auth_client, server).status_code == 201
    response = _execute(auth_client, server)
    assert response.status_code == 503 and response.json()["error_code"] == "SERVER_BUSY"


def test_check_server_tells_whether_a_batch_would_be_taken(auth_client, settings):
    server = ComputeServerFactory(owner=auth_client.user, batch_size=4)
    url = "/api/v1/batch/check-server"
    refused = auth_client.post(url, {"server_id": str(server.id)}, format="json")
    assert refused.status_code == 400 and refused.json()["error_code"] == "SERVER_OFFLINE"
    serving(settings, server)
    body = auth_client.post(url, {"server_id": str(server.id)}, format="json").json()
    assert body == {"available": True, "server_id": str(server.id), "server_name": server.name,
                    "batch_size": 4, "message": "The server is available."}
