import uuid

from django.conf import settings
from django.db import models

from platform_site.fields import NulFreeTextField, StorableJSONEncoder
from workflows.engine.graph import MAX_NODE_ID_LENGTH


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


class ExecutionTrigger(models.TextChoices):
    MANUAL = "manual", "Manual"
    API = "api", "Published API"
    WEBHOOK = "webhook", "Webhook"
    SCHEDULE = "schedule", "Schedule"
    BATCH = "batch", "Batch"


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
    # Also written by agents, with arguments a model chose: stored as storable as outputs are.
    input_data = models.JSONField(default=dict, blank=True, encoder=StorableJSONEncoder)
    output_data = models.JSONField(null=True, blank=True, encoder=StorableJSONEncoder)
    error = NulFreeTextField(blank=True, default="")
    progress = models.PositiveSmallIntegerField(default=0)
    current_node = models.CharField(max_length=MAX_NODE_ID_LENGTH, blank=True, default="")
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
    # What started the run, and the webhook, schedule or batch that did (by id).
    trigger = models.CharField(max_length=16, choices=ExecutionTrigger.choices,
                               default=ExecutionTrigger.MANUAL)
    trigger_ref = models.UUIDField(null=True, blank=True, db_index=True)
    # The compute server whose worker pool runs it (its own queue); none: the default pool.
    server = models.ForeignKey("executions.ComputeServer", on_delete=models.SET_NULL, null=True,
                               blank=True, related_name="executions")
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
    node_id = models.CharField(max_length=MAX_NODE_ID_LENGTH)
    node_type = models.CharField(max_length=50)
    status = models.CharField(max_length=16, choices=NodeRunStatus.choices)
    input = models.JSONField(null=True, blank=True, encoder=StorableJSONEncoder)
    output = models.JSONField(null=True, blank=True, encoder=StorableJSONEncoder)
    handles = models.JSONField(null=True, blank=True)
    error = NulFreeTextField(blank=True, default="")
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
    node_id = models.CharField(max_length=MAX_NODE_ID_LENGTH, blank=True, default="")
    node_type = models.CharField(max_length=50, blank=True, default="")
    level = models.CharField(max_length=8, choices=LogLevel.choices, default=LogLevel.INFO)
    message = NulFreeTextField()
    data = models.JSONField(null=True, blank=True, encoder=StorableJSONEncoder)
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
    # The queues the process consumes: a compute server is healthy when one lists its queue.
    queues = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return self.worker_id


class ServerStatus(models.TextChoices):
    ONLINE = "online", "Online"
    OFFLINE = "offline", "Offline"
    BUSY = "busy", "Busy"
    MAINTENANCE = "maintenance", "Maintenance"


class ServerType(models.TextChoices):
    LOCAL = "local", "Local worker pool"
    REMOTE = "remote", "Remote worker pool"


SERVER_QUEUE_PREFIX = "executions."


class ComputeServer(models.Model):
    """A named worker pool: its runs go to the Dramatiq queue `executions.<name>`.

    Workers started with `manage.py rundramatiq --queues executions.<name>` serve it; the name
    is the queue's, so it is unique and never changes.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="compute_servers"
    )
    name = models.CharField(max_length=63, unique=True)
    url = models.URLField(max_length=500, blank=True, default="")
    type = models.CharField(max_length=16, choices=ServerType.choices, default=ServerType.LOCAL)
    enabled = models.BooleanField(default=True)
    # How many of its runs may be active at once.
    batch_size = models.PositiveIntegerField(default=5)
    status = models.CharField(max_length=16, choices=ServerStatus.choices,
                              default=ServerStatus.OFFLINE)
    # The batch it works on now; while set, the server is busy for other work.
    current_batch = models.ForeignKey("executions.Batch", on_delete=models.SET_NULL, null=True,
                                      blank=True, related_name="+")
    last_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def queue_name(self) -> str:
        return SERVER_QUEUE_PREFIX + self.name


class BatchStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class BatchItemStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class Batch(models.Model):
    """One workflow run over many inputs, at most `concurrency` at a time."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="batches"
    )
    workflow = models.ForeignKey(
        "workflows.Workflow", on_delete=models.CASCADE, related_name="batches"
    )
    name = models.CharField(max_length=200, blank=True, default="")
    description = models.TextField(blank=True, default="")
    # Merged under every item's input.
    parameters = models.JSONField(default=dict, blank=True)
    concurrency = models.PositiveIntegerField(default=5)
    server = models.ForeignKey(ComputeServer, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="batches")
    status = models.CharField(max_length=16, choices=BatchStatus.choices,
                              default=BatchStatus.PENDING)
    message = models.CharField(max_length=500, blank=True, default="")
    # Counts by item status, kept by the service that moves items (cheap progress reads).
    total = models.PositiveIntegerField(default=0)
    running_count = models.PositiveIntegerField(default=0)
    completed_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    cancelled_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "-created_at"]),
            models.Index(fields=["status"]),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.id} ({self.status})"

    @property
    def progress(self) -> float:
        """The share of items finished, from 0 to 1."""
        done = self.completed_count + self.failed_count + self.cancelled_count
        return round(done / self.total, 4) if self.total else 0.0


class BatchItem(models.Model):
    """One input of a batch and, once started, its execution's result."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="items")
    index = models.PositiveIntegerField()
    input_data = models.JSONField(default=dict, blank=True)
    upload = models.ForeignKey("executions.Upload", on_delete=models.SET_NULL, null=True,
                               blank=True, related_name="+")
    status = models.CharField(max_length=16, choices=BatchItemStatus.choices,
                              default=BatchItemStatus.PENDING)
    execution = models.OneToOneField(Execution, on_delete=models.SET_NULL, null=True,
                                     blank=True, related_name="batch_item")
    output_data = models.JSONField(null=True, blank=True, encoder=StorableJSONEncoder)
    error = NulFreeTextField(blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["batch", "index"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "index"], name="unique_batch_item_index")
        ]
        indexes = [models.Index(fields=["batch", "status", "index"])]

    def __str__(self) -> str:
        return f"{self.batch_id}#{self.index} ({self.status})"


def upload_path(instance: "Upload", filename: str) -> str:
    """Where an upload is stored: a generated name, never one from the request."""
    return f"uploads/{instance.owner_id}/{instance.id}{instance.extension}"


class Upload(models.Model):
    """A file a user uploaded, its type checked by content; `name` is for display only."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads"
    )
    name = models.CharField(max_length=255)
    # Uploads sharing a folder name form an "uploaded folder" that batches can take as inputs.
    folder = models.CharField(max_length=255, blank=True, default="", db_index=True)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)
    extension = models.CharField(max_length=10)
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to=upload_path, max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "folder"])]

    def __str__(self) -> str:
        return self.name
