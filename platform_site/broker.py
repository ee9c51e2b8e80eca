"""Dramatiq's Redis broker, with idle workers that wait to be woken instead of polling.

Dramatiq's Redis consumer finds out about new messages by polling: an idle worker runs a fetch
script every few milliseconds, which either delays the pick-up of a new run (a long poll interval)
or burns a large share of the CPU on empty fetches (a short one). Here every enqueue also pushes a
token onto the queue's wake-up list, and an idle consumer blocks on that list (`BLPOP`) for at most
the worker timeout: a new run is picked up within a round trip, and an idle worker costs nothing.

A lost token (Redis restarted between the enqueue and the wait) costs at most one worker timeout,
after which the consumer fetches anyway. Tokens no consumer waited for are capped, so a busy
period leaves only a few spurious wake-ups behind.
"""

import contextlib
import time

import redis
from dramatiq import Message
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.errors import ConnectionClosed

# At most this many wake-up tokens wait on a queue's list: enough for every idle consumer.
MAX_WAKE_TOKENS = 64
# A consumer whose prefetch is full waits this long for its worker threads to ack something.
BUSY_WAIT_S = 0.005


class WakingRedisBroker(RedisBroker):
    """A Redis broker whose enqueues wake an idle consumer of the queue."""

    @property
    def consumer_class(self):
        return _WakingConsumer

    def wake_key(self, queue_name: str) -> str:
        return f"{self.namespace}:{queue_name}.wake"

    def enqueue(self, message: Message, *, delay: int | None = None) -> Message:
        message = super().enqueue(message, delay=delay)
        # A delayed message goes to the delay queue (`message.queue_name` says which), whose
        # consumer holds it until it is due.
        key = self.wake_key(message.queue_name)
        try:
            with self.client.pipeline(transaction=False) as pipe:
                pipe.lpush(key, 1).ltrim(key, 0, MAX_WAKE_TOKENS - 1).execute()
        except redis.RedisError:
            pass  # The message is queued; a consumer finds it within its timeout anyway.
        return message


class _WakingConsumer(_RedisConsumer):
    def __next__(self) -> MessageProxy | None:
        try:
            while True:
                if self.message_cache:
                    data = self.message_cache.pop(0)
                    if data is None:  # an id whose message body is gone from Redis
                        continue
                    message = Message.decode(data)
                    self.queued_message_ids.add(message.message_id)
                    return MessageProxy(message)
                room = self.prefetch - self.outstanding_message_count
                if room <= 0:
                    # Every prefetched message is still being worked on: let the worker loop
                    # hand back acks before fetching more.
                    time.sleep(BUSY_WAIT_S)
                    return None
                self.message_cache = self.broker.do_fetch(self.queue_name, room)
                if not self.message_cache:
                    # Nothing queued: sleep until an enqueue wakes us, or the timeout ends. The
                    # worker loop then runs (acks, due delayed messages) and calls us again.
                    # (A client socket timeout shorter than ours is the same as no wake-up.)
                    with contextlib.suppress(redis.TimeoutError):
                        self.broker.client.blpop([self.broker.wake_key(self.queue_name)],
                                                 timeout=max(self.timeout, 1) / 1000)
                    return None
        except redis.ConnectionError as error:
            raise ConnectionClosed(error) from None
