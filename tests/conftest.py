"""Fixtures shared by every test module."""

import pytest
from asgiref.sync import SyncToAsync
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import AdminFactory, UserFactory

pytest_plugins = ["tests.support.fixtures"]


def bearer_client(user) -> APIClient:
    """An API client that authenticates as `user` with a JWT."""
    client = APIClient()
    token = RefreshToken.for_user(user).access_token
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    client.user = user
    return client


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def admin_user(db):
    return AdminFactory()


@pytest.fixture
def client_for():
    """Build an authenticated client for any user."""
    return bearer_client


@pytest.fixture
def auth_client(user) -> APIClient:
    return bearer_client(user)


@pytest.fixture
def other_client(other_user) -> APIClient:
    return bearer_client(other_user)


@pytest.fixture
def admin_client_api(admin_user) -> APIClient:
    return bearer_client(admin_user)


@pytest.fixture
def running_worker(transactional_db):
    """A real worker for the configured deployment (thread or `rundramatiq` process)."""
    from tests.workers import start_worker

    worker = start_worker()
    yield worker
    worker.stop()


@pytest.fixture(scope="session", autouse=True)
def _close_database_pools(django_db_setup, django_db_blocker):
    """Close PostgreSQL connection pools before the test database is dropped."""
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        # Async tests run their sync code in asgiref's one thread, whose connection would
        # otherwise stay open (checked out of the pool) and keep the database from being dropped.
        SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=30)
        for connection in connections.all():
            if hasattr(connection, "close_pool"):
                connection.close_pool()
