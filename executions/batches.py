"""Batches: one workflow run over many inputs, at most `concurrency` executions at a time.

Every item becomes an execution (trigger `batch`). `batch_advance` is the one place items move:
under a lock on the batch row it settles items whose execution has ended, then starts pending
items until `concurrency` are running. It runs when the batch starts, when one of its
executions ends (the runner calls `execution_ended`) and, as a safety net for ends nobody
reported, from the workers' heartbeat (`batches_advance_stalled`). The lock serialises
advances of one batch, so an item is never started twice and the limit is never exceeded.
"""

import contextlib
import csv
import io
import json
import logging
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from rest_framework.exceptions import APIException, ValidationError

from platform_site.api.errors import Conflict, TooManyExecutions
from workflows.models import Workflow, WorkflowStatus

from .graphs import current_graph, input_errors
from .models import (
    TERMINAL_STATUSES,
    Batch,
    BatchItem,
    BatchItemStatus,
    BatchStatus,
    ComputeServer,
    Execution,
    ExecutionStatus,
    ExecutionTrigger,
    Upload,
)

logger = logging.getLogger(__name__)

# An uploaded text file up to this size reaches the workflow with its text.
MAX_FILE_TEXT_BYTES = 1024 * 1024
_ITEM_STATUS_OF_EXECUTION = {
    ExecutionStatus.COMPLETED: BatchItemStatus.COMPLETED,
    ExecutionStatus.FAILED: BatchItemStatus.FAILED,
    ExecutionStatus.CANCELLED: BatchItemStatus.CANCELLED,
}
TEXT_CONTENT_TYPES = frozenset({"text/plain", "text/csv", "application/json"})


def uploads_in_folders(*, owner, folders: list[str], keywords: list[str]) -> list[Upload]:
    """The owner's uploads in `folders` whose name holds one of `keywords` (all without any)."""
    uploads = Upload.objects.filter(owner=owner, folder__in=folders)
    if keywords:
        match = Q()
        for keyword in keywords:
            match |= Q(name__icontains=keyword)
        uploads = uploads.filter(match)
    return list(uploads.order_by("folder", "name", "created_at"))


def file_input(upload: Upload, *, with_text: bool = False) -> dict:
    """How an uploaded file reaches a workflow: its metadata, and its text when it is text."""
    data = {"id": str(upload.id), "name": upload.name, "folder": upload.folder,
            "content_type": upload.content_type, "size": upload.size}
    if with_text and upload.content_type in TEXT_CONTENT_TYPES \
            and upload.size <= MAX_FILE_TEXT_BYTES:
        with upload.file.open("rb") as handle:
            data["text"] = handle.read().decode("utf-8-sig")
    return data


# -- creating and starting -------------------------------------------------------------------


def batch_create(*, owner, workflow: Workflow, inputs: list[dict] | None = None,
                 uploads: Iterable[Upload] = (), parameters: dict | None = None,
                 concurrency: int = 5, server: ComputeServer | None = None, name: str = "",
                 description: str = "", start: bool = True) -> Batch:
    """Make a batch over `inputs` and/or uploaded files, checking every input first."""
    if workflow.status == WorkflowStatus.ARCHIVED:
        raise Conflict("An archived workflow cannot be executed; activate it first.",
                       error_code="WORKFLOW_ARCHIVED")
    parameters = parameters or {}
    files = list(uploads)
    # Items keep their own input; the batch's parameters are merged under it when they start.
    items = [*(inputs or []), *({"file": file_input(upload)} for upload in files)]
    if not items:
        raise ValidationError({"inputs": ["Give at least one input (or an uploaded file)."]})
    if len(items) > settings.BATCH_MAX_ITEMS:
        raise ValidationError({"inputs": [
            f"At most {settings.BATCH_MAX_ITEMS} items per batch ({len(items)} given)."]})
    pinned = current_graph(workflow)  # 422 with the validation errors when invalid
    problems = {}
    for index, item in enumerate(items):
        errors = input_errors(pinned.graph, {**parameters, **item})
        if errors:
            problems[str(index)] = errors
            if len(problems) >= 20:
                break
    if problems:
        raise ValidationError({"inputs": problems})
    with transaction.atomic():
        batch = Batch.objects.create(
            owner=owner, workflow=workflow, name=name, description=description,
            parameters=parameters, concurrency=concurrency, server=server, total=len(items))
        uploads_by_index = {len(inputs or []) + i: upload for i, upload in enumerate(files)}
        BatchItem.objects.bulk_create(
            [BatchItem(batch=batch, index=index, input_data=item,
                       upload=uploads_by_index.get(index))
             for index, item in enumerate(items)], batch_size=500)
        if start:
            batch = batch_start(batch=batch)
    return batch


