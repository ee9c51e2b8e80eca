"""Running real workers for tests: in-process on the embedded default, processes otherwise."""

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import dramatiq
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def test_database_url() -> str:
    """The URL of the database the running test uses, for worker processes to share it."""
    params = connection.settings_dict
    return (f"postgres://{params['USER'] or 'postgres'}:{params['PASSWORD'] or ''}@"
            f"{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}")


class WorkerProcess:
    """A `manage.py rundramatiq` process on the test database and the test's broker namespace."""

    def __init__(self, processes: int = 1, threads: int = 4, **settings_env) -> None:
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="platform_site.settings.test",
            DATABASE_URL=test_database_url(),
            PYTHONUNBUFFERED="1",
            **{key: ",".join(value) if isinstance(value, list | tuple) else str(value)
               for key, value in settings_env.items()},
        )
        self.log_path = ROOT / "var" / f"worker-{os.getpid()}-{time.monotonic_ns()}.log"
        self.log_path.parent.mkdir(exist_ok=True)
        self._log = open(self.log_path, "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "rundramatiq", "--processes", str(processes),
             "--threads", str(threads), "--skip-logging"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_until_beating(self, timeout: float = 30.0) -> None:
        from executions.models import WorkerHeartbeat

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if WorkerHeartbeat.objects.filter(pid=self.worker_pid()).exists():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"worker did not start:\n{self.log_path.read_text()[-3000:]}")

    def worker_pid(self) -> int | None:
        """The pid of the forked worker process (rundramatiq's child), once it exists."""
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            pids = [int(p) for p in children.read_text().split()]
        except (OSError, ValueError):
            return None
        return pids[0] if pids else None

    def kill(self) -> None:
        """SIGKILL the whole process group, as a crashing machine would."""
        import signal

        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        import signal

        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                self.kill()
        self._log.close()


class EmbeddedWorker:
    """The in-process worker of the embedded default, started for one test."""

    def __init__(self, threads: int = 4, **settings_overrides) -> None:
        from django.test import override_settings

        self._settings = override_settings(**settings_overrides)
        self._settings.enable()
        self.worker = dramatiq.Worker(
            dramatiq.get_broker(), worker_threads=threads,
            worker_timeout=settings.DRAMATIQ_WORKER_TIMEOUT_MS,
        )
        self.worker.start()

    def wait_until_beating(self, timeout: float = 10.0) -> None:
        from executions.models import WorkerHeartbeat

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if WorkerHeartbeat.objects.exists():
                return
            time.sleep(0.02)
        raise RuntimeError("the embedded worker sent no heartbeat")

    def stop(self) -> None:
        self.worker.stop(timeout=10_000)
        broker = dramatiq.get_broker()
        # A stopped worker's middleware would still add consumers for queues declared later
        # (a compute server's), which would take messages that nothing then runs.
        broker.middleware[:] = [m for m in broker.middleware
                                if getattr(m, "worker", None) is not self.worker]
        broker.flush_all()
        self._settings.disable()


def start_worker(**kwargs):
    """A worker of the configured deployment, beating before this returns."""
    worker = EmbeddedWorker() if settings.EMBEDDED_WORKER else WorkerProcess(**kwargs)
    try:
        worker.wait_until_beating()
    except Exception:
        worker.stop()
        raise
    return worker
