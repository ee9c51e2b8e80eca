"""A canary secret stored in data sources never comes back out: not in API answers (list,
detail, create, update, test and query messages, errors), log lines at DEBUG, node outputs,
node errors or run logs, the admin, or the database in plain text."""

from __future__ import annotations

import base64
import logging
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from django.db import connection
from django.test import Client

from accounts.models import User
from datasources.models import DataSource
from tests.datasources.conftest import LocalServer, SampleDb, free_port
from tests.datasources.django_support import (
    BASE,
    CANARY,
    create,
    ds_settings,  # noqa: F401  (fixture)
    one_node_graph,
    query,
)
from workflows.engine import Reporter, Runner
from workflows.graphs import node_registry

pytestmark = pytest.mark.usefixtures("ds_settings")

FORMS = {CANARY, quote(CANARY, safe=""), quote_plus(CANARY),
         base64.b64encode(f"reader:{CANARY}".encode()).decode()}


def assert_clean(text: Any, where: str = "") -> None:
    text = str(text)
    for form in FORMS:
        assert form not in text, f"the canary leaked {where}: {text[:500]}"


@pytest.fixture
def debug_logs(caplog):
    """Capture every log line at DEBUG, SQL statements included."""
    caplog.set_level(logging.DEBUG)
    connection.force_debug_cursor = True
    yield caplog
    connection.force_debug_cursor = False


def api_calls(client, source_id: str, queries: list[Any]) -> list[Any]:
    """Every read of the source through the API, and every test and query answer."""
    answers = [client.get(BASE), client.get(f"{BASE}/{source_id}"),
               client.post(f"{BASE}/{source_id}/test")]
    answers += [query(client, source_id, q) for q in queries]
    return answers


def check_answers(answers: list[Any]) -> None:
    for answer in answers:
        assert answer.status_code < 500 or answer.status_code == 502, answer.content
        assert_clean(answer.content.decode(), f"in {answer.status_code} answer")


# -- API and logs ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.services
def test_postgresql_password(auth_client, pg_db: SampleDb, debug_logs) -> None:
    config = {**pg_db.config, "password": CANARY}
    made = auth_client.post(BASE, {"name": "pg", "type": "postgresql", "config": config},
                            format="json")
    assert made.status_code == 201 and made.json()["config"]["password"] == "********"
    source_id = made.json()["id"]
    answers = [made]
    answers += api_calls(auth_client, source_id, [
        "SELECT id FROM items LIMIT 2", "DELETE FROM items", "SELECT FROM (((",
        "SELECT * FROM missing", "SELECT current_setting('application_name')",
    ])
    answers.append(auth_client.put(f"{BASE}/{source_id}", {"name": "pg2", "config": {
        **pg_db.config, "password": "********"}}, format="json"))
    answers.append(auth_client.patch(f"{BASE}/{source_id}", {"description": "x"},
                                     format="json"))
    # Unreachable: the connection error must not quote the DSN.
    down = auth_client.post(BASE, {"name": "down", "type": "postgresql",
                                   "config": {**config, "port": free_port()}}, format="json")
    answers += [down, *api_calls(auth_client, down.json()["id"], ["SELECT 1"])]
    check_answers(answers)
    assert answers[3].json()["status"] == "success"  # the kept password still works
    assert_clean(debug_logs.text, "in the logs")
    assert any("datasources" in r.name for r in debug_logs.records)  # logging did happen
    assert_clean(DataSource.objects.values_list("config", flat=True).get(pk=source_id),
                 "in the database")


@pytest.mark.django_db
@pytest.mark.services
def test_mysql_password(auth_client, mysql_db: SampleDb, debug_logs) -> None:
    # A wrong password: the server refuses the login, and says so without echoing it.
    made = create(auth_client, "mysql", {**mysql_db.config, "password": CANARY})
    answers = api_calls(auth_client, made["id"], ["SELECT 1"])
    check_answers(answers)
    assert answers[2].json()["status"] == "failed"
    assert answers[3].json()["error_code"] == "CONNECTION_FAILED"
    assert_clean(debug_logs.text, "in the logs")