@transaction.atomic
def batch_start(*, batch: Batch, server: ComputeServer | None = None) -> Batch:
    """Start a pending batch (on `server` if given); its first items start at once."""
    locked = Batch.objects.select_for_update().get(pk=batch.pk)
    if locked.status != BatchStatus.PENDING:
        raise Conflict(f"The batch has already been started ({locked.status}).",
                       error_code="BATCH_ALREADY_STARTED")
    if server is not None:
        locked.server = server
    if locked.server_id is not None:
        from .servers import server_reserve

        server_reserve(server=locked.server, batch=locked)
    locked.status = BatchStatus.RUNNING
    locked.started_at = timezone.now()
    locked.message = "The batch is running."
    locked.save(update_fields=["server", "status", "started_at", "message", "updated_at"])
    batch_advance(batch_id=locked.pk)
    locked.refresh_from_db()
    return locked


# -- moving items ----------------------------------------------------------------------------


def _settle(batch: Batch) -> None:
    """Copy the end of finished executions into their running items."""
    running = BatchItem.objects.filter(batch=batch, status=BatchItemStatus.RUNNING)
    ended = running.filter(Q(execution__status__in=TERMINAL_STATUSES)
                           | Q(execution__isnull=True))
    now = timezone.now()
    for row in ended.values("id", "execution__status", "execution__output_data",
                            "execution__error", "execution__finished_at"):
        status = _ITEM_STATUS_OF_EXECUTION.get(row["execution__status"], BatchItemStatus.FAILED)
        error = row["execution__error"] or ""
        if row["execution__status"] is None:
            error = "The item's execution was deleted."
        BatchItem.objects.filter(pk=row["id"]).update(
            status=status, output_data=row["execution__output_data"], error=error,
            finished_at=row["execution__finished_at"] or now)


def _item_input(batch: Batch, item: BatchItem) -> dict:
    data = {**batch.parameters, **item.input_data}
    if item.upload_id is not None:
        data["file"] = file_input(item.upload, with_text=True)
    return data


class _Deferred(Exception):
    """The owner has too many active runs: the item waits for the next advance."""


def _start_item(batch: Batch, item: BatchItem) -> bool:
    """Start one pending item's execution; a refused item fails alone. True when started."""
    from .services import execution_create

    now = timezone.now()
    try:
        with transaction.atomic():  # a savepoint: the refusal leaves the batch's work intact
            execution = execution_create(
                owner=batch.owner, workflow=batch.workflow, input_data=_item_input(batch, item),
                server=batch.server, trigger=ExecutionTrigger.BATCH, trigger_ref=batch.pk)
    except TooManyExecutions as exc:
        raise _Deferred from exc
    except (APIException, Workflow.DoesNotExist, OSError) as exc:
        detail = getattr(exc, "detail", None) or str(exc)
        BatchItem.objects.filter(pk=item.pk).update(
            status=BatchItemStatus.FAILED, error=f"The item could not start: {detail}"[:10_000],
            started_at=now, finished_at=now)
        return False
    BatchItem.objects.filter(pk=item.pk).update(status=BatchItemStatus.RUNNING,
                                                execution=execution, started_at=now)
    return True


