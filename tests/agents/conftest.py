"""Fixtures for the agents tests: a scripted model server and clients pointed at it."""

import time

import pytest

from agents.llm import LLMClient, ModelSettings
from tests.support.fixtures import openai_server

__all__ = ["api_key", "client", "model_settings", "openai_server", "sleeps"]


@pytest.fixture
def api_key() -> str:
    """A key shaped like a real one, so leaks of it are easy to spot."""
    return "sk-test-SECRET0123456789abcdef"


@pytest.fixture
def model_settings(openai_server, api_key) -> ModelSettings:
    """Settings for the scripted server, with backoff short enough for tests."""
    return ModelSettings(
        provider="openai_compatible",
        model="test-model",
        base_url=openai_server.base_url,
        api_key=api_key,
        timeout_s=5.0,
        max_retries=2,
        backoff_base_s=0.01,
        backoff_max_s=0.05,
    )


@pytest.fixture
def sleeps() -> list[float]:
    """The waits a client made between retries (they still really happen)."""
    return []


@pytest.fixture
def client(model_settings, sleeps):
    """A client for the scripted server that records its retry waits in `sleeps`."""

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    with LLMClient(model_settings, sleep=sleep) as llm_client:
        yield llm_client
