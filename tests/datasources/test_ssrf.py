"""SSRF through the platform: the `http` node and `api` data sources refuse every internal target
of the corpus (loopback and metadata addresses in every spelling, private networks, other
schemes) and every redirect to one, and the trap server on 127.0.0.1 never sees a request."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.datasources.conftest import LocalServer
from tests.datasources.django_support import (
    BASE,
    create,
    ds_settings,  # noqa: F401  (fixture)
    one_node_graph,
    query,
    run_graph,
)
from tests.datasources.test_outbound import SSRF_TARGETS

pytestmark = pytest.mark.usefixtures("ds_settings")

IDS = [t for t, _ in SSRF_TARGETS]
REDIRECT_TARGETS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "http://127.0.0.1:{trap}/stolen",
    "http://localhost:{trap}/stolen",
    "http://2130706433:{trap}/",
    "http://0x7f000001:{trap}/",
    "http://[::ffff:127.0.0.1]:{trap}/",
    "http://10.0.0.1/",
    "file:///etc/passwd",
    "gopher://127.0.0.1:{trap}/_GET",
]
# What the API answers for each outbound refusal code of an `api` source's query.
API_CODES = {"ADDRESS_NOT_ALLOWED": "ADDRESS_NOT_ALLOWED", "DNS_FAILED": "CONNECTION_FAILED",
             "INVALID_URL": "INVALID_URL", "SCHEME_NOT_ALLOWED": "SCHEME_NOT_ALLOWED"}


def test_the_corpus_covers_the_issue() -> None:
    assert len(SSRF_TARGETS) >= 15
    spelled = " ".join(IDS)
    for form in ("169.254.169.254", "2130706433", "0x7f000001", "::ffff:", "file://",
                 "gopher://", "localhost"):
        assert form in spelled


# -- the http node ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("template", "codes"), SSRF_TARGETS, ids=IDS)
def test_the_http_node_refuses(trap_server: LocalServer, template: str, codes: set[str]) -> None:
    url = template.format(port=trap_server.port)
    result = run_graph(one_node_graph("http", {"url": url, "timeout_ms": 3000}))
    assert result.status == "failed"
    message = result.node_results["node"].error
    assert any(f"({code})" in message for code in codes), message
    assert "secret-pw" not in message
    assert trap_server.requests == []


@pytest.mark.parametrize("location", REDIRECT_TARGETS)
@pytest.mark.parametrize("status", [302, 307])
def test_the_http_node_refuses_redirects_to_internal_hosts(
    local_server: LocalServer, trap_server: LocalServer, location: str, status: int
) -> None:
    target = quote(location.format(trap=trap_server.port), safe="")
    url = local_server.url(f"/redirect?status={status}&to={target}")
    result = run_graph(one_node_graph("http", {"url": url}))
    assert result.status == "failed"
    message = result.node_results["node"].error
    assert "(ADDRESS_NOT_ALLOWED)" in message or "(SCHEME_NOT_ALLOWED)" in message, message
    assert [r["path"] for r in local_server.requests] == ["/redirect"]
    assert trap_server.requests == []


def test_the_http_node_follows_a_safe_redirect(local_server: LocalServer) -> None:
    url = local_server.url("/redirect?to=" + quote(local_server.url("/json"), safe=""))
    result = run_graph(one_node_graph("http", {"url": url}))
    assert result.status == "completed" and result.output["status_code"] == 200


def test_a_host_is_reachable_only_when_allow_listed(local_server: LocalServer, settings) -> None:
    settings.OUTBOUND_ALLOW_NETWORKS = []
    result = run_graph(one_node_graph("http", {"url": local_server.url("/json")}))
    assert "(ADDRESS_NOT_ALLOWED)" in result.node_results["node"].error
    settings.OUTBOUND_ALLOW_HOSTS = ["127.0.0.2"]
    assert run_graph(one_node_graph("http", {"url": local_server.url("/json")})).status == \
        "completed"


# -- api data sources -----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("template", "codes"), SSRF_TARGETS, ids=IDS)
def test_an_api_source_refuses(
    auth_client, trap_server: LocalServer, template: str, codes: set[str]
) -> None:
    url = template.format(port=trap_server.port)
    response = auth_client.post(
        BASE, {"name": "ssrf", "type": "api", "config": {"base_url": url, "timeout_s": 3}},
        format="json",
    )
    if response.status_code == 400:
        # Refused when saved: not http(s), credentials in the URL, or not a URL at all.
        assert "base_url" in response.json()["errors"]["config"]
    else:
        assert response.status_code == 201
        source_id = response.json()["id"]
        answer = query(auth_client, source_id, "")
        assert answer.json()["error_code"] in {API_CODES[c] for c in codes}, answer.json()
        assert answer.status_code in (422, 502)
        tested = auth_client.post(f"{BASE}/{source_id}/test").json()
        assert tested["status"] == "failed"
        assert "secret-pw" not in str(answer.json()) + tested["message"]
    assert trap_server.requests == []


@pytest.mark.django_db
@pytest.mark.parametrize("location", REDIRECT_TARGETS)
def test_an_api_source_refuses_redirects_to_internal_hosts(
    auth_client, local_server: LocalServer, trap_server: LocalServer, location: str
) -> None:
    source = create(auth_client, "api", {"base_url": local_server.url("/"), "timeout_s": 3})
    target = quote(location.format(trap=trap_server.port), safe="")
    answer = query(auth_client, source["id"], f"redirect?status=307&to={target}")
    assert answer.status_code == 422
    assert answer.json()["error_code"] in {"ADDRESS_NOT_ALLOWED", "SCHEME_NOT_ALLOWED"}
    assert trap_server.requests == []
