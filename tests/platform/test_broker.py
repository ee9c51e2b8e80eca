"""The Redis broker wakes idle workers on enqueue instead of letting them poll (real Redis)."""

import os
import threading
import uuid

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from platform_site.broker import MAX_WAKE_TOKENS, WakingRedisBroker

REDIS_URL = os.environ.get("TEST_BROKER_URL", "redis://127.0.0.1:6379/0")
pytestmark = pytest.mark.services


@pytest.fixture
def namespace():
    name = f"conflux-test-broker-{uuid.uuid4().hex[:8]}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{name}*"))
    if keys:
        client.delete(*keys)


class Setup:
    """A broker of the namespace and an actor that records its calls."""

    def __init__(self, namespace: str, broker_class=WakingRedisBroker) -> None:
        self.broker = broker_class(url=REDIS_URL, namespace=namespace)
        self.done = threading.Event()
        self.fetches = 0
        fetch = self.broker.do_fetch

        def counted_fetch(*args):
            self.fetches += 1
            return fetch(*args)

        self.broker.do_fetch = counted_fetch
        self.actor = dramatiq.actor(lambda: self.done.set(), actor_name="record",
                                    queue_name="runs", broker=self.broker)
        self.worker = None

    def start_worker(self) -> None:
        self.worker = dramatiq.Worker(self.broker, worker_threads=1, worker_timeout=100)
        self.worker.start()

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop(timeout=10_000)
        self.broker.close()


@pytest.fixture
def setup(namespace):
    made = []

    def make(broker_class=WakingRedisBroker) -> Setup:
        made.append(Setup(namespace, broker_class))
        return made[-1]

    yield make
    for each in made:
        each.stop()


def _in_thread(function):
    """Run `function` in a thread; the result lands in `thread.result`."""
    thread = threading.Thread(target=lambda: setattr(thread, "result", function()), daemon=True)
    thread.start()
    return thread


def test_an_idle_consumer_waits_without_polling_until_an_enqueue_wakes_it(setup):
    runs = setup()
    consumer = runs.broker.consume("runs", prefetch=1, timeout=60_000)
    waiting = _in_thread(lambda: next(consumer))
    waiting.join(1.0)
    assert waiting.is_alive() and runs.fetches == 1  # one fetch, then a wait, no polling
    runs.actor.send()
    waiting.join(10.0)  # only the wake-up ends a 60 s wait this soon
    assert not waiting.is_alive() and waiting.result is None
    assert next(consumer).actor_name == "record"
    consumer.close()


def test_a_message_enqueued_without_a_wake_up_is_found_at_the_timeout(setup):
    runs = setup()
    consumer = runs.broker.consume("runs", prefetch=1, timeout=200)
    # Dramatiq's own broker, on the same queues, pushes no token.
    plain = setup(RedisBroker)
    plain.broker.namespace = runs.broker.namespace
    plain.actor.send()
    found = _in_thread(lambda: next(message for message in consumer if message is not None))
    found.join(10.0)
    assert found.result.actor_name == "record"
    consumer.close()


def test_a_worker_runs_messages_sent_now_and_with_a_delay(setup):
    runs = setup()
    runs.start_worker()
    runs.actor.send()
    assert runs.done.wait(10.0)
    runs.done.clear()
    runs.actor.send_with_options(delay=300)
    assert runs.done.wait(10.0)


def test_wake_up_tokens_nobody_waited_for_are_capped(setup):
    runs = setup()
    for _ in range(MAX_WAKE_TOKENS * 3):
        runs.actor.send()
    assert runs.broker.client.llen(runs.broker.wake_key("runs")) == MAX_WAKE_TOKENS
