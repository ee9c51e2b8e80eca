import uuid

from django.conf import settings
from django.db import models

from platform_site.fields import NulFreeTextField
from workflows.engine.graph import MAX_NODE_ID_LENGTH


class LLMCallStatus(models.TextChoices):
    OK = "ok", "OK"
    ERROR = "error", "Error"
    CANCELLED = "cancelled", "Cancelled"  # a stream its reader stopped (client disconnected)


class LLMCallLog(models.Model):
    """One model call (chat, agent run or workflow node) with its tokens and latency."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="llm_calls",
    )
    agent = models.ForeignKey(
        "agents.Agent",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="llm_calls",
    )
    # A plain id: logs outlive executions, and the agents app does not depend on executions.
    execution_id = models.UUIDField(null=True, blank=True, db_index=True)
    node_id = models.CharField(max_length=MAX_NODE_ID_LENGTH, blank=True, default="")
    provider = models.CharField(max_length=64)
    model = models.CharField(max_length=200)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    total_tokens = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=1)
    streamed = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=LLMCallStatus.choices)
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = NulFreeTextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name = "LLM call"
        indexes = [
            models.Index(fields=["owner", "-created_at"]),
            models.Index(fields=["agent", "-created_at"]),
            models.Index(fields=["status", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.provider}/{self.model} {self.status} {self.total_tokens} tokens"
