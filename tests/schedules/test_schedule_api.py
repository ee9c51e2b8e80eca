"""`/api/v1/schedules`: validated cron and time zone, the next run planned, the runs listed."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from executions.models import Execution
from tests.factories import ScheduleFactory, WorkflowFactory
from workflows.schedules import next_run

pytestmark = pytest.mark.django_db

URL = "/api/v1/schedules"


def test_a_schedule_is_created_with_its_next_run_in_its_time_zone(auth_client):
    workflow = WorkflowFactory(owner=auth_client.user)
    response = auth_client.post(URL, {"workflow_id": str(workflow.id), "cron": "0  9 * * *",
                                      "timezone": "Asia/Tokyo", "input_data": {"x": 1}},
                                format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["cron"] == "0 9 * * *" and body["enabled"] is True
    planned = datetime.fromisoformat(body["next_run_at"])
    assert planned > timezone.now()
    assert planned.astimezone(UTC).hour == 0  # 09:00 in Tokyo is midnight UTC
    assert body["last_run_at"] is None and body["workflow_id"] == str(workflow.id)


def test_next_run_follows_daylight_saving_time():
    winter = next_run("0 9 * * *", "Europe/Paris", after=datetime(2030, 1, 10, tzinfo=UTC))
    summer = next_run("0 9 * * *", "Europe/Paris", after=datetime(2030, 7, 10, tzinfo=UTC))
    assert (winter.hour, summer.hour) == (8, 7)


@pytest.mark.parametrize(("field", "value"), [
    ("cron", "61 * * * *"),
    ("cron", "* * * *"),
    ("cron", "* * * * * *"),
    ("cron", "every day"),
    ("timezone", "Mars/Olympus"),
    ("timezone", "../../etc/passwd"),
])
def test_a_bad_cron_or_time_zone_is_400_naming_the_field(auth_client, field, value):
    workflow = WorkflowFactory(owner=auth_client.user)
    payload = {"workflow_id": str(workflow.id), "cron": "* * * * *", field: value}
    response = auth_client.post(URL, payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error_code"] == "VALIDATION_ERROR" and field in body["errors"]


def test_aliases_are_accepted(auth_client):
    workflow = WorkflowFactory(owner=auth_client.user)
    response = auth_client.post(URL, {"workflow_id": str(workflow.id), "cron": "@Daily"},
                                format="json")
    assert response.status_code == 201 and response.json()["cron"] == "@daily"


def test_an_input_the_workflow_refuses_is_400(auth_client):
    from tests.factories import chain_graph, node

    workflow = WorkflowFactory(owner=auth_client.user, **chain_graph(
        node("in", "input", fields=[{"name": "email", "type": "string", "required": True}]),
        node("end", "end")))
    response = auth_client.post(URL, {"workflow_id": str(workflow.id), "cron": "@hourly"},
                                format="json")
    assert response.status_code == 400 and "input_data" in response.json()["errors"]


def test_another_users_workflow_is_404(auth_client, other_user):
    workflow = WorkflowFactory(owner=other_user)
    response = auth_client.post(URL, {"workflow_id": str(workflow.id), "cron": "@hourly"},
                                format="json")
    assert response.status_code == 404


def test_disabling_clears_the_next_run_and_enabling_plans_it_again(auth_client):
    schedule = ScheduleFactory(owner=auth_client.user)
    off = auth_client.patch(f"{URL}/{schedule.id}", {"enabled": False}, format="json")
    assert off.status_code == 200 and off.json()["next_run_at"] is None
    on = auth_client.patch(f"{URL}/{schedule.id}", {"enabled": True}, format="json")
    assert on.json()["next_run_at"] is not None


def test_a_new_expression_plans_the_next_run_afresh(auth_client):
    schedule = ScheduleFactory(owner=auth_client.user, cron="0 0 1 1 *")
    response = auth_client.patch(f"{URL}/{schedule.id}", {"cron": "*/5 * * * *"}, format="json")
    planned = datetime.fromisoformat(response.json()["next_run_at"])
    assert (planned - timezone.now()).total_seconds() <= 300


def test_runs_lists_the_executions_the_schedule_started(auth_client):
    from workflows.schedules import schedules_fire_due

    first, second = ScheduleFactory(owner=auth_client.user), ScheduleFactory(
        owner=auth_client.user)
    assert schedules_fire_due(now=max(first.next_run_at, second.next_run_at)) == 2
    for schedule in (first, second):
        response = auth_client.get(f"{URL}/{schedule.id}/runs")
        assert response.status_code == 200 and response["X-Total-Count"] == "1"
        execution = Execution.objects.get(pk=response.json()[0]["id"])
        assert execution.trigger == "schedule" and execution.trigger_ref == schedule.id
        assert execution.input_data == {"x": 1}


def test_list_shows_only_your_schedules(auth_client, other_user):
    mine = ScheduleFactory(owner=auth_client.user)
    ScheduleFactory(owner=other_user)
    assert [s["id"] for s in auth_client.get(URL).json()] == [str(mine.id)]
