"""Fixtures for the data source libraries: real PostgreSQL/MariaDB sample databases per xdist
worker, SQLite files, and local HTTP servers. No Django: these libraries must not need it."""

from __future__ import annotations

import ipaddress
import json
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import pymysql
import pytest

from datasources.outbound import OutboundPolicy, SafeHttpClient

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
MY = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
SAMPLE_ROWS = 25


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    """Replaces the root conftest's Django cache fixture: nothing here touches Django."""
    yield


def _db_name(worker_id: str) -> str:
    return f"conflux_ds_{worker_id}".lower()


# -- PostgreSQL ----------------------------------------------------------------------------

PG_SCHEMA = """
CREATE TABLE items (
    id serial PRIMARY KEY,
    name text NOT NULL,
    price numeric(10, 2),
    created_at timestamptz NOT NULL DEFAULT '2024-01-02T03:04:05Z',
    payload jsonb,
    data bytea,
    uid uuid
);
INSERT INTO items (name, price, payload, data, uid)
SELECT 'item ' || g, g * 1.25, jsonb_build_object('n', g), decode(lpad(to_hex(g), 2, '0'), 'hex'),
       ('00000000-0000-0000-0000-' || lpad(g::text, 12, '0'))::uuid
FROM generate_series(1, 25) AS g;
CREATE SEQUENCE s;
CREATE FUNCTION conflux_write() RETURNS int LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO items (name) VALUES ('written by a function'); RETURN 1; END $$;
CREATE PROCEDURE proc() LANGUAGE sql AS $$ DELETE FROM items $$;
"""


@dataclass
class SampleDb:
    """A per-worker sample database and how to snapshot it."""

    config: dict[str, Any]
    snapshot: Callable[[], tuple[Any, ...]]


def _pg_admin() -> psycopg.Connection:
    try:
        return psycopg.connect(**PG, dbname="postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at 127.0.0.1:5432 ({exc})")


@pytest.fixture(scope="session")
def pg_db(worker_id: str) -> Iterator[SampleDb]:
    """A fresh PostgreSQL database with the sample schema, dropped after the session."""
    name = _db_name(worker_id)
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(**PG, dbname=name, autocommit=True) as conn:
        conn.execute(PG_SCHEMA)

    def snapshot() -> tuple[Any, ...]:
        with psycopg.connect(**PG, dbname=name, autocommit=True) as conn:
            items = conn.execute(
                "SELECT count(*), md5(string_agg(t::text, ',' ORDER BY id)) FROM items t"
            ).fetchone()
            tables = conn.execute(
                "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class"
                " WHERE relnamespace = 'public'::regnamespace"
            ).fetchone()
            seq = conn.execute("SELECT last_value, is_called FROM s").fetchone()
            roles = conn.execute("SELECT count(*) FROM pg_roles").fetchone()
        return items, tables, seq, roles

    yield SampleDb(config={**PG, "database": name, "password": "not-needed-pw"}, snapshot=snapshot)
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- MariaDB / MySQL -------------------------------------------------------------------------


def _my_admin() -> pymysql.connections.Connection:
    try:
        return pymysql.connect(**MY, autocommit=True, connect_timeout=3)
    except pymysql.MySQLError as exc:
        pytest.skip(f"MariaDB/MySQL is not reachable at 127.0.0.1:3306 ({exc})")


@pytest.fixture(scope="session")
def mysql_db(worker_id: str) -> Iterator[SampleDb]:
    """A fresh MariaDB database with the sample table, dropped after the session."""
    name = _db_name(worker_id)
    admin = _my_admin()
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        cur.execute(
            f"CREATE TABLE `{name}`.items (id INT AUTO_INCREMENT PRIMARY KEY,"
            " name VARCHAR(100) NOT NULL, price DECIMAL(10, 2), created_at DATETIME,"
            " data BLOB) ENGINE=InnoDB"
        )
        cur.executemany(
            f"INSERT INTO `{name}`.items (name, price, created_at, data) VALUES (%s, %s, %s, %s)",
            [
                (f"item {i}", i * 1.25, f"2024-01-{i:02d} 03:04:05", bytes([i]))
                for i in range(1, SAMPLE_ROWS + 1)
            ],
        )
        cur.execute("SELECT @@GLOBAL.max_connections, @@GLOBAL.read_only")
        globals_before = cur.fetchone()

    def snapshot() -> tuple[Any, ...]:
        conn = _my_admin()
        try:
            with conn.cursor() as cur:
                cur.execute(f"CHECKSUM TABLE `{name}`.items")
                checksum = cur.fetchone()[1]
                cur.execute(f"SELECT count(*), max(id) FROM `{name}`.items")
                counts = cur.fetchone()
                cur.execute(
                    "SELECT GROUP_CONCAT(table_name ORDER BY table_name)"
                    " FROM information_schema.tables WHERE table_schema = %s",
                    (name,),
                )
                tables = cur.fetchone()
                cur.execute("SELECT @@GLOBAL.max_connections, @@GLOBAL.read_only")
                server = cur.fetchone()
                cur.execute("SELECT count(*) FROM mysql.user")
                users = cur.fetchone()
        finally:
            conn.close()
        return checksum, counts, tables, server, users

    yield SampleDb(config={**MY, "database": name}, snapshot=snapshot)
    admin = _my_admin()
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        # A failed test must not leave the shared server changed.
        cur.execute("SET GLOBAL max_connections = %s", (globals_before[0],))
    admin.close()


