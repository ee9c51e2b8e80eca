"""End-to-end execution benchmark on PostgreSQL + Redis with real worker processes.

Measures, for a 5-node workflow started through the HTTP API:
  - executions per second, from the first request to the last execution completed;
  - enqueue-to-start latency: the execution's `enqueued_at` to its first node starting (p50/p99),
    for executions started one at a time (pick-up latency) and under the throughput load;
  - WebSocket delivery: a node finishing (the event's `ts`) to a subscriber receiving it (p50/p99).

Run:  .venv/bin/python bench/bench_executions.py [--executions 2000] [--concurrency 32]
Needs PostgreSQL on 127.0.0.1:5432 (trust auth) and Redis on 127.0.0.1:6379; uses the database
`conflux_bench` and Redis databases 5 and 6, which it empties first.
"""

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import redis
import websockets

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "conflux_bench"
PG = "postgres://postgres@127.0.0.1:5432"

WORKFLOW = {
    "name": "bench: five nodes",
    "nodes": [
        {"id": "start", "type": "start", "position": {"x": 0, "y": 0}, "data": {}},
        {"id": "double", "type": "transform", "position": {"x": 1, "y": 0},
         "data": {"mapping": {"y": "input.x * 2", "label": "'item ' + str(input.x)"}}},
        {"id": "big", "type": "condition", "position": {"x": 2, "y": 0},
         "data": {"expression": "y > 10"}},
        {"id": "out", "type": "output", "position": {"x": 3, "y": 0},
         "data": {"mapping": {"result": "y", "label": "label"}}},
        {"id": "end", "type": "end", "position": {"x": 4, "y": 0}, "data": {}},
    ],
    "edges": [
        {"id": "e1", "source": "start", "target": "double"},
        {"id": "e2", "source": "double", "target": "big"},
        {"id": "e3", "source": "big", "target": "out", "sourceHandle": "true"},
        {"id": "e4", "source": "big", "target": "end", "sourceHandle": "false"},
        {"id": "e5", "source": "out", "target": "end"},
    ],
}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def environment() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        DJANGO_SETTINGS_MODULE="platform_site.settings.base",
        DATABASE_URL=f"{PG}/{DB_NAME}",
        BROKER_URL="redis://127.0.0.1:6379/5",
        CHANNEL_LAYER_URL="redis://127.0.0.1:6379/6",
        CACHE_URL="rediscache://127.0.0.1:6379/7",
        BROKER_NAMESPACE="conflux-bench",
        LOG_LEVEL="WARNING",
        DEBUG="true",
        LOGIN_FAILURE_RATE="1000/m",
        # One user starts every run: the per-user limits would measure themselves, not the
        # platform's capacity.
        EXECUTE_RATE="1000000/m",
        MAX_ACTIVE_EXECUTIONS_PER_USER="1000000",
        PYTHONUNBUFFERED="1",
    )
    return env


def prepare_database(env: dict) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env,
                   check=True)
    for db in (5, 6, 7):
        redis.Redis(db=db).flushdb()


def start(cmd: list[str], env: dict, name: str) -> subprocess.Popen:
    log = open(ROOT / "var" / f"bench-{name}.log", "w")  # noqa: SIM115
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


