"""Helpers for the Django side of data sources: settings for the sample databases and servers,
API shortcuts and one-node workflow runs. Import the fixtures you use into the test module."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from tests.datasources.conftest import LocalServer

CANARY = "CANARY-s3cr3t-9f7Q2xZ"
BASE = "/api/v1/data-sources"


@pytest.fixture
def ds_settings(settings, sqlite_dir: Path, tmp_path: Path):
    """SQLite files in `sqlite_dir`, uploads in tmp, 127.0.0.2 (the local server) allow-listed."""
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    settings.SQLITE_DATASOURCE_DIR = sqlite_dir
    settings.MEDIA_ROOT = uploads
    settings.OUTBOUND_ALLOW_NETWORKS = ["127.0.0.2/32"]
    settings.OUTBOUND_MAX_RESPONSE_BYTES = 64 * 1024
    settings.OUTBOUND_TIMEOUT_S = 5
    return settings


def create(client, type: str, config: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Create a data source through the API and return its JSON (asserts 201)."""
    response = client.post(
        BASE, {"name": extra.pop("name", f"{type} source"), "type": type, "config": config,
               **extra}, format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def query(client, source_id: str, sql: Any, **extra: Any):
    """POST /{id}/query."""
    return client.post(f"{BASE}/{source_id}/query", {"query": sql, **extra}, format="json")


def api_config(server: LocalServer, **extra: Any) -> dict[str, Any]:
    """An `api` source config for the local test server."""
    return {"base_url": server.url("/"), "data_path": "data.users", "timeout_s": 5, **extra}


def one_node_graph(node_type: str, data: dict[str, Any], *, then: dict | None = None) -> dict:
    """start -> node [-> then] -> end."""
    nodes = [{"id": "start", "type": "start", "data": {}},
             {"id": "node", "type": node_type, "data": data}]
    if then is not None:
        nodes.append({"id": "then", **then})
    nodes.append({"id": "end", "type": "end", "data": {}})
    edges = [{"id": f"e{i}", "source": a["id"], "target": b["id"]}
             for i, (a, b) in enumerate(itertools.pairwise(nodes))]
    return {"nodes": nodes, "edges": edges}


def run_graph(graph: dict, *, owner_id: Any = None, input_data: Any = None):
    """Run a graph with the engine's Runner and the services the executions app passes."""
    from workflows.engine import Runner
    from workflows.graphs import node_registry

    services = {"execution_id": "00000000-0000-0000-0000-000000000000"}
    if owner_id is not None:
        services["owner_id"] = str(owner_id)
    return Runner(graph, registry=node_registry(), services=services).run(input_data or {})
