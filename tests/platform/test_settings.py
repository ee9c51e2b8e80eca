"""Start-up refuses unsafe production settings with a message that says what to set."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_check(**env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items()
                   if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "ENCRYPTION_KEYS", "DEBUG"}}
    environment.update(env)
    environment["DJANGO_SETTINGS_MODULE"] = "platform_site.settings.base"
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=environment,
        capture_output=True, text=True, timeout=60,
    )


def test_debug_off_without_secrets_or_hosts_stops_with_instructions():
    result = run_check(DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert "ALLOWED_HOSTS" in result.stderr
    assert "ENCRYPTION_KEYS" in result.stderr


def test_debug_off_with_everything_set_starts():
    result = run_check(
        DEBUG="false", SECRET_KEY="x" * 60, ALLOWED_HOSTS="example.com",
        ENCRYPTION_KEYS="dGhpcy1pcy1ub3QtYS1yZWFsLWtleS1idXQtMzItYnl0ZXM=",
    )
    assert result.returncode == 0, result.stderr


def test_an_unknown_broker_url_stops_with_instructions():
    result = run_check(BROKER_URL="kafka://somewhere")
    assert result.returncode != 0
    assert "BROKER_URL" in result.stderr