async def wait_for_server(base: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                if (await client.get(f"{base}/health")).status_code in (200, 503):
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the web server did not start")


async def wait_for_workers(base: str, expected: int) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            body = (await client.get(f"{base}/health")).json()
            detail = body["checks"]["worker"]["detail"]
            if body["checks"]["worker"]["ok"] and int(detail.split()[0]) >= expected:
                return
            await asyncio.sleep(0.1)
    raise RuntimeError("the workers did not report")


async def set_up_workflow(base: str) -> tuple[dict, str, str]:
    async with httpx.AsyncClient(base_url=base) as client:
        name = f"bench{uuid.uuid4().hex[:6]}"
        await client.post("/api/v1/auth/register", json={
            "username": name, "email": f"{name}@example.com", "password": "Bench-mark-42"})
        tokens = (await client.post("/api/v1/auth/login", json={
            "username": name, "password": "Bench-mark-42"})).json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        workflow = (await client.post("/api/v1/workflows", json=WORKFLOW, headers=headers)).json()
        await client.post(f"/api/v1/workflows/{workflow['id']}/publish", headers=headers)
        return headers, tokens["access_token"], workflow["id"]


async def fire(base: str, headers: dict, workflow_id: str, count: int,
               concurrency: int) -> list[str]:
    ids: list[str] = []
    queue: asyncio.Queue = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def client_loop(client: httpx.AsyncClient) -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            response = await client.post(f"/api/v1/workflows/{workflow_id}/execute",
                                         json={"input_data": {"x": i % 20}}, headers=headers)
            if response.status_code != 201:
                raise RuntimeError(f"execute answered {response.status_code}: {response.text}")
            ids.append(response.json()["id"])
            if len(ids) % 500 == 0:
                print(f"  started {len(ids)}/{count}", flush=True)

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
    return ids


def wait_until_finished(ids: list[str], timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    with psycopg.connect(f"{PG}/{DB_NAME}", autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE status IN ('completed','failed','cancelled')),"
                " count(*) FILTER (WHERE status = 'failed'), max(finished_at)"
                " FROM executions_execution WHERE id = ANY(%s)", ([uuid.UUID(i) for i in ids],),
            ).fetchone()
            if row[0] == len(ids):
                if row[1]:
                    raise RuntimeError(f"{row[1]} executions failed")
                return row[2].timestamp()
            time.sleep(0.05)
    raise RuntimeError("executions did not finish in time")


def enqueue_to_start(ids: list[str]) -> list[float]:
    with psycopg.connect(f"{PG}/{DB_NAME}", autocommit=True) as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM (n.started_at - e.enqueued_at)) * 1000"
            " FROM executions_execution e JOIN executions_noderun n"
            " ON n.execution_id = e.id AND n.node_id = 'start' WHERE e.id = ANY(%s)",
            ([uuid.UUID(i) for i in ids],),
        ).fetchall()
    return [float(r[0]) for r in rows]


def gated(workflow: dict) -> dict:
    """The workflow behind an approval node: a run waits there until the subscriber is ready."""
    gate = {"id": "gate", "type": "approval", "position": {"x": 0, "y": 1},
            "data": {"message": "go?"}}
    nodes = [workflow["nodes"][0], gate, *workflow["nodes"][1:]]
    edges = [{"id": "g1", "source": "start", "target": "gate"},
             {"id": "g2", "source": "gate", "target": "double", "sourceHandle": "approved"}]
    edges += [edge for edge in workflow["edges"] if edge["source"] != "start"]
    return {**workflow, "name": "bench: gated", "nodes": nodes, "edges": edges}