@pytest.mark.django_db
@pytest.mark.parametrize("auth", [
    {"type": "bearer", "token": CANARY},
    {"type": "basic", "username": "reader", "password": CANARY},
    {"type": "header", "header_name": "X-Api-Key", "token": CANARY},
    {"type": "query", "param_name": "api_key", "token": CANARY},
])
def test_api_credentials(auth_client, local_server: LocalServer, debug_logs,
                         auth: dict[str, str]) -> None:
    config = {"base_url": local_server.url("/"), "data_path": "data.users", "auth": auth,
              "headers": {"Authorization": f"Token {CANARY}", "Accept": "application/json"},
              "timeout_s": 0.5}
    made = auth_client.post(BASE, {"name": "api", "type": "api", "config": config},
                            format="json")
    assert made.status_code == 201
    assert made.json()["config"]["auth"] == "********"
    assert made.json()["config"]["headers"]["Authorization"] == "********"
    source_id = made.json()["id"]
    answers = [made, *api_calls(auth_client, source_id, [
        "users", "status?code=500", "text", "hang?s=1", "missing",
        {"path": "users", "params": {"q": 1}},
    ])]
    answers.append(auth_client.put(f"{BASE}/{source_id}", {"config": {
        **config, "auth": "********", "headers": {"Authorization": "********"}}},
        format="json"))
    check_answers(answers)
    assert answers[4].status_code == 200  # the users query worked with the credentials
    sent = local_server.requests[-1]
    assert any(form in str(sent) for form in FORMS)  # ... which the server did receive
    assert_clean(debug_logs.text, "in the logs")
    # Kept through the masked update.
    assert query(auth_client, source_id, "users").status_code == 200


@pytest.mark.django_db
def test_unreachable_api_with_credentials_in_errors(auth_client, debug_logs) -> None:
    made = create(auth_client, "api", {"base_url": f"http://127.0.0.2:{free_port()}/",
                                       "auth": {"type": "query", "param_name": "k",
                                                "token": CANARY}})
    check_answers(api_calls(auth_client, made["id"], ["x"]))
    assert_clean(debug_logs.text, "in the logs")


@pytest.mark.django_db
def test_invalid_updates_do_not_echo_secrets(auth_client) -> None:
    made = create(auth_client, "postgresql", {"host": "h", "database": "d", "user": "u",
                                              "password": CANARY})
    bad = auth_client.patch(f"{BASE}/{made['id']}", {"config": {"password": CANARY, "port": -1}},
                            format="json")
    assert bad.status_code == 400
    assert_clean(bad.content.decode())


# -- workflow runs -------------------------------------------------------------------------------


class Collector(Reporter):
    """Keeps every reported event."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def node_started(self, *args: Any) -> None:
        self.events.append(("started", args))

    def node_finished(self, *args: Any) -> None:
        self.events.append(("finished", args))

    def node_failed(self, *args: Any) -> None:
        self.events.append(("failed", args))

    def log(self, *args: Any) -> None:
        self.events.append(("log", args))


@pytest.mark.django_db(transaction=True)
@pytest.mark.services
def test_node_outputs_errors_and_run_logs(pg_db: SampleDb, debug_logs) -> None:
    from tests.factories import DataSourceFactory, UserFactory

    user = UserFactory()
    source = DataSourceFactory(owner=user, type="postgresql",
                               config={**pg_db.config, "password": CANARY})
    down = DataSourceFactory(owner=user, type="postgresql",
                             config={**pg_db.config, "password": CANARY, "port": free_port()})
    services = {"owner_id": str(user.pk), "execution_id": "x"}
    runs = []
    for source_id, sql in ((source.pk, "SELECT id FROM items LIMIT 1"),
                           (source.pk, "DELETE FROM items"),
                           (source.pk, "SELECT current_user, current_setting('port')"),
                           (down.pk, "SELECT 1")):
        collector = Collector()
        graph = one_node_graph("datasource", {"data_source_id": str(source_id), "query": sql})
        result = Runner(graph, registry=node_registry(), reporter=collector,
                        services=services).run({})
        runs.append(result.status)
        assert_clean(result, "in the run result")
        assert_clean(collector.events, "in the run's events")
    assert runs == ["completed", "failed", "completed", "failed"]
    assert_clean(debug_logs.text, "in the logs")


# -- admin ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_shows_config_masked() -> None:
    admin = User.objects.create_superuser("root", "root@example.com", "pw-Correct-42")
    from tests.factories import DataSourceFactory

    source = DataSourceFactory(owner=admin, type="api", config={
        "base_url": "https://api.example.com/", "auth": {"type": "bearer", "token": CANARY},
        "headers": {"X-Api-Key": CANARY}})
    browser = Client()
    browser.force_login(admin)
    for url in ("/admin/datasources/datasource/",
                f"/admin/datasources/datasource/{source.pk}/change/"):
        page = browser.get(url)
        assert page.status_code == 200
        assert_clean(page.content.decode(), f"in {url}")
    assert "********" in browser.get(
        f"/admin/datasources/datasource/{source.pk}/change/").content.decode()
