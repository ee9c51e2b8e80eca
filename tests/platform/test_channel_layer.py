"""The pub/sub channel layer wakes its receiver when a process subscribes again (real Redis).

The idle check is set to a minute here, so a message that arrives only when the check comes
round (as with the stock receiver's sleep) fails the test by its timeout, whatever the speed of
the machine.
"""

import asyncio
import os
import uuid

import pytest
from channels_redis.pubsub import RedisPubSubChannelLayer

from platform_site.channel_layer import WakingPubSubChannelLayer, _WakingShardConnection

REDIS_URL = os.environ.get("TEST_CHANNEL_LAYER_URL", "redis://127.0.0.1:6379/1")
pytestmark = pytest.mark.services


@pytest.fixture
def slow_idle_check(monkeypatch):
    monkeypatch.setattr(_WakingShardConnection, "idle_check_s", 60.0)


async def idle_then_subscribed(layer) -> tuple[str, str]:
    """A channel in a group, subscribed after the layer had had no subscription at all."""
    first = await layer.new_channel()
    await layer.group_add("warm", first)
    await layer.group_discard("warm", first)
    loop_layer = layer._get_layer()
    del loop_layer.channels[first]
    await loop_layer._get_shard(first).unsubscribe(first)  # as a consumer's exit does
    await asyncio.sleep(0.3)  # the receiver has seen that nothing is subscribed
    group = f"execution.{uuid.uuid4().hex}"
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    return group, channel


async def test_a_group_message_after_an_idle_spell_arrives_without_waiting_for_the_check(
        slow_idle_check):
    layer = WakingPubSubChannelLayer(hosts=[REDIS_URL], prefix=f"test{uuid.uuid4().hex[:6]}")
    sender = RedisPubSubChannelLayer(hosts=[REDIS_URL], prefix=layer._kwargs["prefix"])
    try:
        group, channel = await idle_then_subscribed(layer)
        await sender.group_send(group, {"type": "node.finished", "n": 1})
        message = await asyncio.wait_for(layer.receive(channel), timeout=10)
        assert message == {"type": "node.finished", "n": 1}
    finally:
        await layer.flush()
        await sender.flush()


async def test_messages_keep_flowing_to_several_channels_of_a_group():
    layer = WakingPubSubChannelLayer(hosts=[REDIS_URL], prefix=f"test{uuid.uuid4().hex[:6]}")
    try:
        channels = [await layer.new_channel() for _ in range(3)]
        for channel in channels:
            await layer.group_add("watchers", channel)
        for n in range(5):
            await layer.group_send("watchers", {"type": "tick", "n": n})
        for channel in channels:
            received = [(await asyncio.wait_for(layer.receive(channel), timeout=10))["n"]
                        for _ in range(5)]
            assert received == [0, 1, 2, 3, 4]
    finally:
        await layer.flush()