async def websocket_latencies(base: str, ws_base: str, headers: dict, token: str,
                              runs: int) -> list[float]:
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        workflow = (await client.post("/api/v1/workflows", json=gated(WORKFLOW),
                                      headers=headers)).json()
        await client.post(f"/api/v1/workflows/{workflow['id']}/publish", headers=headers)
        for i in range(runs):
            created = (await client.post(f"/api/v1/workflows/{workflow['id']}/execute",
                                         json={"input_data": {"x": i}}, headers=headers)).json()
            execution_id = created["id"]
            while (await client.get(f"/api/v1/executions/{execution_id}/status",
                                    headers=headers)).json()["status"] != "waiting":
                await asyncio.sleep(0.005)
            url = f"{ws_base}/api/v1/ws/executions/{execution_id}?token={token}"
            async with websockets.connect(url, origin="http://127.0.0.1") as socket:
                json.loads(await socket.recv())  # the status snapshot
                resumed = await client.post(
                    f"/api/v1/executions/{execution_id}/resume", headers=headers,
                    json={"node_id": "gate", "content": {"approved": True}})
                if resumed.status_code != 200:
                    raise RuntimeError(f"resume answered {resumed.status_code}: {resumed.text}")
                async for raw in socket:
                    received = time.time()
                    event = json.loads(raw)
                    if event["type"] == "node_finished" and event["data"]["node_id"] != "gate":
                        latencies.append((received - event["ts"]) * 1000)
                    if event["type"] in ("completed", "failed", "cancelled"):
                        break
    if not latencies:
        raise RuntimeError("no node_finished event reached the WebSocket")
    return latencies


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="rundramatiq processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker process")
    parser.add_argument("--server", choices=["uvicorn", "daphne"], default="uvicorn")
    parser.add_argument("--web-processes", type=int, default=1)
    parser.add_argument("--ws-runs", type=int, default=200)
    parser.add_argument("--latency-runs", type=int, default=200)
    args = parser.parse_args()

    env = environment()
    (ROOT / "var").mkdir(exist_ok=True)
    print("Preparing the bench database...", flush=True)
    prepare_database(env)
    port = 8765
    base, ws_base = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
    processes = []
    try:
        for n in range(args.workers):
            processes.append(start([sys.executable, "manage.py", "rundramatiq", "--processes",
                                    "1", "--threads", str(args.threads), "--skip-logging"],
                                   env, f"worker{n}"))
        if args.server == "uvicorn":
            web = [sys.executable, "-m", "uvicorn", "platform_site.asgi:application",
                   "--host", "127.0.0.1", "--port", str(port), "--workers",
                   str(args.web_processes), "--no-access-log", "--log-level", "warning"]
        else:
            web = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                   "platform_site.asgi:application"]
        processes.append(start(web, env, "web"))
        await wait_for_server(base)
        await wait_for_workers(base, args.workers)
        headers, token, workflow_id = await set_up_workflow(base)

        print("Warming up...", flush=True)
        warm = await fire(base, headers, workflow_id, 100, args.concurrency)
        wait_until_finished(warm)

        print(f"Throughput: {args.executions} executions, concurrency {args.concurrency}",
              flush=True)
        started = time.time()
        ids = await fire(base, headers, workflow_id, args.executions, args.concurrency)
        accepted = time.time()
        finished = wait_until_finished(ids)
        elapsed = finished - started
        loaded_starts = enqueue_to_start(ids)

        print(f"Pick-up latency: {args.latency_runs} executions one at a time", flush=True)
        single = []
        for _ in range(args.latency_runs):
            single += await fire(base, headers, workflow_id, 1, 1)
            wait_until_finished(single[-1:])
        starts = enqueue_to_start(single)

        print(f"WebSocket delivery: {args.ws_runs} runs", flush=True)
        latencies = await websocket_latencies(base, ws_base, headers, token, args.ws_runs)
    finally:
        stop(processes)

    print()
    print(f"machine: {machine()}")
    print(f"setup: {args.workers} worker processes x {args.threads} threads, "
          f"{args.web_processes} {args.server} process(es), concurrency {args.concurrency}")
    print(f"executions per second (end to end):   {len(ids) / elapsed:8.1f}"
          f"   ({len(ids)} in {elapsed:.2f} s)")
    print(f"requests per second (accepted):       {len(ids) / (accepted - started):8.1f}")
    print(f"enqueue -> first node start   p50 {percentile(starts, 50):7.2f} ms"
          f"   p99 {percentile(starts, 99):7.2f} ms   (n={len(starts)}, one at a time)")
    print(f"  same, under the throughput load p50 {percentile(loaded_starts, 50):7.2f} ms"
          f"   p99 {percentile(loaded_starts, 99):7.2f} ms")
    print(f"node finished -> WebSocket    p50 {percentile(latencies, 50):7.2f} ms"
          f"   p99 {percentile(latencies, 99):7.2f} ms   (n={len(latencies)})")
    if starts:
        print(f"enqueue -> start mean {statistics.mean(starts):.2f} ms (one at a time)")


if __name__ == "__main__":
    asyncio.run(main())
