"""Pytest fixtures for the test helpers in `tests.support`.

Register them project-wide with `pytest_plugins = ["tests.support.fixtures"]` in the root
conftest, or import `openai_server` into a conftest.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator

import pytest

from tests.support.openai_server import ScriptedOpenAIServer

_server: ScriptedOpenAIServer | None = None
_server_lock = threading.Lock()


def _shared_server() -> ScriptedOpenAIServer:
    """One server per test process, started on first use; tests reset it rather than restart it."""
    global _server
    with _server_lock:
        if _server is None:
            _server = ScriptedOpenAIServer().start()
            atexit.register(_server.stop)
        return _server


@pytest.fixture
def openai_server() -> Iterator[ScriptedOpenAIServer]:
    """A scripted OpenAI-compatible server, empty and echoing, at `.base_url` (ends in /v1)."""
    server = _shared_server()
    server.reset()
    yield server
    server.reset()
