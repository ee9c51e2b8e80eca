"""`/health` reports every dependency."""

import pytest

from executions.models import WorkerHeartbeat


@pytest.mark.django_db
def test_health_is_503_naming_the_worker_when_no_worker_beats(api_client):
    WorkerHeartbeat.objects.all().delete()
    response = api_client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["worker"]["ok"] is False
    assert "worker" in body["detail"]
    assert body["error_code"] == "SERVICE_UNAVAILABLE"


@pytest.mark.django_db(transaction=True)
def test_health_is_200_when_a_worker_beats(api_client, running_worker):
    response = api_client.get("/health")
    assert response.status_code == 200, response.json()
    assert all(check["ok"] for check in response.json()["checks"].values())