# -- SQLite ------------------------------------------------------------------------------------


@pytest.fixture
def sqlite_dir(tmp_path: Path) -> Path:
    """A base directory holding sample.db with the sample table."""
    base = tmp_path / "sqlite"
    base.mkdir()
    conn = sqlite3.connect(base / "sample.db")
    conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price REAL, data BLOB)")
    conn.executemany(
        "INSERT INTO items (name, price, data) VALUES (?, ?, ?)",
        [(f"item {i}", i * 1.25, bytes([i])) for i in range(1, SAMPLE_ROWS + 1)],
    )
    conn.commit()
    conn.close()
    return base


def sqlite_snapshot(path: Path) -> tuple[Any, ...]:
    """Row count, content digest and schema of a SQLite file, plus the directory listing."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT count(*), group_concat(id || name || price, ',') FROM items")
        schema = conn.execute("SELECT group_concat(name, ',') FROM sqlite_master").fetchone()
        return rows.fetchone(), schema, sorted(p.name for p in path.parent.iterdir())
    finally:
        conn.close()


# -- HTTP servers ------------------------------------------------------------------------------


@dataclass
class LocalServer:
    """A threaded HTTP server on a loopback address, recording what it received."""

    host: str
    port: int
    requests: list[dict[str, Any]] = field(default_factory=list)

    def url(self, path: str = "/") -> str:
        """Absolute URL on this server."""
        return f"http://{self.host}:{self.port}{path}"


def _handler(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _record(self, body: bytes) -> dict[str, Any]:
            parts = urlsplit(self.path)
            entry = {
                "method": self.command,
                "path": parts.path,
                "query": {k: v[-1] for k, v in parse_qs(parts.query).items()},
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
            }
            server.requests.append(entry)
            return entry

        def _send(
            self, status: int, body: bytes, content_type: str, extra: dict | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: int, payload: Any, extra: dict | None = None) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json", extra)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            entry = self._record(self.rfile.read(length) if length else b"")
            path, query = entry["path"], entry["query"]
            if path == "/json":
                self._json(200, {"ok": True, "echo": entry})
            elif path == "/users":
                users = [
                    {"id": i, "name": f"user {i}", **({"extra": i} if i % 2 else {})}
                    for i in range(1, 8)
                ]
                self._json(200, {"data": {"users": users}, "total": len(users)})
            elif path == "/single":
                self._json(200, {"result": {"id": 1, "name": "only"}})
            elif path == "/text":
                self._send(200, b"plain text", "text/plain; charset=utf-8")
            elif path == "/big":
                size = int(query.get("size", "2048"))
                self._send(200, b"x" * size, "application/octet-stream")
            elif path == "/chunked-big":
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"y" * 1024
                try:
                    for _ in range(int(query.get("chunks", "64"))):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:
                    pass  # the client hung up at its cap
            elif path == "/hang":
                time.sleep(float(query.get("s", "3")))
                self._json(200, {"late": True})
            elif path == "/redirect":
                status = int(query.get("status", "302"))
                self._send(status, b"", "text/plain", {"Location": query["to"]})
            elif path == "/status":
                self._json(int(query.get("code", "500")), {"error": "as requested"})
            else:
                self._json(404, {"error": "not found"})

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up at their size cap or timeout is what the tests provoke


def _start(host: str) -> tuple[LocalServer, ThreadingHTTPServer]:
    state = LocalServer(host=host, port=0)
    try:
        httpd = _QuietServer((host, 0), _handler(state))
    except OSError as exc:
        pytest.skip(f"cannot bind a test server on {host} ({exc})")
    state.port = httpd.server_address[1]
    threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    ).start()
    return state, httpd


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    """The allow-listed test server, on 127.0.0.2 (Linux routes all of 127/8 to lo)."""
    state, httpd = _start("127.0.0.2")
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def trap_server() -> Iterator[LocalServer]:
    """A server on 127.0.0.1 that must never receive a request (not allow-listed)."""
    state, httpd = _start("127.0.0.1")
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def allow_local() -> OutboundPolicy:
    """A policy that permits 127.0.0.2 only, with small limits for the tests."""
    return OutboundPolicy(
        allow_networks=(ipaddress.ip_network("127.0.0.2/32"),),
        max_response_bytes=64 * 1024,
        max_redirects=3,
        default_timeout_s=5,
    )


@pytest.fixture
def client(allow_local: OutboundPolicy) -> Iterator[SafeHttpClient]:
    """A SafeHttpClient under the local-only policy."""
    with SafeHttpClient(allow_local) as c:
        yield c


def free_port() -> int:
    """A TCP port with nothing listening on 127.0.0.1 (racy, but fine for refusal tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
