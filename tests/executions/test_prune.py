"""`manage.py prune_executions` deletes old finished executions and keeps the rest."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from executions.models import Execution, ExecutionLog, NodeRun
from tests.factories import ExecutionFactory

pytestmark = pytest.mark.django_db


def aged(days: int, **kwargs) -> Execution:
    execution = ExecutionFactory(**kwargs)
    Execution.objects.filter(pk=execution.pk).update(
        created_at=timezone.now() - timedelta(days=days))
    return execution


def test_old_finished_executions_go_with_their_records_and_the_rest_stay():
    old_done = aged(40, status="completed")
    NodeRun.objects.create(execution=old_done, node_id="a", node_type="start",
                           status="completed")
    ExecutionLog.objects.create(execution=old_done, message="x", timestamp=timezone.now())
    old_running = aged(40, status="running")
    recent_done = aged(5, status="failed")
    out = StringIO()
    call_command("prune_executions", "--older-than", "30d", stdout=out)
    assert set(Execution.objects.values_list("pk", flat=True)) == {old_running.pk,
                                                                   recent_done.pk}
    assert not NodeRun.objects.exists() and not ExecutionLog.objects.exists()
    assert "Deleted 1 executions" in out.getvalue()


def test_dry_run_only_counts():
    aged(40, status="completed")
    out = StringIO()
    call_command("prune_executions", "--older-than", "30d", "--dry-run", stdout=out)
    assert Execution.objects.count() == 1
    assert "1 executions" in out.getvalue()


def test_a_bad_age_is_refused_with_instructions():
    with pytest.raises(CommandError, match="30d"):
        call_command("prune_executions", "--older-than", "soon")
