"""The data source admin: list, masked config, no add, edits through the service, and the
"Test connection" action reporting per source."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from accounts.models import User
from tests.datasources.django_support import ds_settings  # noqa: F401  (fixture)
from tests.factories import DataSourceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ds_settings")]
CHANGELIST = "/admin/datasources/datasource/"


@pytest.fixture
def browser() -> Client:
    admin = User.objects.create_superuser("root", "root@example.com", "pw-Correct-42")
    client = Client()
    client.force_login(admin)
    client.admin = admin
    return client


def test_the_test_connection_action_reports_per_source(browser: Client) -> None:
    good = DataSourceFactory(owner=browser.admin, name="good one")
    bad = DataSourceFactory(owner=browser.admin, name="bad one", type="csv",
                            config={"file": "missing.csv"})
    response = browser.post(CHANGELIST, {"action": "test_connection",
                                         "_selected_action": [good.pk, bad.pk]}, follow=True)
    assert response.status_code == 200
    messages = {m.message.split(":")[0]: m for m in get_messages(response.wsgi_request)}
    assert set(messages) == {"good one", "bad one"}
    assert messages["good one"].level_tag == "success" and "succeeded" in messages[
        "good one"].message
    assert messages["bad one"].level_tag == "error" and "missing.csv" in messages[
        "bad one"].message
    good.refresh_from_db()
    bad.refresh_from_db()
    assert (good.last_test_status, bad.last_test_status, bad.status) == (
        "success", "failed", "error")


def test_list_filters_and_no_add(browser: Client) -> None:
    DataSourceFactory(owner=browser.admin)
    page = browser.get(CHANGELIST, {"type__exact": "json", "status__exact": "active"})
    assert page.status_code == 200
    assert browser.get(CHANGELIST + "add/").status_code == 403


def test_editing_goes_through_the_service_and_keeps_the_config(browser: Client) -> None:
    source = DataSourceFactory(owner=browser.admin, type="postgresql", config={
        "host": "h", "database": "d", "user": "u", "password": "pw-kept-123"})
    stored = dict(source.config)
    response = browser.post(f"{CHANGELIST}{source.pk}/change/", {
        "owner": str(browser.admin.pk), "name": "renamed", "description": "new",
        "status": "inactive",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    source.refresh_from_db()
    assert (source.name, source.description, source.status) == ("renamed", "new", "inactive")
    assert source.config == stored
