"""Services of the datasources app: validation, encryption at rest, secret keeping, test and
query outcomes, the connector context and the shared outbound client."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from datasources import services
from datasources.connectors import registry
from datasources.models import DataSource
from datasources.secrets import MASK, is_sensitive_header, mask_secrets, merge_secrets
from platform_site import crypto
from platform_site.api.errors import APIError
from platform_site.outbound import outbound_client, outbound_policy, reset_outbound
from tests.datasources.conftest import LocalServer
from tests.datasources.django_support import CANARY, ds_settings  # noqa: F401
from tests.factories import DataSourceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ds_settings")]

PG = {"host": "db.example", "database": "app", "user": "reader", "password": CANARY}


def stored(source: DataSource) -> dict:
    """The config as the database holds it."""
    return DataSource.objects.values_list("config", flat=True).get(pk=source.pk)


# -- create and validation ------------------------------------------------------------------


def test_secrets_are_encrypted_at_rest(user) -> None:
    source = services.datasource_create(owner=user, name="pg", type="postgresql", config=PG)
    raw = stored(source)
    assert crypto.is_encrypted(raw["password"])
    assert CANARY not in str(raw)
    assert raw["host"] == "db.example"  # only secrets are encrypted
    assert services.plain_config(source)["password"] == CANARY


def test_object_secrets_and_sensitive_headers_are_encrypted(user) -> None:
    config = {
        "base_url": "https://api.example.com/",
        "auth": {"type": "bearer", "token": CANARY},
        "headers": {"Accept": "application/json", "X-Api-Key": CANARY + "-h"},
    }
    source = services.datasource_create(owner=user, name="api", type="api", config=config)
    raw = stored(source)
    assert crypto.is_encrypted(raw["auth"]) and crypto.is_encrypted(raw["headers"]["X-Api-Key"])
    assert raw["headers"]["Accept"] == "application/json"
    assert CANARY not in str(raw)
    assert services.plain_config(source) == config
    masked = mask_secrets(registry.get("api"), raw)
    assert masked["auth"] == MASK and masked["headers"] == {"Accept": "application/json",
                                                            "X-Api-Key": MASK}


def test_an_empty_secret_is_shown_as_empty(user) -> None:
    source = services.datasource_create(owner=user, name="pg", type="postgresql",
                                        config={**PG, "password": ""})
    assert mask_secrets(registry.get("postgresql"), stored(source))["password"] == ""


def test_a_value_that_looks_encrypted_is_not_trusted(user) -> None:
    fake = "enc:v1:not-a-token"
    source = services.datasource_create(owner=user, name="pg", type="postgresql",
                                        config={**PG, "password": fake})
    assert services.plain_config(source)["password"] == fake


def test_invalid_config_is_refused_with_field_errors(user) -> None:
    with pytest.raises(APIError) as info:
        services.datasource_create(owner=user, name="pg", type="postgresql",
                                   config={"host": "h", "port": "x", "password": CANARY})
    assert info.value.status_code == 400
    assert set(info.value.errors["config"]) >= {"database", "user", "port"}
    assert CANARY not in str(info.value.detail) + str(info.value.errors)
    with pytest.raises(APIError) as info:
        services.datasource_create(owner=user, name="x", type="oracle", config={})
    assert "type" in info.value.errors


def test_a_mask_sent_on_create_is_not_a_password(user) -> None:
    source = services.datasource_create(owner=user, name="pg", type="postgresql",
                                        config={**PG, "password": MASK})
    assert "password" not in services.plain_config(source)


# -- update: secrets kept, replaced or cleared ------------------------------------------------


def test_update_keeps_secrets_omitted_or_masked(user) -> None:
    source = services.datasource_create(owner=user, name="pg", type="postgresql", config=PG)
    without = {k: v for k, v in PG.items() if k != "password"}
    services.datasource_update(data_source=source, config={**without, "host": "other"})
    source.refresh_from_db()
    assert services.plain_config(source) == {**PG, "host": "other"}
    services.datasource_update(data_source=source, config={**without, "password": MASK})
    source.refresh_from_db()
    assert services.plain_config(source)["password"] == CANARY


def test_update_replaces_or_clears_a_secret(user) -> None:
    source = services.datasource_create(owner=user, name="pg", type="postgresql", config=PG)
    services.datasource_update(data_source=source, config={**PG, "password": "new-password"})
    source.refresh_from_db()
    assert services.plain_config(source)["password"] == "new-password"
    services.datasource_update(data_source=source, config={**PG, "password": ""})
    source.refresh_from_db()
    assert services.plain_config(source)["password"] == ""


def test_masked_sensitive_headers_are_kept_and_others_replaced() -> None:
    api = registry.get("api")
    previous = {"base_url": "https://x/", "auth": {"type": "bearer", "token": "t0k3n"},
                "headers": {"Authorization": "Bearer old", "X-Trace": "1"}}
    incoming = {"base_url": "https://x/", "auth": MASK,
                "headers": {"authorization": MASK, "X-Trace": "2", "Cookie": MASK}}
    merged = merge_secrets(api, incoming, previous)
    assert merged["auth"] == previous["auth"]
    assert merged["headers"] == {"authorization": "Bearer old", "X-Trace": "2"}


def test_secrets_do_not_follow_a_type_change(user) -> None:
    source = services.datasource_create(owner=user, name="pg", type="postgresql", config=PG)
    without = {k: v for k, v in PG.items() if k != "password"}
    services.datasource_update(data_source=source, type="mysql", config=without)
    source.refresh_from_db()
    assert source.type == "mysql" and "password" not in services.plain_config(source)


def test_a_config_change_resets_the_last_test(user) -> None:
    source = DataSourceFactory(owner=user, type="csv", config={"file": "missing.csv"})
    services.datasource_test(data_source=source)
    assert source.status == "error" and source.last_test_status == "failed"
    services.datasource_update(data_source=source, config={"content": "a\n1\n"})
    source.refresh_from_db()
    assert source.status == "active"
    assert (source.last_test_status, source.last_tested_at) == ("", None)


def test_update_without_changes_writes_nothing(user) -> None:
    source = DataSourceFactory(owner=user)
    before = source.updated_at
    services.datasource_update(data_source=source, name=source.name)
    source.refresh_from_db()
    assert source.updated_at == before


def test_sensitive_header_names() -> None:
    for name in ("Authorization", "X-Api-Key", "api_key", "Cookie", "X-Auth-Token",
                 "Proxy-Authorization", "X-Secret"):
        assert is_sensitive_header(name), name
    for name in ("Accept", "Content-Type", "User-Agent", "X-Request-Id"):
        assert not is_sensitive_header(name), name


# -- test and query ----------------------------------------------------------------------------


def test_the_test_records_its_outcome(user) -> None:
    source = DataSourceFactory(owner=user)
    result = services.datasource_test(data_source=source)
    assert result.ok
    source.refresh_from_db()
    assert source.last_test_status == "success" and source.status == "active"
    assert source.last_test_message == result.message
    assert source.last_tested_at is not None and source.last_test_latency_ms >= 0


def test_query_errors_carry_code_and_status(user, sqlite_dir: Path) -> None:
    source = DataSourceFactory(owner=user, type="sqlite", config={"path": "sample.db"})
    with pytest.raises(services.DataSourceError) as info:
        services.datasource_query(data_source=source, query="DELETE FROM items")
    assert (info.value.status_code, info.value.error_code) == (400, "QUERY_NOT_READ_ONLY")
    with pytest.raises(services.DataSourceError) as info:
        services.datasource_query(data_source=source, query="SELECT 1", limit=0)
    assert (info.value.status_code, info.value.error_code) == (400, "INVALID_QUERY")


def test_query_for_owner_checks_the_owner(user, other_user) -> None:
    source = DataSourceFactory(owner=user)
    result = services.datasource_query_for_owner(owner_id=user.pk, data_source_id=source.pk,
                                                 query=None)
    assert result["count"] == 3 and set(result) == {"data", "count", "columns"}
    for owner, source_id in ((other_user.pk, source.pk), (user.pk, "nonsense"),
                             ("nonsense", source.pk)):
        with pytest.raises(DataSource.DoesNotExist):
            services.datasource_query_for_owner(owner_id=owner, data_source_id=source_id,
                                                query=None)


def test_the_connector_context_comes_from_the_settings(settings, tmp_path: Path) -> None:
    settings.SQLITE_DATASOURCE_DIR = tmp_path / "lite"
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.DATASOURCE_MAX_ROWS = 7
    settings.DATASOURCE_STATEMENT_TIMEOUT_MS = 1234
    ctx = services.connector_context()
    assert ctx.sqlite_base_dir == tmp_path / "lite"
    assert ctx.uploads_base_dir == tmp_path / "media"
    assert (ctx.max_rows, ctx.statement_timeout_ms) == (7, 1234)
    assert ctx.outbound_client is outbound_client()


# -- the shared outbound client -------------------------------------------------------------


def test_the_outbound_client_is_built_once_and_rebuilt_on_setting_changes(settings) -> None:
    first = outbound_client()
    assert outbound_client() is first and outbound_policy() is first.policy
    settings.OUTBOUND_ALLOW_HOSTS = ["Internal.Example."]
    settings.OUTBOUND_MAX_REDIRECTS = 1
    policy = outbound_policy()
    assert policy.host_allowed("internal.example") and policy.max_redirects == 1
    second = outbound_client()
    assert second is not first and second.policy is policy


def test_the_policy_reads_networks_and_limits(settings) -> None:
    settings.OUTBOUND_ALLOW_NETWORKS = "10.1.0.0/16, 192.168.5.7"
    settings.OUTBOUND_MAX_RESPONSE_BYTES = 1000
    policy = outbound_policy()
    assert policy.address_allowed(ipaddress.ip_address("10.1.2.3"))
    assert policy.address_allowed(ipaddress.ip_address("192.168.5.7"))
    assert not policy.address_allowed(ipaddress.ip_address("10.2.0.1"))
    assert policy.max_response_bytes == 1000


def test_a_bad_network_setting_says_how_to_fix_it(settings) -> None:
    settings.OUTBOUND_ALLOW_NETWORKS = ["not-a-network"]
    with pytest.raises(ImproperlyConfigured, match="OUTBOUND_ALLOW_NETWORKS"):
        outbound_policy()
    settings.OUTBOUND_ALLOW_NETWORKS = []
    reset_outbound()
    assert outbound_policy().allow_networks == ()


def test_the_outbound_client_reaches_only_allow_listed_local_servers(
    local_server: LocalServer, settings
) -> None:
    assert outbound_client().request("GET", local_server.url("/json")).status_code == 200
    settings.OUTBOUND_ALLOW_NETWORKS = []
    from datasources.outbound import OutboundError

    with pytest.raises(OutboundError):
        outbound_client().request("GET", local_server.url("/json"))
    assert len(local_server.requests) == 1


def test_sending_the_masked_config_back_changes_nothing(user) -> None:
    source = services.datasource_create(owner=user, name="pg", type="postgresql", config=PG)
    source.last_test_status = "success"
    source.save(update_fields=["last_test_status"])
    masked = mask_secrets(registry.get("postgresql"), stored(source))
    services.datasource_update(data_source=source, config=masked)
    source.refresh_from_db()
    assert source.last_test_status == "success"
    assert services.plain_config(source) == PG
