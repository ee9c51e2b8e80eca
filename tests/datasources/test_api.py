"""The /api/v1/data-sources endpoints: CRUD, filters, ownership, test and query on real sources."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pymysql
import pytest

from datasources.models import DataSource
from tests.datasources.conftest import MY, LocalServer, SampleDb, free_port, sqlite_snapshot
from tests.datasources.django_support import (
    BASE,
    api_config,
    create,
    ds_settings,  # noqa: F401  (fixture)
    query,
)
from tests.datasources.test_write_corpus import MY_ATTEMPTS, PG_ATTEMPTS, SQLITE_ATTEMPTS
from tests.factories import DataSourceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ds_settings")]

ROWS = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"}]


def error_of(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error_code"] == code, body
    assert body["status_code"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    return body


# -- CRUD --------------------------------------------------------------------------------------


def test_create_returns_the_contract_fields(auth_client) -> None:
    body = create(auth_client, "json", {"data": ROWS}, description="inline rows")
    for key in ("id", "name", "type", "description", "config", "status", "created_at",
                "updated_at", "last_test_status", "last_test_message", "last_tested_at",
                "last_test_latency_ms"):
        assert key in body
    uuid.UUID(body["id"])
    assert body["type"] == "json" and body["status"] == "active"
    assert body["config"] == {"data": ROWS}
    assert body["description"] == "inline rows"
    assert body["created_at"].endswith(("Z", "+00:00"))


def test_list_detail_update_delete(auth_client) -> None:
    made = create(auth_client, "json", {"data": ROWS}, name="first")
    listed = auth_client.get(BASE)
    assert listed.status_code == 200
    assert listed["X-Total-Count"] == "1"
    assert [s["id"] for s in listed.json()] == [made["id"]]

    detail = auth_client.get(f"{BASE}/{made['id']}")
    assert detail.status_code == 200 and detail.json()["name"] == "first"

    # A client written against the seed sends PUT with name and config only.
    put = auth_client.put(f"{BASE}/{made['id']}", {"name": "renamed", "config": {"data": [1]}},
                          format="json")
    assert put.status_code == 200, put.json()
    assert put.json()["name"] == "renamed" and put.json()["config"] == {"data": [1]}

    patch = auth_client.patch(f"{BASE}/{made['id']}", {"description": "d", "status": "inactive"},
                              format="json")
    assert patch.status_code == 200
    assert patch.json()["description"] == "d" and patch.json()["status"] == "inactive"
    assert patch.json()["config"] == {"data": [1]}

    deleted = auth_client.delete(f"{BASE}/{made['id']}")
    assert deleted.status_code == 200 and deleted.json() == {"message": "Data source deleted."}
    assert not DataSource.objects.filter(pk=made["id"]).exists()
    error_of(auth_client.get(f"{BASE}/{made['id']}"), 404, "NOT_FOUND")


def test_trailing_slash_is_accepted(auth_client) -> None:
    assert auth_client.get(f"{BASE}/").status_code == 200


def test_filters_and_pagination(auth_client, user) -> None:
    DataSourceFactory(owner=user, type="csv", config={"content": "a\n1\n"})
    DataSourceFactory(owner=user, type="json")
    inactive = DataSourceFactory(owner=user, type="json")
    inactive.status = "inactive"
    inactive.save(update_fields=["status"])

    by_type = auth_client.get(BASE, {"type": "json"})
    assert by_type["X-Total-Count"] == "2"
    assert {s["type"] for s in by_type.json()} == {"json"}

    by_status = auth_client.get(BASE, {"status": "inactive"})
    assert [s["id"] for s in by_status.json()] == [str(inactive.pk)]

    both = auth_client.get(BASE, {"status": "active", "type": "json"})
    assert both["X-Total-Count"] == "1"

    page = auth_client.get(BASE, {"skip": 1, "limit": 1})
    assert page["X-Total-Count"] == "3" and len(page.json()) == 1

    assert auth_client.get(BASE, {"limit": 1000}).status_code == 200  # clamped, not refused
    bad = error_of(auth_client.get(BASE, {"type": "oracle"}), 400, "VALIDATION_ERROR")
    assert "type" in bad["errors"]
    error_of(auth_client.get(BASE, {"status": "broken"}), 400, "VALIDATION_ERROR")


def test_list_is_newest_first(auth_client, user) -> None:
    first = DataSourceFactory(owner=user)
    second = DataSourceFactory(owner=user)
    assert [s["id"] for s in auth_client.get(BASE).json()] == [str(second.pk), str(first.pk)]


def test_another_users_source_is_404_everywhere(auth_client, other_user) -> None:
    foreign = DataSourceFactory(owner=other_user)
    url = f"{BASE}/{foreign.pk}"
    assert auth_client.get(BASE).json() == []
    error_of(auth_client.get(url), 404, "NOT_FOUND")
    error_of(auth_client.put(url, {"name": "x"}, format="json"), 404, "NOT_FOUND")
    error_of(auth_client.patch(url, {"name": "x"}, format="json"), 404, "NOT_FOUND")
    error_of(auth_client.delete(url), 404, "NOT_FOUND")
    error_of(auth_client.post(f"{url}/test"), 404, "NOT_FOUND")
    error_of(query(auth_client, str(foreign.pk), ""), 404, "NOT_FOUND")
    foreign.refresh_from_db()
    assert foreign.name != "x" and foreign.last_tested_at is None


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "12345", "8c1f0a52-2f4e-4d47-9d0a-5a1b8a6c7e11"])
def test_unknown_or_malformed_ids_are_404(auth_client, bad_id: str) -> None:
    error_of(auth_client.get(f"{BASE}/{bad_id}"), 404, "NOT_FOUND")
    error_of(auth_client.post(f"{BASE}/{bad_id}/query", {}, format="json"), 404, "NOT_FOUND")


def test_admins_see_every_source(admin_client_api, other_user) -> None:
    foreign = DataSourceFactory(owner=other_user)
    assert admin_client_api.get(f"{BASE}/{foreign.pk}").status_code == 200
    assert str(foreign.pk) in [s["id"] for s in admin_client_api.get(BASE).json()]


def test_authentication_is_required(api_client) -> None:
    error_of(api_client.get(BASE), 401, "NOT_AUTHENTICATED")
    error_of(api_client.get(f"{BASE}/types"), 401, "NOT_AUTHENTICATED")


# -- validation --------------------------------------------------------------------------------


def test_config_errors_are_field_errors_under_config(auth_client) -> None:
    response = auth_client.post(
        BASE, {"name": "pg", "type": "postgresql", "config": {"port": 99999, "bogus": 1}},
        format="json",
    )
    body = error_of(response, 400, "VALIDATION_ERROR")
    errors = body["errors"]["config"]
    assert set(errors) == {"host", "database", "user", "bogus"}
    assert all(isinstance(m, list) and m for m in errors.values())
    # Range checks come once the types are right.
    complete = {"host": "db", "database": "d", "user": "u", "port": 99999}
    response = auth_client.post(BASE, {"name": "pg", "type": "postgresql", "config": complete},
                                format="json")
    body = error_of(response, 400, "VALIDATION_ERROR")
    assert set(body["errors"]["config"]) == {"port"}
    assert body["detail"].startswith("Invalid config: port:")
    assert DataSource.objects.count() == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"type": "json", "config": {"data": []}}, "name"),
        ({"name": "x", "config": {}}, "type"),
        ({"name": "x", "type": "oracle", "config": {}}, "type"),
        ({"name": "x", "type": "json", "config": [1, 2]}, "config"),
        ({"name": "x", "type": "json", "config": {"data": []}, "status": "error"}, "status"),
        ({"name": "", "type": "json", "config": {"data": []}}, "name"),
    ],
)
def test_request_validation(auth_client, payload: dict, field: str) -> None:
    body = error_of(auth_client.post(BASE, payload, format="json"), 400, "VALIDATION_ERROR")
    assert field in body["errors"]


def test_changing_the_type_needs_a_config(auth_client, user) -> None:
    source = DataSourceFactory(owner=user)
    response = auth_client.patch(f"{BASE}/{source.pk}", {"type": "csv"}, format="json")
    assert "config" in error_of(response, 400, "VALIDATION_ERROR")["errors"]
    response = auth_client.patch(
        f"{BASE}/{source.pk}", {"type": "csv", "config": {"content": "a,b\n1,2\n"}}, format="json"
    )
    assert response.status_code == 200 and response.json()["type"] == "csv"


def test_types_lists_every_connector_with_its_fields(auth_client) -> None:
    response = auth_client.get(f"{BASE}/types")
    assert response.status_code == 200
    types = {t["type"]: t for t in response.json()}
    assert set(types) == {"postgresql", "mysql", "sqlite", "api", "json", "csv"}
    pg_fields = {f["name"]: f for f in types["postgresql"]["fields"]}
    assert pg_fields["password"]["secret"] is True
    assert pg_fields["host"]["required"] is True and pg_fields["host"]["secret"] is False
    assert {f["name"]: f for f in types["api"]["fields"]}["auth"]["secret"] is True


# -- test and query: files and inline data -----------------------------------------------------


def test_json_source_test_and_query(auth_client) -> None:
    doc = {"result": {"items": ROWS}}
    source = create(auth_client, "json", {"data": doc, "data_path": "result.items"})
    tested = auth_client.post(f"{BASE}/{source['id']}/test")
    assert tested.status_code == 200
    assert tested.json()["status"] == "success"
    assert set(tested.json()) == {"status", "message", "latency_ms"}

    result = query(auth_client, source["id"], None).json()
    assert result["data"] == ROWS and result["count"] == 3 and result["columns"] == ["id", "name"]
    limited = query(auth_client, source["id"], "", limit=2).json()
    assert limited["count"] == 2 and limited["truncated"] is True


def test_json_and_csv_files_under_the_upload_directory(auth_client, ds_settings) -> None:  # noqa: F811
    uploads = Path(ds_settings.MEDIA_ROOT)
    (uploads / "rows.json").write_text(json.dumps(ROWS))
    (uploads / "rows.csv").write_text("id,name\n1,a\n2,b\n")
    js = create(auth_client, "json", {"file": "rows.json"})
    assert query(auth_client, js["id"], "").json()["data"] == ROWS
    csv = create(auth_client, "csv", {"file": "rows.csv"})
    assert query(auth_client, csv["id"], "").json() == {
        "data": [{"id": "1", "name": "a"}, {"id": "2", "name": "b"}],
        "count": 2, "columns": ["id", "name"], "truncated": False,
    }
    # A path outside the upload directory is refused at save time.
    response = auth_client.post(BASE, {"name": "x", "type": "json",
                                       "config": {"file": "../../etc/passwd"}}, format="json")
    assert "file" in error_of(response, 400, "VALIDATION_ERROR")["errors"]["config"]


def test_a_missing_file_fails_the_test_and_the_query(auth_client) -> None:
    source = create(auth_client, "csv", {"file": "missing.csv"})
    tested = auth_client.post(f"{BASE}/{source['id']}/test").json()
    assert tested["status"] == "failed" and "missing.csv" in tested["message"]
    stored = auth_client.get(f"{BASE}/{source['id']}").json()
    assert stored["status"] == "error" and stored["last_test_status"] == "failed"
    assert stored["last_test_message"] == tested["message"]
    assert stored["last_tested_at"] and stored["last_test_latency_ms"] is not None
    error_of(query(auth_client, source["id"], ""), 422, "INVALID_CONFIG")


def test_inline_csv(auth_client) -> None:
    source = create(auth_client, "csv", {"content": "a;b\n1;2\n3;4\n", "delimiter": ";"})
    result = query(auth_client, source["id"], None).json()
    assert result["data"] == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]


def test_an_inactive_source_refuses_queries(auth_client) -> None:
    source = create(auth_client, "json", {"data": ROWS}, status="inactive")
    error_of(query(auth_client, source["id"], ""), 409, "DATA_SOURCE_INACTIVE")
    # The test still runs, and does not reactivate it.
    assert auth_client.post(f"{BASE}/{source['id']}/test").json()["status"] == "success"
    assert auth_client.get(f"{BASE}/{source['id']}").json()["status"] == "inactive"


def test_query_request_validation(auth_client) -> None:
    source = create(auth_client, "json", {"data": ROWS})
    error_of(query(auth_client, source["id"], 42), 400, "VALIDATION_ERROR")
    error_of(query(auth_client, source["id"], "", limit=0), 400, "VALIDATION_ERROR")
    error_of(query(auth_client, source["id"], "", params="x"), 400, "VALIDATION_ERROR")


# -- SQLite ------------------------------------------------------------------------------------


def test_sqlite_test_query_params_and_cap(auth_client, sqlite_dir: Path, settings) -> None:
    source = create(auth_client, "sqlite", {"path": "sample.db"})
    tested = auth_client.post(f"{BASE}/{source['id']}/test").json()
    assert tested["status"] == "success", tested
    response = query(auth_client, source["id"],
                     "SELECT id, name FROM items WHERE id <= :n ORDER BY id", params={"n": 3})
    assert response.status_code == 200, response.json()
    assert response.json()["data"] == [{"id": i, "name": f"item {i}"} for i in (1, 2, 3)]
    settings.DATASOURCE_MAX_ROWS = 5
    capped = query(auth_client, source["id"], "SELECT id FROM items", limit=100).json()
    assert capped["count"] == 5 and capped["truncated"] is True


@pytest.mark.parametrize(("sql", "codes"), SQLITE_ATTEMPTS, ids=[s for s, _ in SQLITE_ATTEMPTS])
def test_sqlite_writes_are_refused_and_change_nothing(
    auth_client, sqlite_dir: Path, sql: str, codes: set[str]
) -> None:
    source = create(auth_client, "sqlite", {"path": "sample.db"})
    before = sqlite_snapshot(sqlite_dir / "sample.db")
    response = query(auth_client, source["id"], sql.format(dir=sqlite_dir))
    assert error_of(response, 400, "QUERY_NOT_READ_ONLY")
    assert sqlite_snapshot(sqlite_dir / "sample.db") == before


def test_sqlite_unparseable_and_timeout(auth_client) -> None:
    source = create(auth_client, "sqlite", {"path": "sample.db", "statement_timeout_ms": 200})
    error_of(query(auth_client, source["id"], "SELEC * FORM items"), 400, "INVALID_QUERY")
    endless = ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
               "SELECT count(*) FROM r")
    body = error_of(query(auth_client, source["id"], endless), 422, "QUERY_TIMEOUT")
    assert "200 ms" in body["detail"]


# -- PostgreSQL and MariaDB ----------------------------------------------------------------------


@pytest.mark.services
def test_postgresql_test_and_query(auth_client, pg_db: SampleDb) -> None:
    source = create(auth_client, "postgresql", pg_db.config)
    tested = auth_client.post(f"{BASE}/{source['id']}/test").json()
    assert tested["status"] == "success", tested
    assert "PostgreSQL" in tested["message"]
    response = query(auth_client, source["id"],
                     "SELECT id, name, price FROM items WHERE id < %(n)s ORDER BY id",
                     params={"n": 3})
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "data": [{"id": 1, "name": "item 1", "price": 1.25}, {"id": 2, "name": "item 2",
                                                              "price": 2.5}],
        "count": 2, "columns": ["id", "name", "price"], "truncated": False,
    }


@pytest.mark.services
@pytest.mark.parametrize(("sql", "codes"), PG_ATTEMPTS, ids=[s for s, _ in PG_ATTEMPTS])
def test_postgresql_writes_are_refused_and_change_nothing(
    auth_client, pg_db: SampleDb, sql: str, codes: set[str]
) -> None:
    source = create(auth_client, "postgresql", pg_db.config)
    before = pg_db.snapshot()
    error_of(query(auth_client, source["id"], sql), 400, "QUERY_NOT_READ_ONLY")
    assert pg_db.snapshot() == before


@pytest.mark.services
def test_postgresql_invalid_query_timeout_and_connection_failure(
    auth_client, pg_db: SampleDb
) -> None:
    source = create(auth_client, "postgresql", {**pg_db.config, "statement_timeout_ms": 300})
    error_of(query(auth_client, source["id"], "SELECT FROM WHERE ((("), 400, "INVALID_QUERY")
    heavy = "SELECT count(*) FROM generate_series(1, 100000) a, generate_series(1, 100000) b"
    body = error_of(query(auth_client, source["id"], heavy), 422, "QUERY_TIMEOUT")
    assert "300 ms" in body["detail"]
    error_of(query(auth_client, source["id"], "SELECT * FROM no_such_table"), 422,
             "QUERY_FAILED")

    down = create(auth_client, "postgresql", {**pg_db.config, "port": free_port()})
    body = error_of(query(auth_client, down["id"], "SELECT 1"), 502, "CONNECTION_FAILED")
    assert "PostgreSQL" in body["detail"]
    tested = auth_client.post(f"{BASE}/{down['id']}/test").json()
    assert tested["status"] == "failed"


@pytest.mark.services
def test_mysql_test_and_query(auth_client, mysql_db: SampleDb) -> None:
    source = create(auth_client, "mysql", mysql_db.config)
    tested = auth_client.post(f"{BASE}/{source['id']}/test").json()
    assert tested["status"] == "success", tested
    response = query(auth_client, source["id"],
                     "SELECT id, name FROM items WHERE id <= %s ORDER BY id", params=[2])
    assert response.status_code == 200, response.json()
    assert response.json()["data"] == [{"id": 1, "name": "item 1"}, {"id": 2, "name": "item 2"}]


@pytest.mark.services
@pytest.mark.parametrize(("sql", "codes"), MY_ATTEMPTS, ids=[s for s, _ in MY_ATTEMPTS])
def test_mysql_writes_are_refused_and_change_nothing(
    auth_client, mysql_db: SampleDb, sql: str, codes: set[str]
) -> None:
    source = create(auth_client, "mysql", mysql_db.config)
    before = mysql_db.snapshot()
    error_of(query(auth_client, source["id"], sql), 400, "QUERY_NOT_READ_ONLY")
    # The server-wide user count is left out: test_mysql creates and drops a user of its own,
    # maybe at this moment in another xdist worker. The user an attempt could create is not.
    assert mysql_db.snapshot()[:-1] == before[:-1]
    admin = pymysql.connect(**MY)
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT count(*) FROM mysql.user WHERE user = 'evil'")
            assert cur.fetchone() == (0,)
    finally:
        admin.close()


@pytest.mark.services
def test_mysql_connection_failure(auth_client, mysql_db: SampleDb) -> None:
    down = create(auth_client, "mysql", {**mysql_db.config, "port": free_port()})
    error_of(query(auth_client, down["id"], "SELECT 1"), 502, "CONNECTION_FAILED")


# -- REST API sources ----------------------------------------------------------------------------


def test_api_source_test_and_query(auth_client, local_server: LocalServer) -> None:
    source = create(auth_client, "api", api_config(local_server, test_path="json"))
    tested = auth_client.post(f"{BASE}/{source['id']}/test").json()
    assert tested["status"] == "success", tested
    result = query(auth_client, source["id"], "users").json()
    assert result["count"] == 7 and result["data"][0] == {"id": 1, "name": "user 1", "extra": 1}
    assert result["columns"] == ["id", "name", "extra"]
    obj = query(auth_client, source["id"], {"path": "json", "params": {"q": "x"}},
                params={"page": 2})
    assert obj.status_code == 422  # /json has no data.users: a clear QUERY_FAILED
    assert local_server.requests[-1]["query"] == {"q": "x", "page": "2"}


def test_api_source_not_allow_listed_is_refused(
    auth_client, local_server: LocalServer, settings
) -> None:
    settings.OUTBOUND_ALLOW_NETWORKS = []
    source = create(auth_client, "api", api_config(local_server))
    body = error_of(query(auth_client, source["id"], "users"), 422, "ADDRESS_NOT_ALLOWED")
    assert "not allowed" in body["detail"]
    assert auth_client.post(f"{BASE}/{source['id']}/test").json()["status"] == "failed"
    assert local_server.requests == []


def test_api_source_timeout_and_unreachable(auth_client, local_server: LocalServer) -> None:
    source = create(auth_client, "api", api_config(local_server, timeout_s=0.3))
    error_of(query(auth_client, source["id"], "hang?s=2"), 422, "QUERY_TIMEOUT")
    down = create(auth_client, "api", {"base_url": f"http://127.0.0.2:{free_port()}/"})
    error_of(query(auth_client, down["id"], ""), 502, "CONNECTION_FAILED")
