import uuid

from django.conf import settings
from django.db import models


class ExecutionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


TERMINAL_STATUSES = frozenset(
    {ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED}
)
ACTIVE_STATUSES = frozenset(
    {ExecutionStatus.PENDING, ExecutionStatus.RUNNING, ExecutionStatus.WAITING}
)


class Execution(models.Model):
    """One run of a pinned workflow version; status changes are conditional updates."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="executions"
    )
    workflow = models.ForeignKey(
        "workflows.Workflow", on_delete=models.CASCADE, related_name="executions"
    )
    workflow_version = models.ForeignKey(
        "workflows.WorkflowVersion", on_delete=models.CASCADE, related_name="executions"
    )
    status = models.CharField(
        max_length=16, choices=ExecutionStatus.choices, default=ExecutionStatus.PENDING
    )
    input_data = models.JSONField(default=dict, blank=True)
    output_data = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    progress = models.PositiveSmallIntegerField(default=0)
    current_node = models.CharField(max_length=200, blank=True, default="")
    task_id = models.CharField(max_length=64, blank=True, default="")
    # A requested change the runner honours between nodes ("pause"); cancel is a status.
    control = models.CharField(max_length=16, blank=True, default="")
    # Who runs it now, and when it last said so: the reaper resumes runs whose worker went quiet.
    worker_id = models.CharField(max_length=200, blank=True, default="")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claims = models.PositiveIntegerField(default=0)
    event_seq = models.PositiveIntegerField(default=0)
    execution_time = models.PositiveIntegerField(null=True, blank=True, help_text="ms")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "-created_at"]),
            models.Index(fields=["workflow", "-created_at"]),
            models.Index(fields=["owner", "status"]),
            models.Index(fields=["status", "heartbeat_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class NodeRunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    WAITING = "waiting", "Waiting"


class NodeRun(models.Model):
    """The record of one node of an execution: written once, when the node has finished."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="node_runs")
    node_id = models.CharField(max_length=200)
    node_type = models.CharField(max_length=50)
    status = models.CharField(max_length=16, choices=NodeRunStatus.choices)
    input = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    handles = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["started_at"]
        constraints = [
            # A node's result is recorded exactly once, whatever redelivery or retry happens.
            models.UniqueConstraint(fields=["execution", "node_id"], name="unique_node_run")
        ]

    def __str__(self) -> str:
        return f"{self.node_id} ({self.status})"


class LogLevel(models.TextChoices):
    DEBUG = "debug", "Debug"
    INFO = "info", "Info"
    WARN = "warn", "Warning"
    ERROR = "error", "Error"


class ExecutionLog(models.Model):
    """A log line of an execution, of one node or of the run itself."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="logs")
    node_id = models.CharField(max_length=200, blank=True, default="")
    node_type = models.CharField(max_length=50, blank=True, default="")
    level = models.CharField(max_length=8, choices=LogLevel.choices, default=LogLevel.INFO)
    message = models.TextField()
    data = models.JSONField(null=True, blank=True)
    timestamp = models.DateTimeField()
    duration_ms = models.FloatField(null=True, blank=True)
    seq = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["timestamp", "seq"]
        indexes = [
            models.Index(fields=["execution", "timestamp", "seq"]),
            models.Index(fields=["execution", "level"]),
            models.Index(fields=["execution", "node_id"]),
        ]

    def __str__(self) -> str:
        return f"[{self.level}] {self.message[:60]}"


class WorkerHeartbeat(models.Model):
    """The last sign of life of one worker process."""

    worker_id = models.CharField(max_length=200, primary_key=True)
    hostname = models.CharField(max_length=255)
    pid = models.IntegerField()
    embedded = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return self.worker_id
