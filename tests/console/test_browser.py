"""The admin console in a real browser (Debian's Chromium driven by Playwright).

A daphne server (`manage.py runserver`, which is daphne's) runs against the test database in a
subprocess. On the embedded default it drains its queue itself (platform_site/asgi.py starts
the in-process worker), so executions are started through its API; with PostgreSQL and Redis a
`rundramatiq` worker process runs them. The tests log in, start a run that waits on an
approval, watch its page turn the node to waiting and then completed without a reload, approve
it in the queue, and save screenshots under tests/artifacts/.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections
from rest_framework_simplejwt.tokens import AccessToken

from tests.factories import DEFAULT_PASSWORD, UserFactory, WorkflowFactory, edge, node
from tests.workers import ROOT, start_worker
from tests.workers import test_database_url as postgres_test_database_url

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "tests" / "artifacts"
TIMEOUT_MS = 20_000

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
    pytest.skip("Chromium is not installed at /usr/bin/chromium: `make test` installs it "
                "(apt-get install -y chromium).", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="playwright is in requirements-dev.txt")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    if connection.vendor == "sqlite":
        return f"sqlite:///{connection.settings_dict['NAME']}"
    return postgres_test_database_url()


class LiveServer:
    """`manage.py runserver` (daphne) on the test database, in its own process group."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="platform_site.settings.test",
                   DATABASE_URL=database_url(), DEBUG="true", PYTHONUNBUFFERED="1")
        self.log_path = ROOT / "var" / f"daphne-{os.getpid()}-{self.port}.log"
        self.log_path.parent.mkdir(exist_ok=True)
        self._log = open(self.log_path, "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{self.port}"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)

    def wait_until_up(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.url}/admin/login/", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"daphne did not start:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()

    def api(self, method: str, path: str, user, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.url}{path}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {AccessToken.for_user(user)}",
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())


@pytest.fixture
def live(transactional_db):
    server = LiveServer()
    worker = None
    try:
        server.wait_until_up()
        # With a real broker the web process runs nothing: a worker process does.
        worker = None if settings.EMBEDDED_WORKER else start_worker()
        yield server
    finally:
        if worker is not None:
            worker.stop()
        server.stop()


def close_connections() -> None:
    """Close this context's database connections and their pools.

    Playwright runs the test inside a greenlet, which Django's per-context connections treat
    as a context of its own: its connection (and PostgreSQL pool) would outlive the test and
    keep PostgreSQL from dropping the test database.
    """
    for each in connections.all(initialized_only=True):
        each.close()
        if hasattr(each, "close_pool"):
            each.close_pool()


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API keeps an event loop on this thread (it only drives the browser
    # from it); Django would otherwise refuse the test's own ORM calls as "async unsafe".
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                              headless=True)
        try:
            yield chromium
        finally:
            chromium.close()
            close_connections()


@pytest.fixture
def operator(transactional_db):
    return UserFactory(username=f"operator{os.getpid()}", role="admin", is_staff=True,
                       is_superuser=True)


def log_in(page, live, user) -> None:
    page.goto(f"{live.url}/admin/login/?next=/admin/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("input[type=submit]")
    sync_api.expect(page.locator("#site-name")).to_contain_text("Conflux")


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    path = ARTIFACTS / f"{name}-{'embedded' if settings.EMBEDDED_WORKER else 'services'}" \
                       f"-{worker}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def graph_node(page, node_id: str):
    return page.locator(f'#execution-graph g.cx-node[data-node-id="{node_id}"]')


def test_watch_a_run_wait_for_approval_approve_it_in_the_queue_and_see_it_complete(
        live, browser, operator):
    owner = UserFactory()
    workflow = WorkflowFactory(
        owner=owner, name="Pay an invoice",
        nodes=[node("start", "start", label="Invoice"),
               # The run starts before the page opens: the warm-up gives the page time to
               # connect, so that it sees the next node start live.
               node("warmup", "test_sleep", label="Check the invoice", ms=3000),
               node("prepare", "test_sleep", label="Prepare payment", ms=1500),
               node("gate", "approval", label="Finance approval",
                    message="Pay {input.amount} EUR to {input.to}?"),
               node("pay", "transform", label="Pay", mapping={"paid": "input.amount"}),
               node("done", "output", label="Receipt")],
        edges=[edge("start", "warmup"), edge("warmup", "prepare"), edge("prepare", "gate"),
               edge("gate", "pay", "approved"), edge("pay", "done")])
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    log_in(page, live, operator)

    page.goto(f"{live.url}/admin/workflows/workflow/{workflow.pk}/change/")
    sync_api.expect(page.locator(".conflux-graph svg g.cx-node")).to_have_count(6)
    shot(page, "workflow-graph")

    created = live.api("POST", f"/api/v1/workflows/{workflow.pk}/execute", owner,
                       {"input_data": {"amount": 120, "to": "ACME"}})
    page.goto(f"{live.url}/admin/executions/execution/{created['id']}/change/")
    page.evaluate("window.__notReloaded = true")
    sync_api.expect(page.locator("#live-connection")).to_have_attribute(
        "data-state", "live", timeout=TIMEOUT_MS)
    # Live: the slow node runs, then the approval waits, without the page being reloaded.
    sync_api.expect(graph_node(page, "prepare")).to_have_attribute(
        "data-state", "running", timeout=TIMEOUT_MS)
    sync_api.expect(graph_node(page, "gate")).to_have_attribute(
        "data-state", "waiting", timeout=TIMEOUT_MS)
    sync_api.expect(graph_node(page, "prepare")).to_have_class(
        "cx-node type-test_sleep state-completed")
    sync_api.expect(page.locator("#execution-status")).to_have_text("waiting")
    assert page.evaluate("window.__notReloaded") is True
    shot(page, "execution-waiting")

    queue = context.new_page()
    queue.goto(f"{live.url}/admin/executions/execution/approvals/")
    row = queue.locator(f'tr.approval[data-execution-id="{created["id"]}"]')
    sync_api.expect(row).to_contain_text("Pay 120 EUR to ACME?")
    row.locator("input[name=comment]").fill("Invoice checked")
    shot(queue, "approvals-queue")
    row.locator("button.approve").click()
    sync_api.expect(queue.locator(".messagelist")).to_contain_text("Approved 'gate'")

    # Back on the execution page, still the same document: it follows the run to its end.
    sync_api.expect(page.locator("#execution-status")).to_have_text(
        "completed", timeout=TIMEOUT_MS)
    for node_id in ("start", "warmup", "prepare", "gate", "pay", "done"):
        sync_api.expect(graph_node(page, node_id)).to_have_attribute(
            "data-state", "completed", timeout=TIMEOUT_MS)
    assert page.evaluate("window.__notReloaded") is True
    shot(page, "execution-completed")

    result = live.api("GET", f"/api/v1/executions/{created['id']}", owner)
    assert result["status"] == "completed" and result["output_data"] == {"paid": 120}
    page.reload()
    sync_api.expect(graph_node(page, "gate")).to_have_attribute("data-state", "completed")
    sync_api.expect(page.locator("#live-connection")).to_have_attribute(
        "data-state", "closed", timeout=TIMEOUT_MS)
    context.close()
    close_connections()
