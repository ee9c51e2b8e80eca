"""A worker shared by the tests of one module: a worker process takes seconds to start.

    _module_worker = module_worker_fixture(OUTBOUND_ALLOW_NETWORKS="127.0.0.2/32")

    @pytest.fixture
    def worker(transactional_db, _module_worker):
        return _module_worker

`settings` (names to values) apply to this process (override_settings) and, as environment
variables, to a worker process; lists are joined with commas.
"""

import pytest


def module_worker_fixture(**settings_values):
    """A module-scoped pytest fixture yielding a running worker of the configured deployment."""

    @pytest.fixture(scope="module")
    def _module_worker(django_db_setup, django_db_blocker):
        from django.conf import settings
        from django.test import override_settings

        from tests.workers import EmbeddedWorker, WorkerProcess

        env = {name: ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
               for name, value in settings_values.items()}
        with override_settings(**settings_values), django_db_blocker.unblock():
            worker = EmbeddedWorker() if settings.EMBEDDED_WORKER else WorkerProcess(**env)
            try:
                worker.wait_until_beating()
                yield worker
            finally:
                worker.stop()

    return _module_worker
