"""channels-redis' pub/sub layer, whose receiver wakes as soon as a process subscribes again.

The stock receiver of each Redis connection sleeps 100 ms at a time while the process has no
subscription. A WebSocket that subscribes to an execution on a process that was watching
nothing (the usual case for a process with few subscribers, or the only one after the last
watcher left) therefore got its first events up to 100 ms late: they wait in the socket until
the sleep ends. Here a subscription wakes the receiver at once; the idle check stays as a
fallback.
"""

import asyncio
import contextlib
import logging

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
    _wrap_close,
)

logger = logging.getLogger(__name__)


class _WakingShardConnection(RedisSingleShardConnection):
    # How long an idle receiver waits for a subscription before it looks again anyway.
    idle_check_s = 0.1

    def __init__(self, host, channel_layer) -> None:
        super().__init__(host, channel_layer)
        self._subscribed_event = asyncio.Event()

    async def subscribe(self, channel) -> None:
        await super().subscribe(channel)
        self._subscribed_event.set()

    async def _do_receiving(self) -> None:
        while True:
            try:
                if self._pubsub and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=0.1
                    )
                    self._receive_message(message)
                else:
                    self._subscribed_event.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._subscribed_event.wait(), self.idle_check_s)
            except (asyncio.CancelledError, TimeoutError, GeneratorExit):
                raise
            except BaseException:
                logger.exception("Unexpected exception in the channel layer's receive task")
                await asyncio.sleep(1)


class _WakingLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._shards = [_WakingShardConnection(shard.host, self) for shard in self._shards]


class WakingPubSubChannelLayer(RedisPubSubChannelLayer):
    """The pub/sub channel layer (one per event loop, as the stock one) with waking receivers."""

    def _get_layer(self):
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = _WakingLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
            return layer
