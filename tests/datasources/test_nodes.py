"""The `datasource` and `http` node types, run by the engine's Runner with the services the
executions app passes ({"owner_id", "execution_id"})."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.datasources.conftest import LocalServer, SampleDb, sqlite_snapshot
from tests.datasources.django_support import (
    ds_settings,  # noqa: F401  (fixture)
    one_node_graph,
    run_graph,
)
from tests.factories import DataSourceFactory, UserFactory
from workflows.graphs import validate_graph

# The node looks sources up on the runner's worker threads: they must see committed rows.
DB = pytest.mark.django_db(transaction=True)
pytestmark = pytest.mark.usefixtures("ds_settings")


def failed(result, node_id: str = "node") -> str:
    assert result.status == "failed", result
    assert result.failed_node == node_id
    return result.node_results[node_id].error


# -- datasource ----------------------------------------------------------------------------------


@DB
def test_a_datasource_node_feeds_a_transform() -> None:
    user = UserFactory()
    source = DataSourceFactory(owner=user)
    graph = one_node_graph(
        "datasource", {"data_source_id": str(source.pk)},
        then={"type": "transform",
              "data": {"mapping": {"rows": "node.count", "second": "node.data[1].name",
                                   "cols": "node.columns"}}},
    )
    result = run_graph(graph, owner_id=user.pk)
    assert result.status == "completed", result.error
    assert result.node_results["node"].output == {
        "data": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"}],
        "count": 3, "columns": ["id", "name"],
    }
    assert result.output == {"rows": 3, "second": "b", "cols": ["id", "name"]}


@DB
def test_the_source_id_is_a_template() -> None:
    user = UserFactory()
    source = DataSourceFactory(owner=user)
    graph = one_node_graph("datasource", {"data_source_id": "{input.source}", "limit": 2})
    result = run_graph(graph, owner_id=user.pk, input_data={"source": str(source.pk)})
    assert result.status == "completed", result.error
    assert result.output["count"] == 2


@DB
def test_params_are_rendered_to_values_and_bound(sqlite_dir: Path) -> None:
    user = UserFactory()
    source = DataSourceFactory(owner=user, type="sqlite", config={"path": "sample.db"})
    before = sqlite_snapshot(sqlite_dir / "sample.db")
    graph = one_node_graph("datasource", {
        "data_source_id": str(source.pk),
        "query": "SELECT id, name FROM items WHERE id <= :n AND name LIKE :pattern ORDER BY id",
        "params": {"n": "{input.n}", "pattern": "item {input.digit}%"},
    })
    result = run_graph(graph, owner_id=user.pk, input_data={"n": 12, "digit": 1})
    assert result.status == "completed", result.error
    assert [row["id"] for row in result.output["data"]] == [1, 10, 11, 12]

    # Hostile input stays a value: no rows match, nothing runs, nothing changes.
    for hostile in ("1 OR 1=1", "1; DELETE FROM items", "' OR '1'='1"):
        result = run_graph(graph, owner_id=user.pk, input_data={"n": hostile, "digit": hostile})
        assert result.status == "completed", result.error
        assert result.output["count"] == 0
    assert sqlite_snapshot(sqlite_dir / "sample.db") == before


@DB
def test_the_query_is_never_rendered(sqlite_dir: Path) -> None:
    user = UserFactory()
    source = DataSourceFactory(owner=user, type="sqlite", config={"path": "sample.db"})
    graph = one_node_graph("datasource", {
        "data_source_id": str(source.pk),
        "query": "SELECT '{input.x}' AS text",
    })
    result = run_graph(graph, owner_id=user.pk, input_data={"x": "' || (SELECT 1) || '"})
    assert result.status == "completed", result.error
    assert result.output["data"] == [{"text": "{input.x}"}]


@DB
def test_positional_params(sqlite_dir: Path) -> None:
    user = UserFactory()
    source = DataSourceFactory(owner=user, type="sqlite", config={"path": "sample.db"})
    graph = one_node_graph("datasource", {
        "data_source_id": str(source.pk), "query": "SELECT id FROM items WHERE id IN (?, ?)",
        "params": ["{input.a}", 5],
    })
    result = run_graph(graph, owner_id=user.pk, input_data={"a": 2})
    assert sorted(r["id"] for r in result.output["data"]) == [2, 5]


@DB
@pytest.mark.services
def test_a_postgresql_source_in_a_workflow(pg_db: SampleDb) -> None:
    user = UserFactory()
    source = DataSourceFactory(owner=user, type="postgresql", config=pg_db.config)
    before = pg_db.snapshot()
    graph = one_node_graph(
        "datasource",
        {"data_source_id": str(source.pk),
         "query": "SELECT name, price FROM items WHERE id = %(id)s",
         "params": {"id": "{input.id}"}},
        then={"type": "transform", "data": {"mapping": {"total": "node.data[0].price * 2"}}},
    )
    result = run_graph(graph, owner_id=user.pk, input_data={"id": 4})
    assert result.status == "completed", result.error
    assert result.output == {"total": 10}
    write = one_node_graph("datasource", {"data_source_id": str(source.pk),
                                          "query": "DELETE FROM items"})
    assert "QUERY_NOT_READ_ONLY" in failed(run_graph(write, owner_id=user.pk))
    assert pg_db.snapshot() == before


@DB
def test_a_foreign_or_unknown_source_fails_the_node() -> None:
    owner, stranger = UserFactory(), UserFactory()
    source = DataSourceFactory(owner=owner)
    graph = one_node_graph("datasource", {"data_source_id": str(source.pk)})
    message = failed(run_graph(graph, owner_id=stranger.pk))
    assert str(source.pk) in message and "not found" in message
    bad = one_node_graph("datasource", {"data_source_id": "not-a-uuid"})
    assert "not found" in failed(run_graph(bad, owner_id=owner.pk))


def test_without_an_owner_the_node_fails() -> None:
    graph = one_node_graph("datasource", {"data_source_id": "00000000-0000-0000-0000-000000000001"})
    assert "execution" in failed(run_graph(graph))


@DB
def test_connector_errors_become_node_errors(sqlite_dir: Path) -> None:
    user = UserFactory()
    source = DataSourceFactory(owner=user, type="sqlite", config={"path": "sample.db"})
    cases = {"DROP TABLE items": "QUERY_NOT_READ_ONLY", "SELEC nonsense": "INVALID_QUERY",
             "SELECT * FROM missing_table": "QUERY_FAILED"}
    for sql, code in cases.items():
        graph = one_node_graph("datasource", {"data_source_id": str(source.pk), "query": sql})
        message = failed(run_graph(graph, owner_id=user.pk))
        assert code in message and "query failed" in message


@DB
def test_a_missing_template_value_fails_the_node() -> None:
    user = UserFactory()
    source = DataSourceFactory(owner=user)
    graph = one_node_graph("datasource", {"data_source_id": str(source.pk),
                                          "params": {"x": "{input.nope}"}})
    assert "nope" in failed(run_graph(graph, owner_id=user.pk))


def test_graph_validation_of_the_datasource_node() -> None:
    graph = one_node_graph("datasource", {"query": 1, "params": "x"})
    result = validate_graph(graph["nodes"], graph["edges"])
    codes = {(issue.node_id, issue.code) for issue in result.errors}
    assert ("node", "MISSING_CONFIG") in codes and ("node", "INVALID_CONFIG") in codes
    fine = one_node_graph("datasource", {"data_source_id": "{input.id}", "query": "SELECT 1",
                                         "params": {"a": "{input.a}"}})
    assert validate_graph(fine["nodes"], fine["edges"]).valid


# -- http ------------------------------------------------------------------------------------------


def test_http_get_with_templates(local_server: LocalServer) -> None:
    graph = one_node_graph("http", {
        "url": local_server.url("/json") + "?q={input.q}",
        "headers": {"X-Token": "{input.token}", "X-Count": "{input.n}"},
    })
    result = run_graph(graph, input_data={"q": "hello", "token": "abc", "n": 3})
    assert result.status == "completed", result.error
    output = result.output
    assert set(output) == {"status_code", "headers", "body"}
    assert output["status_code"] == 200
    assert output["headers"]["content-type"] == "application/json"
    echo = output["body"]["echo"]
    assert echo["query"] == {"q": "hello"}
    assert echo["headers"]["x-token"] == "abc" and echo["headers"]["x-count"] == "3"


def test_http_post_json_and_text_bodies(local_server: LocalServer) -> None:
    graph = one_node_graph("http", {"method": "POST", "url": local_server.url("/json"),
                                    "body": {"user": "{input.user}", "tags": ["{input.tag}"]}})
    result = run_graph(graph, input_data={"user": {"id": 7}, "tag": "x"})
    assert result.status == "completed", result.error
    sent = local_server.requests[-1]
    assert json.loads(sent["body"]) == {"user": {"id": 7}, "tags": ["x"]}
    assert sent["headers"]["content-type"] == "application/json"

    text = one_node_graph("http", {"method": "PUT", "url": local_server.url("/json"),
                                   "headers": {"Content-Type": "text/plain"},
                                   "body": "name={input.user.id}"})
    assert run_graph(text, input_data={"user": {"id": 7}}).status == "completed"
    assert local_server.requests[-1]["body"] == "name=7"
    assert local_server.requests[-1]["method"] == "PUT"


def test_an_error_status_is_an_output_not_a_failure(local_server: LocalServer) -> None:
    graph = one_node_graph("http", {"url": local_server.url("/status?code=503")})
    result = run_graph(graph)
    assert result.status == "completed"
    assert result.output["status_code"] == 503 and result.output["body"] == {
        "error": "as requested"}


def test_text_responses_are_text(local_server: LocalServer) -> None:
    result = run_graph(one_node_graph("http", {"url": local_server.url("/text")}))
    assert result.output["body"] == "plain text"


def test_the_response_size_is_capped(local_server: LocalServer, settings) -> None:
    settings.OUTBOUND_MAX_RESPONSE_BYTES = 4096
    for path in ("/big?size=10000", "/chunked-big?chunks=64"):
        message = failed(run_graph(one_node_graph("http", {"url": local_server.url(path)})))
        assert "RESPONSE_TOO_LARGE" in message and "4096" in message
    small = run_graph(one_node_graph("http", {"url": local_server.url("/big?size=100")}))
    assert small.status == "completed"


def test_the_timeout_ends_the_request(local_server: LocalServer) -> None:
    graph = one_node_graph("http", {"url": local_server.url("/hang?s=2"), "timeout_ms": 300})
    # The request's own limit and the runner's attempt limit (timeout_ms is both) race.
    assert "timed out" in failed(run_graph(graph)).lower()


def test_graph_validation_of_the_http_node() -> None:
    bad = one_node_graph("http", {"method": "TRACE", "headers": ["x"], "timeout_ms": 0})
    result = validate_graph(bad["nodes"], bad["edges"])
    messages = " ".join(issue.message for issue in result.errors)
    assert not result.valid
    for word in ("url", "method", "headers", "timeout_ms"):
        assert word in messages


@DB
def test_the_node_logs_rows_and_truncation() -> None:
    from workflows.engine import Reporter, Runner
    from workflows.graphs import node_registry

    class Lines(Reporter):
        def __init__(self) -> None:
            self.lines: list[tuple[str, str]] = []

        def log(self, node_id, node_type, level, message, data) -> None:
            if node_id == "node":
                self.lines.append((level, message))

    user = UserFactory()
    source = DataSourceFactory(owner=user, name="people")
    for limit, expected in ((None, ("info", "returned 3 rows")), (2, ("warn", "first 2 rows"))):
        data = {"data_source_id": str(source.pk), **({"limit": limit} if limit else {})}
        lines = Lines()
        result = Runner(one_node_graph("datasource", data), registry=node_registry(),
                        reporter=lines, services={"owner_id": str(user.pk)}).run({})
        assert result.status == "completed"
        assert any(level == expected[0] and expected[1] in text and "people" in text
                   for level, text in lines.lines), lines.lines