def _concurrency(batch: Batch) -> int:
    if batch.server_id is None:
        return batch.concurrency
    # A server's batch_size caps how many of its runs go at once.
    return max(1, min(batch.concurrency, batch.server.batch_size))


def _recount(batch: Batch) -> dict:
    counts = dict(BatchItem.objects.filter(batch=batch).values_list("status")
                  .annotate(n=Count("id")).order_by())
    batch.running_count = counts.get(BatchItemStatus.RUNNING, 0)
    batch.completed_count = counts.get(BatchItemStatus.COMPLETED, 0)
    batch.failed_count = counts.get(BatchItemStatus.FAILED, 0)
    batch.cancelled_count = counts.get(BatchItemStatus.CANCELLED, 0)
    return counts


def _summary(batch: Batch) -> str:
    return (f"{batch.completed_count} completed, {batch.failed_count} failed, "
            f"{batch.cancelled_count} cancelled of {batch.total}.")


def _finish(batch: Batch, status: str) -> None:
    batch.status = status
    batch.finished_at = timezone.now()
    batch.message = _summary(batch)
    if batch.server_id is not None:
        from .servers import server_release

        server_release(server_id=batch.server_id, batch_id=batch.pk)


_COUNT_FIELDS = ["running_count", "completed_count", "failed_count", "cancelled_count"]


def batch_advance(*, batch_id) -> None:
    """Settle ended items and start pending ones up to the concurrency limit; finish when done."""
    with transaction.atomic():
        batch = Batch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None or batch.status != BatchStatus.RUNNING:
            return
        _settle(batch)
        running = BatchItem.objects.filter(batch=batch, status=BatchItemStatus.RUNNING).count()
        slots = _concurrency(batch) - running
        with contextlib.suppress(_Deferred):  # a later advance (an end, a beat) goes on
            while slots > 0:
                pending = list(BatchItem.objects.filter(batch=batch,
                                                        status=BatchItemStatus.PENDING)
                               .select_related("upload").order_by("index")[:slots])
                if not pending:
                    break
                for item in pending:
                    slots -= _start_item(batch, item)
        counts = _recount(batch)
        fields = [*_COUNT_FIELDS, "updated_at"]
        if not counts.get(BatchItemStatus.PENDING) and not counts.get(BatchItemStatus.RUNNING):
            _finish(batch, BatchStatus.COMPLETED)
            fields += ["status", "finished_at", "message"]
        batch.save(update_fields=fields)


def execution_ended(execution: Execution) -> None:
    """The runner's hook when an execution ends: a batch's execution frees a slot."""
    if execution.trigger != ExecutionTrigger.BATCH or execution.trigger_ref is None:
        return
    try:
        batch_advance(batch_id=execution.trigger_ref)
    except Exception:  # The heartbeat's batches_advance_stalled() tries again.
        logger.warning("Could not advance batch %s", execution.trigger_ref, exc_info=True)


def batches_advance_stalled(*, limit: int = 50) -> int:
    """Advance running batches with an ended execution nobody reported (or nothing running)."""
    stalled = (Batch.objects.filter(status=BatchStatus.RUNNING)
               .filter(Q(items__status=BatchItemStatus.RUNNING,
                         items__execution__status__in=TERMINAL_STATUSES)
                       | Q(items__status=BatchItemStatus.RUNNING, items__execution__isnull=True)
                       | Q(running_count=0))
               .values_list("id", flat=True).distinct()[:limit])
    count = 0
    for batch_id in list(stalled):
        try:
            batch_advance(batch_id=batch_id)
            count += 1
        except Exception:  # One broken batch must not stop the others.
            logger.warning("Could not advance batch %s", batch_id, exc_info=True)
    return count


# -- cancelling, changing, deleting ----------------------------------------------------------


