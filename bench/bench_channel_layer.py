"""The channel layer's delivery of a process's first subscription after an idle spell.

A WebSocket subscriber joins an execution's group on a web process that had no subscription
(its last watcher left between 50 and 200 ms before); the run's first event is published 5 to
30 ms later, as after a resume. Measured: publish to receive, for channels-redis' stock pub/sub
layer and for `platform_site.channel_layer.WakingPubSubChannelLayer`, in alternating rounds.

Run:  .venv/bin/python bench/bench_channel_layer.py [--rounds 4] [--subscriptions 50]
Needs Redis on 127.0.0.1:6379; uses Redis database 6 (its keys are pub/sub only).
"""

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

from channels_redis.pubsub import RedisPubSubChannelLayer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from platform_site.channel_layer import WakingPubSubChannelLayer

REDIS_URL = "redis://127.0.0.1:6379/6"


async def first_message_latencies(layer_class, subscriptions: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    subscriber = layer_class(hosts=[REDIS_URL], prefix="bench")
    publisher = RedisPubSubChannelLayer(hosts=[REDIS_URL], prefix="bench")
    latencies = []
    try:
        for n in range(subscriptions):
            channel = await subscriber.new_channel()
            await subscriber.group_add(f"execution.{n}", channel)
            await asyncio.sleep(rng.uniform(0.005, 0.03))
            await publisher.group_send(f"execution.{n}", {"type": "x", "ts": time.time()})
            message = await subscriber.receive(channel)
            latencies.append((time.time() - message["ts"]) * 1000)
            # The subscriber leaves, as a consumer's exit does: its group, then its channel.
            await subscriber.group_discard(f"execution.{n}", channel)
            loop_layer = subscriber._get_layer()
            del loop_layer.channels[channel]
            await loop_layer._get_shard(channel).unsubscribe(channel)
            await asyncio.sleep(rng.uniform(0.05, 0.2))
    finally:
        await subscriber.flush()
        await publisher.flush()
    return latencies


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--subscriptions", type=int, default=50)
    args = parser.parse_args()
    results: dict[str, list[float]] = {"stock": [], "waking": []}
    for round_number in range(args.rounds):
        for name, layer_class in (("stock", RedisPubSubChannelLayer),
                                  ("waking", WakingPubSubChannelLayer)):
            print(f"round {round_number + 1}/{args.rounds}: {name}", flush=True)
            results[name] += await first_message_latencies(layer_class, args.subscriptions,
                                                           seed=round_number)
    print()
    for name, latencies in results.items():
        print(f"{name:7s} first message after subscribing   p50 {percentile(latencies, 50):6.2f} ms"
              f"   p99 {percentile(latencies, 99):6.2f} ms   max {max(latencies):6.2f} ms"
              f"   (n={len(latencies)})")


if __name__ == "__main__":
    asyncio.run(main())