def batch_cancel(*, batch: Batch) -> Batch:
    """Cancel a batch: pending items never start, running executions are cancelled."""
    from .services import execution_cancel

    with transaction.atomic():
        locked = Batch.objects.select_for_update().get(pk=batch.pk)
        if locked.status in (BatchStatus.COMPLETED, BatchStatus.CANCELLED):
            raise Conflict(f"The batch has already ended ({locked.status}).",
                           error_code="BATCH_FINISHED")
        locked.status = BatchStatus.CANCELLED
        locked.save(update_fields=["status", "updated_at"])
        now = timezone.now()
        BatchItem.objects.filter(batch=locked, status=BatchItemStatus.PENDING).update(
            status=BatchItemStatus.CANCELLED, error="The batch was cancelled.", finished_at=now)
        running = list(BatchItem.objects.filter(batch=locked, status=BatchItemStatus.RUNNING,
                                                execution__isnull=False)
                       .values_list("execution_id", flat=True))
    for execution_id in running:
        with contextlib.suppress(Conflict):  # it ended meanwhile: settling records how
            execution_cancel(execution=Execution(pk=execution_id))
    with transaction.atomic():
        locked = Batch.objects.select_for_update().get(pk=batch.pk)
        _settle(locked)
        _recount(locked)
        _finish(locked, BatchStatus.CANCELLED)
        locked.save(update_fields=[*_COUNT_FIELDS, "status", "finished_at", "message",
                                   "updated_at"])
    return locked


def batch_update(*, batch: Batch, **changes) -> Batch:
    """Rename or describe a batch; parameters and concurrency change only before it starts."""
    fields = [field for field in ("name", "description") if field in changes]
    for field in ("parameters", "concurrency"):
        if field in changes:
            if batch.status != BatchStatus.PENDING:
                raise Conflict(f"`{field}` cannot change once the batch has started.",
                               error_code="BATCH_ALREADY_STARTED")
            fields.append(field)
    for field in fields:
        setattr(batch, field, changes[field])
    if fields:
        batch.save(update_fields=[*fields, "updated_at"])
    return batch


def batch_delete(*, batch: Batch) -> None:
    """Delete a batch and its items, cancelling it first if it runs (executions stay)."""
    if batch.status in (BatchStatus.PENDING, BatchStatus.RUNNING):
        with contextlib.suppress(Conflict):  # it ended meanwhile
            batch_cancel(batch=batch)
    batch.delete()


# -- results ---------------------------------------------------------------------------------


def batch_result_rows(*, batch: Batch) -> Iterator[dict]:
    """One row per item in order: status, input (with the batch's parameters), output, error."""
    items = (BatchItem.objects.filter(batch=batch).order_by("index")
             .values("index", "status", "execution_id", "input_data", "output_data", "error"))
    for item in items.iterator(chunk_size=500):
        yield {"index": item["index"], "status": item["status"],
               "execution_id": str(item["execution_id"]) if item["execution_id"] else None,
               "input": {**batch.parameters, **item["input_data"]},
               "output": item["output_data"], "error": item["error"] or None}


def _cell(value) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                           default=str)
    # A spreadsheet would run a cell starting like a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def batch_results_csv(*, batch: Batch) -> str:
    """The results as CSV: index, status, execution id, error, then input.* and output.*."""
    rows = list(batch_result_rows(batch=batch))
    input_keys: dict[str, None] = {}
    output_keys: dict[str, None] = {}
    for row in rows:
        input_keys.update(dict.fromkeys(row["input"] if isinstance(row["input"], dict) else {}))
        output_keys.update(
            dict.fromkeys(row["output"] if isinstance(row["output"], dict) else {}))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["index", "status", "execution_id", "error",
                     *(f"input.{key}" for key in input_keys),
                     *(f"output.{key}" for key in output_keys)])
    for row in rows:
        given = row["input"] if isinstance(row["input"], dict) else {}
        made = row["output"] if isinstance(row["output"], dict) else {}
        writer.writerow([row["index"], row["status"], row["execution_id"] or "",
                         _cell(row["error"]),
                         *(_cell(given.get(key)) for key in input_keys),
                         *(_cell(made.get(key)) for key in output_keys)])
    return buffer.getvalue()
